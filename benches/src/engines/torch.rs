//! libtorch FP32 through tch, on the unfolded float network (BatchNorm in
//! eval mode) with the same weights as the exported files.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array2, ArrayView4};
use rpr_core::checkpoint::Checkpoint;
use rpr_train::net::{BatchNormMode, Network};
use tch::{Device, Tensor};

use super::{Backend, BackendError};

const ENGINE: &str = "libtorch";

/// A tch network built from a checkpoint's model description.
pub struct TorchBackend {
    network: Network,
    threads: usize,
}

impl TorchBackend {
    /// Builds the network on the CPU and loads the checkpoint's tensors.
    /// `source` only names the checkpoint in errors.
    pub fn new(checkpoint: &Checkpoint, source: &Path, threads: usize) -> Result<Self, BackendError> {
        let load_error = |message: String| BackendError::Load { engine: ENGINE, model: source.display().to_string(), message };
        let network = Network::new(checkpoint.model.clone(), Device::Cpu).map_err(|error| load_error(error.to_string()))?;
        network
            .load_tensors(&checkpoint.tensors, source)
            .map_err(|error| load_error(error.to_string()))?;
        Ok(TorchBackend { network, threads })
    }
}

impl Backend for TorchBackend {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn variant(&self) -> String {
        "fp32".into()
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Array2<f32>, BackendError> {
        let run_error = |message: String| BackendError::Run { engine: ENGINE, message };
        // The intra-op pool size is process-wide in libtorch, and backends
        // with different thread counts take turns in one process.
        let threads = i32::try_from(self.threads).map_err(|_| run_error(format!("thread count {} is too large", self.threads)))?;
        if tch::get_num_threads() != threads {
            tch::set_num_threads(threads);
        }

        let (n, c, h, w) = input.dim();
        let values: Vec<f32> = input.iter().copied().collect();
        let shape = [n, c, h, w].map(|d| d as i64);
        let tensor = Tensor::from_slice(&values).reshape(shape);
        let logits = tch::no_grad(|| self.network.forward(&tensor, BatchNormMode::Eval, &HashMap::new()))
            .map_err(|error| run_error(error.to_string()))?;
        let dims = logits.size();
        if dims.len() != 2 {
            return Err(run_error(format!("output has shape {dims:?}, expected [batch, classes]")));
        }
        let flat = Vec::<f32>::try_from(logits.flatten(0, -1)).map_err(|error| run_error(error.to_string()))?;
        Array2::from_shape_vec((dims[0] as usize, dims[1] as usize), flat).map_err(|error| run_error(error.to_string()))
    }
}
