//! Quantized layers during retraining: fixed scales, codes, the relaxed
//! partition and the effective weight the forward pass uses.
//!
//! The network's own `.weight` variable is the latent full-precision copy
//! `W`. A layer's effective weight is `s * code` on frozen entries and `W`
//! on relaxed ones. Autograd through `where` sends gradient only to relaxed
//! entries, and the masked optimizer moves only those.

use rpr_core::graph::Op;
use rpr_core::partition::{relaxed_count, relaxed_mask, PartitionKey};
use rpr_core::quant::{codes_for_scale, quantize, Bits, Granularity, QuantConfig};
use tch::{Device, Kind, Tensor};

use crate::error::{Result, TrainError};
use crate::net::io::tensor_to_array;
use crate::net::Network;

/// Selection of the layers to quantize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantPolicy {
    /// Quantize the first convolution (the one reading the image).
    pub first_conv: bool,
    /// Quantize fully connected layers (the classifier).
    pub classifier: bool,
}

impl Default for QuantPolicy {
    /// Returns the default selection: every convolution except the first,
    /// 1x1 downsample convolutions included, and no fully connected layer.
    fn default() -> Self {
        Self { first_conv: false, classifier: false }
    }
}

/// One quantized layer.
pub struct QuantLayer {
    /// Node name, also the partition key's layer name.
    pub node: String,
    /// Torchvision key of the weight, `{node}.weight`.
    pub weight_key: String,
    /// Per-output-channel (or one per-tensor) scales, fixed at the start.
    pub scales: Vec<f32>,
    /// Current codes in row-major weight order.
    pub codes: Vec<i8>,
    /// Current partition, `true` = relaxed (trained in full precision).
    pub relaxed: Vec<bool>,
    shape: Vec<i64>,
    /// Scales broadcast to the weight shape, `[O, 1, ...]`.
    scale_tensor: Tensor,
    /// `s * code` for every entry, on the training device.
    frozen_values: Tensor,
    relaxed_tensor: Tensor,
    relaxed_entries: usize,
}

impl QuantLayer {
    fn channel_len(&self) -> usize {
        self.codes.len() / self.shape[0].max(1) as usize
    }

