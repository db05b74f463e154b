//! Training-time augmentation: padded random crop and horizontal flip.

use ndarray::{s, Array4, ArrayViewMut3, Axis};
use rand::Rng;

/// Random crop from a zero-padded image plus random horizontal flip, the
/// standard augmentation for CIFAR-10 and Fashion-MNIST training.
///
/// The crop is equivalent to shifting each image by `dy, dx` drawn uniformly
/// from `-pad..=pad` and filling the uncovered border with `0.0`. Applied to
/// a normalized batch, `0.0` is the channel mean. This differs from
/// torchvision's `RandomCrop(padding)` before `Normalize`, whose border is
/// black (`-mean / std` after normalization).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Augment {
    /// Maximum shift in pixels along each axis. 0 disables the crop.
    pub pad: usize,
    /// Whether to mirror each image left to right with probability 1/2.
    pub flip: bool,
}

impl Augment {
    /// No augmentation.
    pub const NONE: Augment = Augment {
        pad: 0,
        flip: false,
    };

    /// CIFAR-10 (32x32): shifts of up to 4 pixels and flips.
    pub fn cifar10() -> Self {
        Augment { pad: 4, flip: true }
    }

    /// Fashion-MNIST (28x28): shifts of up to 2 pixels and flips. The garments
    /// fill most of the 28x28 frame, so the shift is kept smaller than
    /// CIFAR-10's 4 pixels to avoid cutting off sleeves and soles.
    pub fn fashion_mnist() -> Self {
        Augment { pad: 2, flip: true }
    }

    /// Augments every image of an NCHW batch in place.
    ///
    /// Per image, in batch order, it draws the row shift then the column
    /// shift (each `rng.gen_range(0..=2 * pad)`, only when `pad > 0`), then
    /// the flip (`rng.gen_bool(0.5)`, only when `flip`). A seeded generator
    /// therefore gives reproducible batches.
    pub fn apply<R: Rng + ?Sized>(&self, batch: &mut Array4<f32>, rng: &mut R) {
        for mut image in batch.axis_iter_mut(Axis(0)) {
            if self.pad > 0 {
                let dy = rng.gen_range(0..=2 * self.pad) as isize - self.pad as isize;
                let dx = rng.gen_range(0..=2 * self.pad) as isize - self.pad as isize;
                shift(&mut image, dy, dx);
            }
            if self.flip && rng.gen_bool(0.5) {
                let mirrored = image.slice(s![.., .., ..;-1]).to_owned();
                image.assign(&mirrored);
            }
        }
    }
}

/// Sets `image[c, y, x] = old[c, y + dy, x + dx]`, and 0 where that source
/// lies outside the image.
fn shift(image: &mut ArrayViewMut3<f32>, dy: isize, dx: isize) {
    let (_, height, width) = image.dim();
    let source = image.to_owned();
    image.fill(0.0);

    // Destination rows/columns whose source is inside the image.
    let rows = overlap(height, dy);
    let cols = overlap(width, dx);
    if rows.0 >= rows.1 || cols.0 >= cols.1 {
        return;
    }
    let src_rows = (rows.0 as isize + dy) as usize..(rows.1 as isize + dy) as usize;
    let src_cols = (cols.0 as isize + dx) as usize..(cols.1 as isize + dx) as usize;
    image
        .slice_mut(s![.., rows.0..rows.1, cols.0..cols.1])
        .assign(&source.slice(s![.., src_rows, src_cols]));
}

/// Range `[start, end)` of destination positions `i` with `0 <= i + d < len`.
fn overlap(len: usize, d: isize) -> (usize, usize) {
    let start = (-d).clamp(0, len as isize) as usize;
    let end = (len as isize - d).clamp(0, len as isize) as usize;
    (start, end)
}
