use crate::kernels::check::{word, Dims};

/// `out[i][j] = sum_k code[j][k] * a[i][k]` with codes +1 (bit set) and -1.
/// Padding columns are skipped; their activations are zero anyway.
pub(crate) fn scalar_binary_u8_1x1(d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    for i in 0..d.p {
        let row = &a[i * d.kp..(i + 1) * d.kp];
        for j in 0..d.o {
            let weights = d.weight_row(w, j);
            let mut sum = 0i32;
            for (col, &x) in row[..d.k].iter().enumerate() {
                let bits = word(weights, col / 32);
                if bits >> (col % 32) & 1 == 1 {
                    sum += i32::from(x);
                } else {
                    sum -= i32::from(x);
                }
            }
            out[i * d.stride + j] = sum;
        }
    }
}