    /// Scale of flat entry `index`.
    pub fn scale_of(&self, index: usize) -> f32 {
        if self.scales.len() == 1 {
            self.scales[0]
        } else {
            self.scales[index / self.channel_len().max(1)]
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Number of relaxed entries.
    pub fn relaxed_entries(&self) -> usize {
        self.relaxed_entries
    }

    /// Effective weight `s * code` as f32 values in row-major order, exactly
    /// the product in f32.
    pub fn quantized_values(&self) -> Vec<f32> {
        self.codes.iter().enumerate().map(|(i, &c)| self.scale_of(i) * f32::from(c)).collect()
    }

    /// Recomputes the codes of the entries selected by `which` from `latent`.
    fn requantize(&mut self, latent: &[f32], bits: Bits, which: impl Fn(usize) -> bool) {
        let per_channel = self.channel_len().max(1);
        for (channel, chunk) in latent.chunks(per_channel).enumerate() {
            let scale = if self.scales.len() == 1 { self.scales[0] } else { self.scales[channel] };
            let codes = codes_for_scale(chunk, scale, bits);
            for (offset, code) in codes.into_iter().enumerate() {
                let index = channel * per_channel + offset;
                if which(index) {
                    self.codes[index] = code;
                }
            }
        }
    }

    /// Uploads codes and partition to the device after a change.
    fn refresh_tensors(&mut self, device: Device) {
        let codes: Vec<f32> = self.codes.iter().map(|&c| f32::from(c)).collect();
        let codes = Tensor::from_slice(&codes).reshape(&self.shape).to_device(device);
        self.frozen_values = codes * &self.scale_tensor;
        let relaxed: Vec<u8> = self.relaxed.iter().map(|&r| u8::from(r)).collect();
        self.relaxed_tensor =
            Tensor::from_slice(&relaxed).reshape(&self.shape).to_kind(Kind::Bool).to_device(device);
        self.relaxed_entries = self.relaxed.iter().filter(|&&r| r).count();
    }

    /// Effective weight for the forward pass.
    fn effective_weight(&self, latent: &Tensor) -> Tensor {
        if self.relaxed_entries == 0 {
            self.frozen_values.shallow_clone()
        } else {
            latent.where_self(&self.relaxed_tensor, &self.frozen_values)
        }
    }

    /// Effective weight with a straight-through gradient: the forward value
    /// is `s * code(W / s)`, recomputed from the current `W`, and the
    /// backward pass treats the quantizer as the identity.
    fn straight_through_weight(&self, latent: &Tensor, bits: Bits) -> Tensor {
        let codes = match bits {
            Bits::Binary => latent.ge(0.0).to_kind(Kind::Float) * 2.0 - 1.0,
            Bits::Ternary => {
                let threshold = &self.scale_tensor * 0.5;
                latent.gt_tensor(&threshold).to_kind(Kind::Float)
                    - latent.lt_tensor(&(-threshold)).to_kind(Kind::Float)
            }
        };
        let quantized = codes * &self.scale_tensor;
        latent + (quantized - latent).detach()
    }

    /// Mask of relaxed entries as f32 (1 = relaxed) for the optimizer.
    pub fn update_mask(&self) -> Tensor {
        self.relaxed_tensor.to_kind(Kind::Float)
    }
}

/// Construction rule of the quantized layers' effective weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightMode {
    /// Frozen entries use `s * code`, relaxed entries the latent weight.
    Partitioned,
    /// `s * code(W / s)` forward, identity backward, for every entry.
    StraightThrough,
}

/// All quantized layers of a network.
pub struct QuantizedLayers {
    pub bits: Bits,
    pub granularity: Granularity,
    pub layers: Vec<QuantLayer>,
    device: Device,
}

impl QuantizedLayers {
    /// Picks the layers to quantize under `policy`, chooses their scales
    /// from the current (pretrained) weights and quantizes every entry.
    /// All entries start frozen.
    pub fn new(net: &Network, policy: QuantPolicy, cfg: &QuantConfig) -> Result<Self> {
        let mut layers = Vec::new();
        let mut seen_conv = false;
        for node in &net.model().nodes {
            let selected = match node.op {
                Op::Conv2d(_) => {
                    let first = !seen_conv;
                    seen_conv = true;
                    !first || policy.first_conv
                }
                Op::Linear { .. } => policy.classifier,
                _ => false,
            };
            if !selected {
                continue;
            }
            let weight_key = format!("{}.weight", node.name);
            let weight = net.param(&weight_key)?;
            let array = tensor_to_array(weight, &weight_key)?;
            let quantized = quantize(array.view(), cfg)?;
            let shape = weight.size();
            let mut scale_shape = vec![1i64; shape.len()];
            if quantized.scales.len() > 1 {
                scale_shape[0] = shape[0];
            }
            let scale_tensor =
                Tensor::from_slice(&quantized.scales).reshape(&scale_shape).to_device(net.device());
            let codes: Vec<i8> = quantized.codes.iter().copied().collect();
            let n = codes.len();
            let mut layer = QuantLayer {
                node: node.name.clone(),
                weight_key,
                scales: quantized.scales.clone(),
                codes,
                relaxed: vec![false; n],
                shape,
                scale_tensor,
                frozen_values: Tensor::new(),
                relaxed_tensor: Tensor::new(),
                relaxed_entries: 0,
            };
            layer.refresh_tensors(net.device());
            layers.push(layer);
        }
        if layers.is_empty() {
            return Err(TrainError::Config(format!(
                "model `{}` has no layer to quantize under the current policy",
                net.model().name
            )));
        }
        Ok(Self { bits: cfg.bits, granularity: cfg.granularity, layers, device: net.device() })
    }

    /// Re-quantizes every entry from its latent weight and draws a fresh
    /// uniformly random partition with `round((1 - ff) * n)` relaxed entries
    /// per layer, keyed by `(seed, layer, step)`.
    pub fn repartition(&mut self, net: &Network, ff: f32, seed: u64, step: u64) -> Result<()> {
        for layer in &mut self.layers {
            let latent = latent_values(net, &layer.weight_key)?;
            layer.requantize(&latent, self.bits, |_| true);
            let key = PartitionKey { seed, layer: &layer.node, step };
            layer.relaxed = relaxed_mask(layer.len(), ff, &key)?;
            layer.refresh_tensors(self.device);
        }
        Ok(())
    }

    /// Makes every entry relaxed (the start of incremental quantization).
    pub fn relax_all(&mut self) {
        for layer in &mut self.layers {
            layer.relaxed.iter_mut().for_each(|r| *r = true);
            layer.refresh_tensors(self.device);
        }
    }

