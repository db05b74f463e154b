//! Splitting a block of the output into register tiles.

/// Sub-tiles `(row, col, rows, cols)` of an `m x n` block, where `m <= mr`
/// and `n <= nr`: the full `mr x nr` tile when the block is full, else
/// strips of width 1 along the short side, else single elements. Kernels
/// therefore instantiate only the shapes `mr x nr`, `mr x 1`, `1 x nr` and
/// `1 x 1`.
#[inline]
pub(crate) fn tiles(
    m: usize,
    n: usize,
    mr: usize,
    nr: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let (tm, tn) = match (m == mr, n == nr) {
        (true, true) => (mr, nr),
        (true, false) => (mr, 1),
        (false, true) => (1, nr),
        (false, false) => (1, 1),
    };
    let cols = n / tn;
    let count = (m / tm) * cols;
    (0..count).map(move |t| ((t / cols) * tm, (t % cols) * tn, tm, tn))
}

/// Calls `run(i, j, rows, cols)` for every register tile of a `p x o`
/// output, walking `mr` activation rows at a time and, inside, `nr` weight
/// rows at a time, so one block of activations stays in L1 while the weights
/// stream past it.
#[inline]
#[allow(dead_code)] // Only the aarch64 kernels use it so far.
pub(crate) fn for_each_tile(
    p: usize,
    o: usize,
    mr: usize,
    nr: usize,
    mut run: impl FnMut(usize, usize, usize, usize),
) {
    let mut i0 = 0;
    while i0 < p {
        let m = mr.min(p - i0);
        let mut j0 = 0;
        while j0 < o {
            let n = nr.min(o - j0);
            for (di, dj, tm, tn) in tiles(m, n, mr, nr) {
                run(i0 + di, j0 + dj, tm, tn);
            }
            j0 += n;
        }
        i0 += m;
    }
}

#[cfg(test)]
mod tests {
    use super::tiles;

    #[test]
    fn tiles_cover_block_once() {
        for m in 1..=4 {
            for n in 1..=4 {
                let mut hits = vec![0; m * n];
                for (i, j, tm, tn) in tiles(m, n, 4, 4) {
                    for r in i..i + tm {
                        for c in j..j + tn {
                            hits[r * n + c] += 1;
                        }
                    }
                }
                assert!(hits.iter().all(|&h| h == 1), "m={m} n={n}: {hits:?}");
            }
        }
    }
}
