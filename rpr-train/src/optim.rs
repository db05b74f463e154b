//! SGD with momentum and Adam with an optional per-parameter update mask.
//!
//! A masked parameter changes only where the mask is 1: gradient, weight
//! decay and the optimizer state are all multiplied by the mask, so frozen
//! entries of a quantized layer keep their latent value exactly. The state is
//! plain tensors so it can be saved for `--resume`.

use std::str::FromStr;

use tch::Tensor;

use crate::error::{Result, TrainError};

/// Update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// PyTorch's SGD: `buf = momentum * buf + (g + wd * p)`, `p -= lr * buf`.
    Sgd { momentum: f64 },
    /// PyTorch's Adam with L2 weight decay added to the gradient.
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

impl FromStr for OptimizerKind {
    type Err = TrainError;

    /// Parses `sgd` (momentum 0.9) or `adam` (betas 0.9, 0.999, eps 1e-8).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd { momentum: 0.9 }),
            "adam" => Ok(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
            other => Err(TrainError::Config(format!("unknown optimizer `{other}`; expected sgd or adam"))),
        }
    }
}

impl OptimizerKind {
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { .. } => "adam",
        }
    }
}

/// Saved optimizer state: named state tensors and per-parameter step counts.
pub type OptimizerState = (Vec<(String, Tensor)>, Vec<(String, i64)>);

/// One optimized parameter with its state.
struct Slot {
    key: String,
    param: Tensor,
    /// f32 0/1 tensor of the parameter's shape, or `None` to update every entry.
    mask: Option<Tensor>,
    /// Momentum buffer (SGD) or first and second moments (Adam).
    state: Vec<Tensor>,
    steps: i64,
}

/// Masked optimizer over a fixed list of parameters.
pub struct Optimizer {
    kind: OptimizerKind,
    weight_decay: f64,
    slots: Vec<Slot>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, weight_decay: f64, params: Vec<(String, Tensor)>) -> Self {
        let slots = params
            .into_iter()
            .map(|(key, param)| Slot { key, param, mask: None, state: Vec::new(), steps: 0 })
            .collect();
        Self { kind, weight_decay, slots }
    }

    /// Sets or clears the update mask of parameter `key` (1 = may change).
    pub fn set_mask(&mut self, key: &str, mask: Option<Tensor>) -> Result<()> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.key == key)
            .ok_or_else(|| TrainError::Model(format!("optimizer has no parameter `{key}`")))?;
        slot.mask = mask;
        Ok(())
    }

    /// Drops all momentum and moment estimates.
    pub fn clear_state(&mut self) {
        for slot in &mut self.slots {
            slot.state.clear();
            slot.steps = 0;
        }
    }

    pub fn zero_grad(&mut self) {
        for slot in &mut self.slots {
            slot.param.zero_grad();
        }
    }

    /// Applies one update with learning rate `lr` to every parameter that
    /// received a gradient.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        let kind = self.kind;
        let weight_decay = self.weight_decay;
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                update(slot, &grad, kind, weight_decay, lr)
                    .map_err(TrainError::torch(format!("optimizer step on `{}`", slot.key)))?;
            }
            Ok(())
        })
    }

    /// Returns the state for saving: tensors named `{param}.{index}` and the
    /// per-parameter step counts.
    pub fn state(&self) -> OptimizerState {
        let mut tensors = Vec::new();
        let mut steps = Vec::new();
        for slot in &self.slots {
            for (i, t) in slot.state.iter().enumerate() {
                tensors.push((format!("{}.{i}", slot.key), t.shallow_clone()));
            }
            steps.push((slot.key.clone(), slot.steps));
        }
        (tensors, steps)
    }

    /// Restores state saved by [`Optimizer::state`]. The `lookup` closure
    /// returns the saved tensor of a name, or `None` when it was not saved.
    pub fn restore(
        &mut self,
        steps: &[(String, i64)],
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> Result<()> {
        let state_len = match self.kind {
            OptimizerKind::Sgd { .. } => 1,
            OptimizerKind::Adam { .. } => 2,
        };
        for slot in &mut self.slots {
            slot.state.clear();
            slot.steps = steps.iter().find(|(k, _)| k == &slot.key).map(|(_, s)| *s).unwrap_or(0);
            for i in 0..state_len {
                if let Some(t) = lookup(&format!("{}.{i}", slot.key)) {
                    slot.state.push(t.to_device(slot.param.device()));
                }
            }
            if !slot.state.is_empty() && slot.state.len() != state_len {
                return Err(TrainError::Model(format!(
                    "saved optimizer state of `{}` has {} of {state_len} tensors",
                    slot.key,
                    slot.state.len()
                )));
            }
        }
        Ok(())
    }
}

fn update(slot: &mut Slot, grad: &Tensor, kind: OptimizerKind, wd: f64, lr: f64) -> Result<(), tch::TchError> {
    let mut d = if wd != 0.0 { grad.f_add(&(&slot.param * wd))? } else { grad.shallow_clone() };
    if let Some(mask) = &slot.mask {
        d = d.f_mul(mask)?;
    }
    slot.steps += 1;
    match kind {
        OptimizerKind::Sgd { momentum } => {
            if slot.state.is_empty() {
                slot.state.push(d.f_detach_copy()?);
            } else {
                let buf = &mut slot.state[0];
                let _ = buf.f_mul_scalar_(momentum)?;
                let _ = buf.f_add_(&d)?;
                if let Some(mask) = &slot.mask {
                    // Momentum kept from before a re-partition must not move
                    // entries that are frozen now.
                    let _ = buf.f_mul_(mask)?;
                }
            }
            let _ = slot.param.f_sub_(&(&slot.state[0] * lr))?;
        }
        OptimizerKind::Adam { beta1, beta2, eps } => {
            if slot.state.is_empty() {
                slot.state.push(d.f_zeros_like()?);
                slot.state.push(d.f_zeros_like()?);
            }
            let _ = slot.state[0].f_mul_scalar_(beta1)?;
            let _ = slot.state[0].f_add_(&(&d * (1.0 - beta1)))?;
            let _ = slot.state[1].f_mul_scalar_(beta2)?;
            let _ = slot.state[1].f_addcmul_(&d, &(&d * (1.0 - beta2)))?;
            let bias1 = 1.0 - beta1.powi(slot.steps as i32);
            let bias2 = 1.0 - beta2.powi(slot.steps as i32);
            let denom = (&slot.state[1] / bias2).f_sqrt()? + eps;
            let mut step = (&slot.state[0] / denom) * (lr / bias1);
            if let Some(mask) = &slot.mask {
                step = step.f_mul(mask)?;
            }
            let _ = slot.param.f_sub_(&step)?;
        }
    }
    Ok(())
}
