//! tract-onnx on an ONNX file, optimized for one fixed batch size.

use std::path::Path;

use ndarray::{Array2, ArrayView4};
use tract_onnx::prelude::*;

use super::{Backend, BackendError};

const ENGINE: &str = "tract";

type Runnable = std::sync::Arc<TypedRunnableModel>;

/// A tract plan of one ONNX file. tract runs on the calling thread only.
pub struct TractBackend {
    plan: Runnable,
    variant: String,
    shape: [usize; 4],
}

impl TractBackend {
    /// Loads `path`, fixes the input to `[batch, c, h, w]` and optimizes the graph.
    pub fn new(path: &Path, variant: &str, batch: usize, input_shape: [usize; 3]) -> Result<Self, BackendError> {
        let shape = [batch, input_shape[0], input_shape[1], input_shape[2]];
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|model| model.with_input_fact(0, f32::fact(shape).into()))
            .and_then(|model| model.into_optimized())
            .and_then(|model| model.into_runnable())
            .map_err(|error| BackendError::Load {
                engine: ENGINE,
                model: path.display().to_string(),
                message: format!("{error:#}"),
            })?;
        Ok(TractBackend { plan, variant: variant.to_string(), shape })
    }
}

impl Backend for TractBackend {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn variant(&self) -> String {
        self.variant.clone()
    }

    fn threads(&self) -> usize {
        1
    }

    fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Array2<f32>, BackendError> {
        let run_error = |message: String| BackendError::Run { engine: ENGINE, message };
        if input.shape() != self.shape {
            return Err(run_error(format!("input has shape {:?}, but the plan was built for {:?}", input.shape(), self.shape)));
        }
        let values: Vec<f32> = input.iter().copied().collect();
        let tensor = Tensor::from_shape(&self.shape, &values).map_err(|error| run_error(format!("{error:#}")))?;
        let outputs = self.plan.run(tvec!(tensor.into())).map_err(|error| run_error(format!("{error:#}")))?;
        let logits = outputs[0].to_plain_array_view::<f32>().map_err(|error| run_error(format!("{error:#}")))?;
        let dims = logits.shape().to_vec();
        if dims.len() != 2 {
            return Err(run_error(format!("output has shape {dims:?}, expected [batch, classes]")));
        }
        let flat: Vec<f32> = logits.iter().copied().collect();
        Array2::from_shape_vec((dims[0], dims[1]), flat).map_err(|error| run_error(error.to_string()))
    }
}