    /// Incremental quantization: freezes, for good, the relaxed entries of
    /// largest magnitude until a fraction `frozen_fraction` of each layer is
    /// frozen. Newly frozen entries get their code from the latent weight,
    /// and the latent weight is set to `s * code`; entries frozen earlier keep
    /// their codes.
    pub fn freeze_by_magnitude(&mut self, net: &Network, frozen_fraction: f32) -> Result<()> {
        for layer in &mut self.layers {
            let n = layer.len();
            let target_frozen = n - relaxed_count(n, frozen_fraction)?;
            let frozen_now = n - layer.relaxed.iter().filter(|&&r| r).count();
            if target_frozen <= frozen_now {
                continue;
            }
            let latent = latent_values(net, &layer.weight_key)?;
            let mut candidates: Vec<usize> = (0..n).filter(|&i| layer.relaxed[i]).collect();
            // Largest magnitude first; ties broken by index so the choice is
            // reproducible.
            candidates.sort_by(|&a, &b| latent[b].abs().total_cmp(&latent[a].abs()).then(a.cmp(&b)));
            let newly: Vec<usize> = candidates.into_iter().take(target_frozen - frozen_now).collect();
            let mut is_new = vec![false; n];
            for &i in &newly {
                is_new[i] = true;
                layer.relaxed[i] = false;
            }
            layer.requantize(&latent, self.bits, |i| is_new[i]);
            layer.refresh_tensors(self.device);
            let frozen = layer.frozen_values.shallow_clone();
            let mask = layer.relaxed_tensor.shallow_clone();
            let mut weight = net.param(&layer.weight_key)?.shallow_clone();
            tch::no_grad(|| {
                let updated = weight.where_self(&mask, &frozen);
                weight.f_copy_(&updated)
            })
            .map_err(TrainError::torch(format!("freezing `{}`", layer.node)))?;
        }
        Ok(())
    }

    /// Freezes every entry at the code of its current latent weight (the end
    /// of straight-through training, or a schedule that stops below FF 1).
    pub fn quantize_all(&mut self, net: &Network) -> Result<()> {
        for layer in &mut self.layers {
            let latent = latent_values(net, &layer.weight_key)?;
            layer.requantize(&latent, self.bits, |_| true);
            layer.relaxed.iter_mut().for_each(|r| *r = false);
            layer.refresh_tensors(self.device);
        }
        Ok(())
    }

    /// Effective weights of all quantized layers for one forward pass.
    pub fn overrides(&self, net: &Network, mode: WeightMode) -> Result<crate::net::WeightOverrides> {
        let mut out = crate::net::WeightOverrides::new();
        for layer in &self.layers {
            let latent = net.param(&layer.weight_key)?;
            let weight = match mode {
                WeightMode::Partitioned => layer.effective_weight(latent),
                WeightMode::StraightThrough => layer.straight_through_weight(latent, self.bits),
            };
            out.insert(layer.node.clone(), weight);
        }
        Ok(out)
    }

    /// Fraction of frozen entries over all quantized layers.
    pub fn frozen_fraction(&self) -> f64 {
        let total: usize = self.layers.iter().map(QuantLayer::len).sum();
        let relaxed: usize = self.layers.iter().map(QuantLayer::relaxed_entries).sum();
        1.0 - relaxed as f64 / total.max(1) as f64
    }

    /// Restores codes and partition from saved state.
    pub fn restore(&mut self, node: &str, codes: &[f32], relaxed: &[f32]) -> Result<()> {
        let device = self.device;
        let layer = self
            .layers
            .iter_mut()
            .find(|l| l.node == node)
            .ok_or_else(|| TrainError::Model(format!("saved state names unknown quantized layer `{node}`")))?;
        if codes.len() != layer.len() || relaxed.len() != layer.len() {
            return Err(TrainError::Model(format!(
                "saved state of `{node}` has {} codes and {} mask entries, expected {}",
                codes.len(),
                relaxed.len(),
                layer.len()
            )));
        }
        layer.codes = codes.iter().map(|&c| c as i8).collect();
        layer.relaxed = relaxed.iter().map(|&r| r != 0.0).collect();
        layer.refresh_tensors(device);
        Ok(())
    }
}

fn latent_values(net: &Network, key: &str) -> Result<Vec<f32>> {
    let array = tensor_to_array(net.param(key)?, key)?;
    Ok(array.iter().copied().collect())
}

/// Checks that every quantized layer's weight in `tensors` is exactly one of
/// the allowed levels `{-s, +s}` (binary) or `{-s, 0, +s}` (ternary) of its
/// channel's scale, naming the layer and counting the entries off level.
pub fn check_levels(
    layers: &QuantizedLayers,
    tensors: &rpr_core::checkpoint::Tensors,
) -> Result<()> {
    for layer in &layers.layers {
        let weight = tensors.get(&layer.weight_key).ok_or_else(|| {
            TrainError::Model(format!("weights lack quantized layer `{}`", layer.weight_key))
        })?;
        let mut count = 0;
        let mut first = None;
        for (i, &w) in weight.iter().enumerate() {
            let s = layer.scale_of(i);
            let allowed = w == s || w == -s || (layers.bits == Bits::Ternary && w == 0.0);
            if !allowed {
                count += 1;
                first.get_or_insert((i, w, s));
            }
        }
        if let Some((index, value, scale)) = first {
            return Err(TrainError::OffLevel { layer: layer.node.clone(), count, index, value, scale });
        }
    }
    Ok(())
}
