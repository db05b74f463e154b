//! Splits GEMM-shaped work over output rows into tiles that run in parallel.
//!
//! A tile owns a contiguous block of output rows. Its im2col rows and accumulator rows live in
//! the scratch block of the worker thread that runs it, so tiles never share memory and the
//! scratch contains one tile per thread instead of the whole batch. Rayon balances the tiles
//! over the threads with a single join at the end of the operation.

use std::sync::Mutex;

use rayon::prelude::*;

/// Rows per tile and the number of threads that run tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiling {
    pub rows_per_tile: usize,
    /// Threads of the pool, with one scratch block each. With 1, every tile runs on the calling
    /// thread.
    pub workers: usize,
}

/// Upper bound on the im2col bytes of one tile: 144 KiB, which stays within a typical L2 cache
/// (256 rows of a 576-wide u8 block, ResNet-20's widest 3x3 conv). Bounding bytes rather than
/// rows lets narrow convs run whole at batch 1: a tile costs a kernel call, with its argument
/// checks and weight expansion, so ResNet-20's first stage ran as four calls per conv before.
const MAX_TILE_BYTES: usize = 144 << 10;
/// Row granularity of a tile, a multiple of every kernel's activation register block.
const ROW_ALIGN: usize = 16;

impl Tiling {
    /// Chooses tiles for `rows` output rows of `row_bytes` im2col bytes each, on `threads`
    /// threads: about two tiles per thread so that uneven tiles balance, and at most
    /// `MAX_TILE_BYTES` of im2col rows per tile.
    pub fn for_rows(rows: usize, threads: usize, row_bytes: usize) -> Self {
        let rows = rows.max(1);
        let max_rows = (MAX_TILE_BYTES / row_bytes.max(1) / ROW_ALIGN * ROW_ALIGN).max(ROW_ALIGN);
        if threads <= 1 {
            return Self {
                rows_per_tile: rows.min(max_rows),
                workers: 1,
            };
        }
        let per_tile = rows
            .div_ceil(threads * 2)
            .next_multiple_of(ROW_ALIGN)
            .clamp(ROW_ALIGN, max_rows);
        Self {
            rows_per_tile: per_tile,
            workers: threads,
        }
    }

    /// Rows of scratch that [`for_each_tile`] needs for `rows` output rows: one tile per worker,
    /// or only `rows` when they fit in a single tile.
    pub fn scratch_rows(&self, rows: usize) -> usize {
        if rows <= self.rows_per_tile {
            rows
        } else {
            self.rows_per_tile * self.workers
        }
    }
}

/// One tile's view of the buffers: the index of its first row and its rows of each buffer.
pub(crate) struct Tile<'a, A, C, O> {
    pub first_row: usize,
    pub rows: usize,
    pub cols: &'a mut [A],
    pub acc: &'a mut [C],
    pub out: &'a mut [O],
}

/// Row widths of the three buffers; a width of 0 means the buffer is unused (and may be empty).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowWidths {
    pub cols: usize,
    pub acc: usize,
    pub out: usize,
}

/// Scratch rows of one worker thread.
struct Slot<'a, A, C> {
    cols: &'a mut [A],
    acc: &'a mut [C],
}

