use crate::kernels::check::{valid_bits, word, Dims};

/// `out[i][j] = sum_k code[j][k] * act[i][k]` with both operands in {-1, +1}
/// and one bit each (1 means +1). Matching bits add 1 and differing bits
/// subtract 1, so the sum is `k - 2 * popcount(a ^ w)` over the valid bits.
pub(crate) fn scalar_binary_b1_1x1(d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    for i in 0..d.p {
        let row = &a[i * d.words..(i + 1) * d.words];
        for j in 0..d.o {
            let weights = d.weight_row(w, j);
            let mut mismatches = 0u32;
            for (index, &bits) in row.iter().enumerate() {
                let differ = bits ^ word(weights, index);
                mismatches += (differ & valid_bits(d.k, index)).count_ones();
            }
            out[i * d.stride + j] = d.k as i32 - 2 * mismatches as i32;
        }
    }
}
