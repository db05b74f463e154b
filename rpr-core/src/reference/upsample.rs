//! Bilinear resize with `align_corners = False`.

use ndarray::{Array4, ArrayView4};

/// Source taps along one axis: the two input indices and their weights.
struct Taps {
    low: usize,
    high: usize,
    high_weight: f32,
}

/// Maps output index `o` to input coordinates as PyTorch's
/// `upsample_bilinear2d` does for an explicit output size: scale `in / out`,
/// pixel centers aligned (`(o + 0.5) * scale - 0.5`), clamped at 0.
fn taps(o: usize, in_len: usize, out_len: usize) -> Taps {
    let scale = in_len as f32 / out_len as f32;
    let source = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
    let low = (source.floor() as usize).min(in_len - 1);
    let high = (low + 1).min(in_len - 1);
    Taps {
        low,
        high,
        high_weight: source - low as f32,
    }
}

/// Resizes an NCHW batch to `[size, size]`.
pub(super) fn bilinear(x: ArrayView4<f32>, size: usize) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let rows: Vec<Taps> = (0..size).map(|o| taps(o, h, size)).collect();
    let cols: Vec<Taps> = (0..size).map(|o| taps(o, w, size)).collect();
    Array4::from_shape_fn((n, c, size, size), |(b, ch, oy, ox)| {
        let (r, q) = (&rows[oy], &cols[ox]);
        let top = x[[b, ch, r.low, q.low]] * (1.0 - q.high_weight)
            + x[[b, ch, r.low, q.high]] * q.high_weight;
        let bottom = x[[b, ch, r.high, q.low]] * (1.0 - q.high_weight)
            + x[[b, ch, r.high, q.high]] * q.high_weight;
        top * (1.0 - r.high_weight) + bottom * r.high_weight
    })
}
