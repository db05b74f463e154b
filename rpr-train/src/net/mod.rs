//! A tch network that interprets an [`rpr_core::graph::Model`].
//!
//! Parameters live in a [`tch::nn::VarStore`] under their torchvision
//! `state_dict` keys (`layer1.0.conv1.weight`, `bn1.running_mean`, ...), so a
//! torchvision checkpoint loads without renaming.

mod forward;
mod init;
pub mod io;

use std::collections::{BTreeMap, HashMap};

use rpr_core::graph::{Model, ParamKind, ParamSpec};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::error::{Result, TrainError};

pub use forward::{BatchNormMode, WeightOverrides};

/// A network built from a model description, with its parameters.
pub struct Network {
    model: Model,
    vs: VarStore,
    specs: Vec<ParamSpec>,
    /// Parameters and buffers by torchvision key (shallow clones of the
    /// `VarStore` entries, so in-place updates are shared).
    params: BTreeMap<String, Tensor>,
    /// For each node index, the tensors whose last reader is that node; the
    /// forward pass drops them there to bound memory in inference.
    release_after: Vec<Vec<String>>,
}

impl Network {
    /// Builds the network with freshly initialized parameters (the
    /// torchvision initialization: He-normal convolutions, unit BatchNorm,
    /// uniform classifier). Uses libtorch's global RNG, so call
    /// `tch::manual_seed` first for a reproducible start.
    pub fn new(model: Model, device: Device) -> Result<Self> {
        model.validate()?;
        let vs = VarStore::new(device);
        let specs = model.parameters();
        let mut params = BTreeMap::new();
        for spec in &specs {
            if params.contains_key(&spec.name) {
                return Err(TrainError::Model(format!(
                    "parameter key `{}` appears twice in model `{}`",
                    spec.name, model.name
                )));
            }
            let tensor = init::initial_value(spec, &model, device)?;
            let trainable = is_trainable(spec.kind);
            let var = add_var(&vs, &spec.name, tensor, trainable)?;
            params.insert(spec.name.clone(), var);
        }
        let release_after = release_schedule(&model);
        Ok(Self { model, vs, specs, params, release_after })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// Parameter descriptions in model order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Returns the parameter or buffer stored under a torchvision key.
    pub fn param(&self, key: &str) -> Result<&Tensor> {
        self.params
            .get(key)
            .ok_or_else(|| TrainError::Model(format!("the network has no parameter `{key}`")))
    }

    /// Returns all parameters and buffers by torchvision key.
    pub fn params(&self) -> &BTreeMap<String, Tensor> {
        &self.params
    }

    /// Trainable parameters by key, in model order.
    pub fn trainable(&self) -> Vec<(String, Tensor)> {
        self.specs
            .iter()
            .filter(|s| is_trainable(s.kind))
            .map(|s| (s.name.clone(), self.params[&s.name].shallow_clone()))
            .collect()
    }

    /// Resets every BatchNorm's running statistics to the initial state
    /// (mean 0, variance 1, zero batches tracked).
    pub fn reset_batch_norm_statistics(&self) {
        tch::no_grad(|| {
            for spec in &self.specs {
                let mut t = self.params[&spec.name].shallow_clone();
                match spec.kind {
                    ParamKind::BnRunningMean | ParamKind::BnNumBatchesTracked => {
                        let _ = t.zero_();
                    }
                    ParamKind::BnRunningVar => {
                        let _ = t.fill_(1.0);
                    }
                    _ => {}
                }
            }
        });
    }
}

pub(crate) fn is_trainable(kind: ParamKind) -> bool {
    !matches!(
        kind,
        ParamKind::BnRunningMean | ParamKind::BnRunningVar | ParamKind::BnNumBatchesTracked
    )
}

/// Registers `tensor` in the var store under the dotted key `name`.
fn add_var(vs: &VarStore, name: &str, tensor: Tensor, trainable: bool) -> Result<Tensor> {
    let mut path = vs.root();
    let mut parts: Vec<&str> = name.split('.').collect();
    let leaf = parts.pop().filter(|l| !l.is_empty()).ok_or_else(|| {
        TrainError::Model(format!("parameter key `{name}` is empty or ends with a dot"))
    })?;
    for part in parts {
        if part.is_empty() {
            return Err(TrainError::Model(format!("parameter key `{name}` has an empty component")));
        }
        path = path.sub(part);
    }
    Ok(path.add(leaf, tensor, trainable))
}

/// Computes, for each node, which tensors are read for the last time there.
fn release_schedule(model: &Model) -> Vec<Vec<String>> {
    let mut last_reader: HashMap<&str, usize> = HashMap::new();
    for (i, node) in model.nodes.iter().enumerate() {
        for input in &node.inputs {
            last_reader.insert(input.as_str(), i);
        }
    }
    let mut release = vec![Vec::new(); model.nodes.len()];
    for (tensor, node) in last_reader {
        if tensor != model.output {
            release[node].push(tensor.to_string());
        }
    }
    release
}

/// Kind of a parameter as libtorch stores it.
pub(crate) fn torch_kind(kind: ParamKind) -> Kind {
    match kind {
        ParamKind::BnNumBatchesTracked => Kind::Int64,
        _ => Kind::Float,
    }
}