/// Calls `work` once per tile, in parallel on the current rayon pool when the tiling has more
/// than one worker. `cols` and `acc` must hold `tiling.scratch_rows(rows)` rows and `out` all
/// rows. Returns the error of the first tile that fails, after the tiles already running finish.
pub(crate) fn for_each_tile<A, C, O, E, F>(
    tiling: Tiling,
    widths: RowWidths,
    cols: &mut [A],
    acc: &mut [C],
    out: &mut [O],
    work: F,
) -> Result<(), E>
where
    A: Send,
    C: Send,
    O: Send,
    E: Send,
    F: Fn(Tile<'_, A, C, O>) -> Result<(), E> + Sync,
{
    let rows = out.len().checked_div(widths.out).unwrap_or(0);
    if rows == 0 {
        return Ok(());
    }
    let per_tile = tiling.rows_per_tile;
    let tile_of = |index: usize, out: &'_ mut [O], slot: &mut Slot<'_, A, C>| {
        let tile_rows = out.len() / widths.out;
        let cols = &mut slot.cols[..tile_rows * widths.cols];
        let acc = &mut slot.acc[..tile_rows * widths.acc];
        work(Tile {
            first_row: index * per_tile,
            rows: tile_rows,
            cols,
            acc,
            out,
        })
    };

    let slot_rows = per_tile.min(rows);
    let tiles = rows.div_ceil(per_tile);
    if tiling.workers <= 1 || tiles == 1 {
        let mut slot = Slot {
            cols: &mut cols[..slot_rows * widths.cols],
            acc: &mut acc[..slot_rows * widths.acc],
        };
        return out
            .chunks_mut(per_tile * widths.out)
            .enumerate()
            .try_for_each(|(index, out)| tile_of(index, out, &mut slot));
    }

    // One scratch block per worker. A worker locks only its own block, and a tile makes no
    // rayon call that could start another tile on the same thread, so inside the session pool
    // a lock is always free.
    let slots: Vec<Mutex<Slot<'_, A, C>>> =
        split_rows(cols, slot_rows * widths.cols, tiling.workers)
            .into_iter()
            .zip(split_rows(acc, slot_rows * widths.acc, tiling.workers))
            .map(|(cols, acc)| Mutex::new(Slot { cols, acc }))
            .collect();
    out.par_chunks_mut(per_tile * widths.out)
        .enumerate()
        .try_for_each(|(index, out)| {
            // Outside a pool (or on a foreign pool), every call lands in block 0 and the lock
            // serializes the tiles, which stays correct.
            let worker = rayon::current_thread_index().unwrap_or(0) % slots.len();
            let mut slot = slots[worker]
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            tile_of(index, out, &mut slot)
        })
}

/// Splits `buffer` into `count` blocks of `len` elements; a block is empty when `len` is 0.
fn split_rows<T>(buffer: &mut [T], len: usize, count: usize) -> Vec<&mut [T]> {
    let mut blocks = Vec::with_capacity(count);
    let mut rest = buffer;
    for _ in 0..count {
        let (block, tail) = std::mem::take(&mut rest).split_at_mut(len);
        blocks.push(block);
        rest = tail;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_row_once() {
        // 4 KiB rows give tiles of 32 rows, so one thread also runs several tiles.
        let cases = [
            (1, 1),
            (5, 2),
            (40, 4),
            (64, 2),
            (1000, 2),
            (1000, 3),
            (4096, 1),
        ];
        for ((rows, threads), row_bytes) in
            cases.into_iter().flat_map(|case| [(case, 8), (case, 4096)])
        {
            let tiling = Tiling::for_rows(rows, threads, row_bytes);
            assert!(tiling.rows_per_tile * row_bytes <= MAX_TILE_BYTES.max(ROW_ALIGN * row_bytes));
            let widths = RowWidths {
                cols: 3,
                acc: 2,
                out: 1,
            };
            let mut cols = vec![0u8; tiling.scratch_rows(rows) * 3];
            let mut acc = vec![0i32; tiling.scratch_rows(rows) * 2];
            let mut out = vec![0usize; rows];
            let result: Result<(), ()> =
                for_each_tile(tiling, widths, &mut cols, &mut acc, &mut out, |tile| {
                    assert_eq!(tile.cols.len(), tile.rows * 3);
                    assert_eq!(tile.acc.len(), tile.rows * 2);
                    for (i, o) in tile.out.iter_mut().enumerate() {
                        *o += tile.first_row + i + 1;
                    }
                    Ok(())
                });
            assert!(result.is_ok());
            let expected: Vec<usize> = (1..=rows).collect();
            assert_eq!(
                out, expected,
                "rows {rows} threads {threads} row bytes {row_bytes}"
            );
        }
    }
}
