//! Chunked loops that fan out over the session's rayon pool.
//!
//! A session with one thread runs its steps on the calling thread, without a
//! pool: handing every run to a pool thread and waiting for it cost about 5%
//! of a batch-1 ResNet-20 inference. These loops therefore use rayon only on
//! a pool thread, and run on the calling thread otherwise.

use rayon::prelude::*;

/// Returns true on a rayon pool thread, where the loops below fan out.
fn on_pool_thread() -> bool {
    rayon::current_thread_index().is_some()
}

/// Calls `f` on each `out_len`-element chunk of `output` with the matching
/// `in_len`-element chunk of `input`.
pub(crate) fn zip_chunks<T, U, F>(
    output: &mut [T],
    out_len: usize,
    input: &[U],
    in_len: usize,
    f: F,
) where
    T: Send,
    U: Sync,
    F: Fn(&mut [T], &[U]) + Sync + Send,
{
    if on_pool_thread() {
        output
            .par_chunks_mut(out_len)
            .zip(input.par_chunks(in_len))
            .for_each(|(dst, src)| f(dst, src));
    } else {
        output
            .chunks_mut(out_len)
            .zip(input.chunks(in_len))
            .for_each(|(dst, src)| f(dst, src));
    }
}

/// Calls `f` with the index and the contents of each `len`-element chunk of `output`.
pub(crate) fn enumerate_chunks<T, F>(output: &mut [T], len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    if on_pool_thread() {
        output
            .par_chunks_mut(len)
            .enumerate()
            .for_each(|(index, dst)| f(index, dst));
    } else {
        output
            .chunks_mut(len)
            .enumerate()
            .for_each(|(index, dst)| f(index, dst));
    }
}
