//! Elementwise operations on f32 tensors: ReLU, sums and per-channel affine maps (unfolded BatchNorm).

use super::parallel::{enumerate_chunks, zip_chunks};

/// Chunk length for parallel elementwise loops: large enough that scheduling costs stay small.
const CHUNK: usize = 1 << 14;

/// `output = max(input, 0)`.
pub(crate) fn relu(input: &[f32], output: &mut [f32]) {
    zip_chunks(output, CHUNK, input, CHUNK, |dst, src| {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s.max(0.0);
        }
    });
}

/// `output = sum(inputs)`, followed by ReLU when `relu` is set.
pub(crate) fn add(inputs: &[&[f32]], relu: bool, output: &mut [f32]) {
    enumerate_chunks(output, CHUNK, |chunk, dst| {
        let offset = chunk * CHUNK;
        dst.copy_from_slice(&inputs[0][offset..offset + dst.len()]);
        let len = dst.len();
        for input in &inputs[1..] {
            for (d, &s) in dst.iter_mut().zip(&input[offset..offset + len]) {
                *d += s;
            }
        }
        if relu {
            dst.iter_mut().for_each(|d| *d = d.max(0.0));
        }
    });
}

/// `output[.., c] = input[.., c] * scale[c] + shift[c]` on channel-last data, then ReLU if `relu`.
pub(crate) fn channel_affine(
    input: &[f32],
    scale: &[f32],
    shift: &[f32],
    relu: bool,
    output: &mut [f32],
) {
    let channels = scale.len();
    let rows_per_chunk = (CHUNK / channels).max(1);
    zip_chunks(
        output,
        rows_per_chunk * channels,
        input,
        rows_per_chunk * channels,
        |dst, src| {
            for (d_row, s_row) in dst
                .chunks_exact_mut(channels)
                .zip(src.chunks_exact(channels))
            {
                for c in 0..channels {
                    let y = s_row[c] * scale[c] + shift[c];
                    d_row[c] = if relu { y.max(0.0) } else { y };
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_three_inputs_and_clamps() {
        let a = [1.0, -5.0];
        let b = [2.0, 1.0];
        let c = [0.5, 1.0];
        let mut out = [0.0; 2];
        add(&[&a, &b, &c], true, &mut out);
        assert_eq!(out, [3.5, 0.0]);
        add(&[&a, &b, &c], false, &mut out);
        assert_eq!(out, [3.5, -3.0]);
    }

    #[test]
    fn affine_uses_channel_of_each_value() {
        let input = [1.0, 1.0, 2.0, 2.0];
        let mut out = [0.0; 4];
        channel_affine(&input, &[2.0, -1.0], &[0.5, 0.0], false, &mut out);
        assert_eq!(out, [2.5, -1.0, 4.5, -2.0]);
    }
}
