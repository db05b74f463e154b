//! Output sizes and window geometry of convolutions and pooling, in PyTorch's meaning.

/// Spatial geometry of one convolution over an NHWC input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub in_channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvGeometry {
    /// Builds the geometry, returning `None` when the (dilated) kernel does not fit the padded input
    /// or a stride or dilation is zero.
    pub fn new(
        in_channels: usize,
        in_hw: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let out_h = conv_out_size(in_hw[0], kernel[0], stride[0], padding[0], dilation[0])?;
        let out_w = conv_out_size(in_hw[1], kernel[1], stride[1], padding[1], dilation[1])?;
        Some(Self {
            in_channels,
            in_h: in_hw[0],
            in_w: in_hw[1],
            kernel,
            stride,
            padding,
            dilation,
            out_h,
            out_w,
        })
    }

    /// Reduction length of one output value for `channels` input channels per group.
    pub fn k(&self, channels: usize) -> usize {
        self.kernel[0] * self.kernel[1] * channels
    }

    /// Returns true for a 1x1, stride-1, unpadded convolution, whose im2col rows equal the input pixels.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Output pixels per image.
    pub fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }
}

/// `floor((size + 2 pad - dilation (kernel - 1) - 1) / stride) + 1`, or `None` when it is empty.
pub(crate) fn conv_out_size(
    size: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Option<usize> {
    if stride == 0 || dilation == 0 || kernel == 0 {
        return None;
    }
    let span = dilation * (kernel - 1) + 1;
    let padded = size + 2 * pad;
    if padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

/// Pooling output size with PyTorch's `ceil_mode` rule: the last window must start inside the
/// input or the left padding.
pub(crate) fn pool_out_size(
    size: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if stride == 0 || kernel == 0 || size + 2 * pad < kernel {
        return None;
    }
    let span = size + 2 * pad - kernel;
    let mut out = if ceil_mode {
        span.div_ceil(stride) + 1
    } else {
        span / stride + 1
    };
    if ceil_mode && (out - 1) * stride >= size + pad {
        out -= 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_sizes_match_pytorch() {
        // 32 -> 16 with a 3x3, stride 2, pad 1 kernel (ResNet downsampling).
        assert_eq!(conv_out_size(32, 3, 2, 1, 1), Some(16));
        assert_eq!(conv_out_size(7, 3, 1, 0, 2), Some(3));
        assert_eq!(conv_out_size(2, 5, 1, 1, 1), None);
    }

    #[test]
    fn pool_ceil_mode_drops_window_in_padding() {
        // torch: MaxPool2d(3, 2, ceil_mode=True) on 112 gives 56; on 7 (no pad) gives 3.
        assert_eq!(pool_out_size(112, 3, 2, 0, true), Some(56));
        assert_eq!(pool_out_size(7, 3, 2, 0, true), Some(3));
        assert_eq!(pool_out_size(6, 2, 2, 1, true), Some(4));
        assert_eq!(pool_out_size(5, 2, 2, 1, true), Some(3));
        assert_eq!(pool_out_size(112, 3, 2, 1, false), Some(56));
    }
}
