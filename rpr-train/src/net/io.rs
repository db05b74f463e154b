//! Copying parameters between the network and files or ndarray maps.

use std::collections::BTreeSet;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use rpr_core::checkpoint::Tensors;
use tch::{Device, Kind, Tensor};

use super::{torch_kind, Network};
use crate::error::{Result, TrainError};

impl Network {
    /// Copies every parameter and buffer out as f32 arrays (the
    /// `num_batches_tracked` counters too, which are exact in f32 below 2^24).
    pub fn to_tensors(&self) -> Result<Tensors> {
        let mut out = Tensors::new();
        for (key, value) in &self.params {
            out.insert(key.clone(), tensor_to_array(value, key)?);
        }
        Ok(out)
    }

    /// Overwrites every parameter and buffer from `tensors`. Fails, naming
    /// the key, on a missing or extra key or a shape mismatch; `source`
    /// names the file in the error.
    pub fn load_tensors(&self, tensors: &Tensors, source: &Path) -> Result<()> {
        check_keys(self.params.keys(), tensors.keys(), source)?;
        for spec in &self.specs {
            let array = &tensors[&spec.name];
            let value = array_to_tensor(array, Device::Cpu);
            self.copy_into(&spec.name, &value, torch_kind(spec.kind), source)?;
        }
        Ok(())
    }

    /// Loads a torchvision `state_dict` saved as safetensors (for example
    /// with `safetensors.torch.save_file(model.state_dict(), path)`).
    pub fn load_state_dict_safetensors(&self, path: &Path) -> Result<()> {
        let named = Tensor::read_safetensors(path)
            .map_err(TrainError::torch(format!("reading {}", path.display())))?;
        let names: BTreeSet<&String> = named.iter().map(|(n, _)| n).collect();
        check_keys(self.params.keys(), names.into_iter(), path)?;
        for (name, value) in &named {
            let kind = self
                .specs
                .iter()
                .find(|s| &s.name == name)
                .map(|s| torch_kind(s.kind))
                .unwrap_or(Kind::Float);
            self.copy_into(name, value, kind, path)?;
        }
        Ok(())
    }

    fn copy_into(&self, key: &str, value: &Tensor, kind: Kind, source: &Path) -> Result<()> {
        let mut target = self.params[key].shallow_clone();
        if value.size() != target.size() {
            return Err(TrainError::Parameter {
                name: key.to_string(),
                file: source.to_path_buf(),
                reason: format!(
                    "shape {:?} does not match the network's {:?}",
                    value.size(),
                    target.size()
                ),
            });
        }
        let value = value.to_device(target.device()).to_kind(kind);
        tch::no_grad(|| target.f_copy_(&value)).map_err(|e| TrainError::Parameter {
            name: key.to_string(),
            file: source.to_path_buf(),
            reason: e.to_string(),
        })
    }
}

fn check_keys<'a>(
    expected: impl Iterator<Item = &'a String>,
    found: impl Iterator<Item = &'a String>,
    source: &Path,
) -> Result<()> {
    let expected: BTreeSet<&String> = expected.collect();
    let found: BTreeSet<&String> = found.collect();
    if let Some(missing) = expected.difference(&found).next() {
        return Err(TrainError::Parameter {
            name: (*missing).clone(),
            file: source.to_path_buf(),
            reason: "missing; the file was saved from a different architecture".into(),
        });
    }
    if let Some(extra) = found.difference(&expected).next() {
        return Err(TrainError::Parameter {
            name: (*extra).clone(),
            file: source.to_path_buf(),
            reason: "is not a parameter of this network; check --arch".into(),
        });
    }
    Ok(())
}

/// Copies a libtorch tensor (any float or integer kind, any device) to an
/// f32 array of the same shape.
pub fn tensor_to_array(t: &Tensor, name: &str) -> Result<ArrayD<f32>> {
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1);
    let values = Vec::<f32>::try_from(&flat).map_err(TrainError::torch(format!("copying `{name}`")))?;
    ArrayD::from_shape_vec(IxDyn(&shape), values)
        .map_err(|e| TrainError::Model(format!("tensor `{name}`: {e}")))
}

/// Copies an f32 array into a new libtorch tensor on `device`.
pub fn array_to_tensor(a: &ArrayD<f32>, device: Device) -> Tensor {
    let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
    let t = match a.as_slice() {
        Some(s) => Tensor::from_slice(s),
        None => Tensor::from_slice(&a.iter().copied().collect::<Vec<f32>>()),
    };
    t.reshape(&shape).to_device(device)
}
