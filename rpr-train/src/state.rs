//! Training state for `--resume`: `train_state.safetensors` (latent
//! weights, optimizer state, codes and partitions) and `train_state.json`
//! (counters and metrics).
//!
//! Both files are written atomically after every epoch, tensors first. The
//! tensor file stores the epoch count too, so a crash between the two
//! renames is detected on resume instead of mixing two epochs.

use std::path::Path;

use ndarray::ArrayD;
use rpr_core::checkpoint::{read_safetensors, write_atomic, write_safetensors, Tensors};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::metrics::EpochMetrics;
use crate::net::io::{array_to_tensor, tensor_to_array};
use crate::net::Network;
use crate::optim::Optimizer;
use crate::quantized::QuantizedLayers;

pub const STATE_JSON: &str = "train_state.json";
pub const STATE_TENSORS: &str = "train_state.safetensors";
const EPOCH_KEY: &str = "meta.epochs_done";

/// Counters and history of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub model: String,
    pub method: String,
    pub bits: String,
    pub seed: u64,
    pub epochs_done: usize,
    pub global_step: usize,
    /// Number of partitions drawn so far; the next one uses this as its key.
    pub partition_step: u64,
    /// Freezing fraction of the current partition (RPR).
    pub current_ff: Option<f32>,
    pub fp_top1: Option<f64>,
    /// Training seconds summed over all sessions.
    pub seconds: f64,
    pub optimizer_steps: Vec<(String, i64)>,
    pub metrics: Vec<EpochMetrics>,
}

impl TrainState {
    pub fn new(model: &str, method: &str, bits: &str, seed: u64) -> Self {
        Self {
            model: model.into(),
            method: method.into(),
            bits: bits.into(),
            seed,
            epochs_done: 0,
            global_step: 0,
            partition_step: 0,
            current_ff: None,
            fp_top1: None,
            seconds: 0.0,
            optimizer_steps: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Fails when the saved run differs from the requested one in a setting
    /// that would make the continuation a different run.
    pub fn check_matches(&self, requested: &TrainState, dir: &Path) -> Result<()> {
        let pairs = [
            ("model", &self.model, &requested.model),
            ("method", &self.method, &requested.method),
            ("bits", &self.bits, &requested.bits),
        ];
        for (field, saved, wanted) in pairs {
            if saved != wanted {
                return Err(TrainError::Resume {
                    dir: dir.to_path_buf(),
                    reason: format!("the saved run has {field} `{saved}` but this run asks for `{wanted}`"),
                });
            }
        }
        if self.seed != requested.seed {
            return Err(TrainError::Resume {
                dir: dir.to_path_buf(),
                reason: format!("the saved run has seed {} but this run asks for {}", self.seed, requested.seed),
            });
        }
        Ok(())
    }
}

/// Saves the state after an epoch.
pub fn save(
    dir: &Path,
    state: &TrainState,
    net: &Network,
    optimizer: &Optimizer,
    layers: Option<&QuantizedLayers>,
) -> Result<()> {
    let mut tensors = Tensors::new();
    for (key, value) in net.to_tensors()? {
        tensors.insert(format!("param.{key}"), value);
    }
    let (opt_tensors, opt_steps) = optimizer.state();
    for (name, t) in opt_tensors {
        tensors.insert(format!("opt.{name}"), tensor_to_array(&t, &name)?);
    }
    if let Some(layers) = layers {
        for layer in &layers.layers {
            let codes: Vec<f32> = layer.codes.iter().map(|&c| f32::from(c)).collect();
            let relaxed: Vec<f32> = layer.relaxed.iter().map(|&r| f32::from(u8::from(r))).collect();
            tensors.insert(format!("quant.{}.codes", layer.node), ArrayD::from_shape_vec(vec![codes.len()], codes).map_err(shape_error)?);
            tensors.insert(format!("quant.{}.relaxed", layer.node), ArrayD::from_shape_vec(vec![relaxed.len()], relaxed).map_err(shape_error)?);
        }
    }
    tensors.insert(EPOCH_KEY.into(), ArrayD::from_elem(vec![1], state.epochs_done as f32));
    write_safetensors(&dir.join(STATE_TENSORS), &tensors)?;

    let mut state = state.clone();
    state.optimizer_steps = opt_steps;
    let json = serde_json::to_string_pretty(&state)
        .map_err(|e| TrainError::Config(format!("serializing the training state: {e}")))?;
    let path = dir.join(STATE_JSON);
    write_atomic(&path, json.as_bytes()).map_err(TrainError::io(format!("writing {}", path.display())))
}

fn shape_error(e: ndarray::ShapeError) -> TrainError {
    TrainError::Model(format!("state tensor shape: {e}"))
}

/// Reads the counters and history saved by [`save`].
pub fn read(dir: &Path) -> Result<TrainState> {
    let resume_error = |reason: String| TrainError::Resume { dir: dir.to_path_buf(), reason };
    let json_path = dir.join(STATE_JSON);
    let text = std::fs::read_to_string(&json_path)
        .map_err(|e| resume_error(format!("failed to read {STATE_JSON}: {e}. Start without --resume")))?;
    serde_json::from_str(&text).map_err(|e| resume_error(format!("{STATE_JSON} is invalid: {e}")))
}

/// Loads the tensors saved by [`save`] for `state` into the network,
/// optimizer and quantized layers.
pub fn load(
    dir: &Path,
    state: &TrainState,
    net: &Network,
    optimizer: &mut Optimizer,
    layers: Option<&mut QuantizedLayers>,
) -> Result<()> {
    let resume_error = |reason: String| TrainError::Resume { dir: dir.to_path_buf(), reason };
    let tensors = read_safetensors(&dir.join(STATE_TENSORS))?;
    let saved_epoch = tensors.get(EPOCH_KEY).and_then(|a| a.iter().next().copied());
    if saved_epoch != Some(state.epochs_done as f32) {
        return Err(resume_error(format!(
            "{STATE_TENSORS} holds epoch {saved_epoch:?} but {STATE_JSON} says {}; the process \
             stopped while saving, so restart the run without --resume",
            state.epochs_done
        )));
    }

    let mut params = Tensors::new();
    for (key, value) in &tensors {
        if let Some(name) = key.strip_prefix("param.") {
            params.insert(name.to_string(), value.clone());
        }
    }
    net.load_tensors(&params, &dir.join(STATE_TENSORS))?;

    let device = net.device();
    optimizer.restore(&state.optimizer_steps, |name| {
        tensors.get(&format!("opt.{name}")).map(|a| array_to_tensor(a, device))
    })?;

    if let Some(layers) = layers {
        let nodes: Vec<String> = layers.layers.iter().map(|l| l.node.clone()).collect();
        for node in nodes {
            let get = |what: &str| {
                tensors.get(&format!("quant.{node}.{what}")).ok_or_else(|| {
                    resume_error(format!("{STATE_TENSORS} lacks the {what} of quantized layer `{node}`"))
                })
            };
            let codes: Vec<f32> = get("codes")?.iter().copied().collect();
            let relaxed: Vec<f32> = get("relaxed")?.iter().copied().collect();
            layers.restore(&node, &codes, &relaxed)?;
        }
    }
    Ok(())
}
