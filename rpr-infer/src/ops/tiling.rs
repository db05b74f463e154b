//! Splits GEMM-shaped work over output rows into tiles that run in parallel.
//!
//! A tile owns a contiguous block of im2col rows, accumulator rows and output rows, so tiles
//! never share memory. Work proceeds in waves of `tiles_per_wave` tiles, which bounds the
//! im2col and accumulator scratch to one wave instead of the whole batch.

use rayon::prelude::*;

/// Rows per tile and tiles per wave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiling {
    pub rows_per_tile: usize,
    pub tiles_per_wave: usize,
}

/// Upper bound on rows per tile: 256 rows of a 576-wide u8 im2col block (ResNet-20's widest
/// 3x3 conv) take 144 KiB, which stays within a typical L2 cache.
const MAX_TILE_ROWS: usize = 256;
/// Row granularity of a tile, a multiple of every kernel's activation register block.
const ROW_ALIGN: usize = 16;

impl Tiling {
    /// Chooses tiles for `rows` output rows on `threads` threads: about two tiles per thread so
    /// that uneven tiles balance, and a single tile when running on one thread.
    pub fn for_rows(rows: usize, threads: usize) -> Self {
        let rows = rows.max(1);
        if threads <= 1 {
            return Self { rows_per_tile: rows.min(MAX_TILE_ROWS), tiles_per_wave: 1 };
        }
        let per_tile = rows.div_ceil(threads * 2).next_multiple_of(ROW_ALIGN).clamp(ROW_ALIGN, MAX_TILE_ROWS);
        Self { rows_per_tile: per_tile, tiles_per_wave: threads * 2 }
    }

    /// Rows held by the scratch of one wave.
    pub fn wave_rows(&self) -> usize {
        self.rows_per_tile * self.tiles_per_wave
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

/// Calls `work` once per tile, in parallel within each wave. `cols` and `acc` must hold one wave
/// (`tiling.wave_rows()` rows) and `out` all rows.
/// Stops at the first tile that returns an error and returns that error.
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
    let mut remaining_out = out;
    let mut first_row = 0;
    while first_row < rows {
        let mut tiles = Vec::with_capacity(tiling.tiles_per_wave);
        let mut remaining_cols = &mut cols[..];
        let mut remaining_acc = &mut acc[..];
        for _ in 0..tiling.tiles_per_wave {
            if first_row >= rows {
                break;
            }
            let tile_rows = tiling.rows_per_tile.min(rows - first_row);
            let (tile_cols, rest) = std::mem::take(&mut remaining_cols).split_at_mut(tile_rows * widths.cols);
            remaining_cols = rest;
            let (tile_acc, rest) = std::mem::take(&mut remaining_acc).split_at_mut(tile_rows * widths.acc);
            remaining_acc = rest;
            let (tile_out, rest) = std::mem::take(&mut remaining_out).split_at_mut(tile_rows * widths.out);
            remaining_out = rest;
            tiles.push(Tile { first_row, rows: tile_rows, cols: tile_cols, acc: tile_acc, out: tile_out });
            first_row += tile_rows;
        }
        if tiles.len() == 1 {
            tiles.into_iter().try_for_each(&work)?;
        } else {
            tiles.into_par_iter().try_for_each(&work)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_row_once() {
        for (rows, threads) in [(1, 1), (5, 2), (64, 2), (1000, 2), (1000, 3), (4096, 1)] {
            let tiling = Tiling::for_rows(rows, threads);
            let widths = RowWidths { cols: 3, acc: 2, out: 1 };
            let mut cols = vec![0u8; tiling.wave_rows() * 3];
            let mut acc = vec![0i32; tiling.wave_rows() * 2];
            let mut out = vec![0usize; rows];
            let result: Result<(), ()> = for_each_tile(tiling, widths, &mut cols, &mut acc, &mut out, |tile| {
                assert_eq!(tile.cols.len(), tile.rows * 3);
                assert_eq!(tile.acc.len(), tile.rows * 2);
                for (i, o) in tile.out.iter_mut().enumerate() {
                    *o += tile.first_row + i + 1;
                }
                Ok(())
            });
            assert!(result.is_ok());
            let expected: Vec<usize> = (1..=rows).collect();
            assert_eq!(out, expected, "rows {rows} threads {threads}");
        }
    }
}
