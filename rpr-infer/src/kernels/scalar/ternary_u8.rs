use crate::kernels::check::{word, Dims};

/// `out[i][j] = sum_k code[j][k] * a[i][k]` with ternary codes: each set bit
/// of the nonzero plane adds or subtracts one activation.
pub(crate) fn scalar_ternary_u8_1x1(d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    for i in 0..d.p {
        let row = &a[i * d.kp..(i + 1) * d.kp];
        for j in 0..d.o {
            let weights = d.weight_row(w, j);
            let mut sum = 0i32;
            for index in 0..d.words {
                let negative = word(weights, d.words + index);
                let mut nonzero = word(weights, index);
                while nonzero != 0 {
                    let bit = nonzero.trailing_zeros() as usize;
                    let x = i32::from(row[32 * index + bit]);
                    if negative >> bit & 1 == 1 {
                        sum -= x;
                    } else {
                        sum += x;
                    }
                    nonzero &= nonzero - 1;
                }
            }
            out[i * d.stride + j] = sum;
        }
    }
}
