use crate::kernels::check::{word, Dims};

/// Ternary weights on f32 activations: each nonzero code adds or subtracts
/// the activation, in column order, without multiplies.
pub(crate) fn scalar_ternary_f32_1x1(d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]) {
    for i in 0..d.p {
        let row = &a[i * d.kp..(i + 1) * d.kp];
        for j in 0..d.o {
            let weights = d.weight_row(w, j);
            let mut sum = 0.0f32;
            for (col, &x) in row[..d.k].iter().enumerate() {
                let bit = col % 32;
                if word(weights, col / 32) >> bit & 1 == 0 {
                    continue;
                }
                if word(weights, d.words + col / 32) >> bit & 1 == 1 {
                    sum -= x;
                } else {
                    sum += x;
                }
            }
            out[i * d.stride + j] = sum;
        }
    }
}

/// Binary weights on f32 activations: +1 adds and -1 subtracts the
/// activation, in column order, without multiplies.
pub(crate) fn scalar_binary_f32_1x1(d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]) {
    for i in 0..d.p {
        let row = &a[i * d.kp..(i + 1) * d.kp];
        for j in 0..d.o {
            let weights = d.weight_row(w, j);
            let mut sum = 0.0f32;
            for (col, &x) in row[..d.k].iter().enumerate() {
                if word(weights, col / 32) >> (col % 32) & 1 == 1 {
                    sum += x;
                } else {
                    sum -= x;
                }
            }
            out[i * d.stride + j] = sum;
        }
    }
}
