//! Quantization of whole weight tensors, per tensor or per output channel.

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension};

use super::{codes_for_scale, optimal_scale, Bits, Granularity, QuantConfig, QuantError};

/// A quantized tensor: integer codes and the scales that turn them back into
/// weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// Codes in {-1, +1} (binary) or {-1, 0, +1} (ternary), same shape as the weight.
    pub codes: ArrayD<i8>,
    /// One scale for [`Granularity::PerTensor`], one per index of axis 0 for
    /// [`Granularity::PerChannel`]. Finite and greater than 0.
    pub scales: Vec<f32>,
    /// Mapping of the scales onto the codes: one for all, or one per output channel.
    pub granularity: Granularity,
}

impl Quantized {
    /// Builds a quantized tensor from parts, checking that they fit together.
    ///
    /// # Errors
    ///
    /// [`QuantError::NoChannelAxis`] for per-channel scales on a scalar,
    /// [`QuantError::ScaleCount`] when the number of scales does not match,
    /// [`QuantError::InvalidScale`] for a scale that is not finite and
    /// positive, and [`QuantError::InvalidCode`] for a code outside the
    /// alphabet of `bits`.
    pub fn new(
        codes: ArrayD<i8>,
        scales: Vec<f32>,
        granularity: Granularity,
        bits: Bits,
    ) -> Result<Self, QuantError> {
        check_scales(codes.shape(), &scales, granularity)?;
        let allowed = |c: i8| match bits {
            Bits::Binary => c == 1 || c == -1,
            Bits::Ternary => (-1..=1).contains(&c),
        };
        if let Some((index, &value)) = codes.indexed_iter().find(|(_, &c)| !allowed(c)) {
            return Err(QuantError::InvalidCode {
                index: index.slice().to_vec(),
                value,
                bits,
            });
        }
        Ok(Self {
            codes,
            scales,
            granularity,
        })
    }

    /// Returns the scale that multiplies the codes of output channel `channel`
    /// (the only scale for per-tensor quantization), or `None` when out of range.
    pub fn channel_scale(&self, channel: usize) -> Option<f32> {
        match self.granularity {
            Granularity::PerTensor => self.scales.first().copied(),
            Granularity::PerChannel => self.scales.get(channel).copied(),
        }
    }

    /// Reconstructs the weights as exactly `scale * code` in f32.
    ///
    /// Since codes are -1, 0 or +1, every result is exactly `-scale`, `0` or
    /// `+scale`.
    ///
    /// # Panics
    ///
    /// Panics if the fields were set by hand so that there are fewer scales
    /// than the granularity needs. [`Quantized::new`] and the quantizers
    /// never build such a value.
    pub fn dequantize(&self) -> ArrayD<f32> {
        let mut weights = self.codes.mapv(f32::from);
        match self.granularity {
            Granularity::PerTensor => {
                let scale = self.scales[0];
                weights.mapv_inplace(|c| scale * c);
            }
            Granularity::PerChannel => {
                for (mut channel, &scale) in weights.axis_iter_mut(Axis(0)).zip(&self.scales) {
                    channel.mapv_inplace(|c| scale * c);
                }
            }
        }
        weights
    }
}

/// Quantizes a weight tensor with error-minimizing scales.
///
/// Axis 0 is the output channel. Each channel (or the whole tensor) gets the
/// scale of [`optimal_scale`] for `cfg.bits` and `cfg.norm`, and each weight
/// gets its nearest-level code at that scale ([`codes_for_scale`]).
///
/// # Errors
///
/// [`QuantError::Empty`] for a tensor without elements,
/// [`QuantError::NonFinite`] (with the full index) for a NaN or infinite
/// weight, and [`QuantError::NoChannelAxis`] for per-channel quantization of a
/// scalar.
pub fn quantize(w: ArrayViewD<f32>, cfg: &QuantConfig) -> Result<Quantized, QuantError> {
    check_weights(&w, cfg.granularity)?;
    let scales = match cfg.granularity {
        Granularity::PerTensor => {
            let values = w.iter().copied().collect::<Vec<f32>>();
            vec![optimal_scale(&values, cfg.bits, cfg.norm)?]
        }
        Granularity::PerChannel => w
            .axis_iter(Axis(0))
            .map(|channel| {
                let values = channel.iter().copied().collect::<Vec<f32>>();
                optimal_scale(&values, cfg.bits, cfg.norm)
            })
            .collect::<Result<Vec<f32>, QuantError>>()?,
    };
    quantize_with_scales(w, &scales, cfg.bits, cfg.granularity)
}

/// Codes a weight tensor at given scales (nearest level, as in
/// [`codes_for_scale`]). RPR fixes the scales once and re-codes the weights at
/// every partition step, which is this function.
///
/// # Errors
///
/// [`QuantError::Empty`], [`QuantError::NonFinite`] and
/// [`QuantError::NoChannelAxis`] as in [`quantize`], plus
/// [`QuantError::ScaleCount`] and [`QuantError::InvalidScale`] for scales that
/// do not fit the tensor.
pub fn quantize_with_scales(
    w: ArrayViewD<f32>,
    scales: &[f32],
    bits: Bits,
    granularity: Granularity,
) -> Result<Quantized, QuantError> {
    check_weights(&w, granularity)?;
    check_scales(w.shape(), scales, granularity)?;

    let mut codes = ArrayD::<i8>::zeros(w.raw_dim());
    match granularity {
        Granularity::PerTensor => {
            let values = w.iter().copied().collect::<Vec<f32>>();
            let flat = codes_for_scale(&values, scales[0], bits);
            for (code, value) in codes.iter_mut().zip(flat) {
                *code = value;
            }
        }
        Granularity::PerChannel => {
            let channels = codes.axis_iter_mut(Axis(0)).zip(w.axis_iter(Axis(0)));
            for ((mut code_channel, weight_channel), &scale) in channels.zip(scales) {
                let values = weight_channel.iter().copied().collect::<Vec<f32>>();
                let flat = codes_for_scale(&values, scale, bits);
                for (code, value) in code_channel.iter_mut().zip(flat) {
                    *code = value;
                }
            }
        }
    }
    Ok(Quantized {
        codes,
        scales: scales.to_vec(),
        granularity,
    })
}

/// Rejects empty tensors, scalars for per-channel quantization and
/// non-finite weights, naming the first offending index.
fn check_weights(w: &ArrayViewD<f32>, granularity: Granularity) -> Result<(), QuantError> {
    if granularity == Granularity::PerChannel && w.ndim() == 0 {
        return Err(QuantError::NoChannelAxis);
    }
    if w.is_empty() {
        return Err(QuantError::Empty {
            shape: w.shape().to_vec(),
        });
    }
    if let Some((index, &value)) = w.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(QuantError::NonFinite {
            index: index.slice().to_vec(),
            value,
        });
    }
    Ok(())
}

/// Checks the number of scales against the granularity and shape, and that
/// every scale is finite and positive.
fn check_scales(
    shape: &[usize],
    scales: &[f32],
    granularity: Granularity,
) -> Result<(), QuantError> {
    let expected = match granularity {
        Granularity::PerTensor => 1,
        Granularity::PerChannel => *shape.first().ok_or(QuantError::NoChannelAxis)?,
    };
    if scales.len() != expected {
        return Err(QuantError::ScaleCount {
            expected,
            actual: scales.len(),
            granularity,
            shape: shape.to_vec(),
        });
    }
    if let Some((index, &value)) = scales
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s > 0.0))
    {
        return Err(QuantError::InvalidScale { index, value });
    }
    Ok(())
}
