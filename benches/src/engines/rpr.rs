//! rpr-infer through its library API.

use std::path::Path;

use ndarray::{Array2, ArrayView4};
use rpr_infer::{Engine, Precision, Session, SessionOptions};

use super::{Backend, BackendError};

const ENGINE: &str = "rpr-infer";

/// An rpr-infer session on one `.rpr` file.
pub struct RprBackend {
    session: Session,
    precision: Precision,
}

impl RprBackend {
    /// Loads `path` and creates a session with buffers planned for `batch`.
    pub fn new(path: &Path, precision: Precision, threads: usize, batch: usize) -> Result<Self, BackendError> {
        let load_error = |message: String| BackendError::Load { engine: ENGINE, model: path.display().to_string(), message };
        let engine = Engine::load(path).map_err(|error| load_error(error.to_string()))?;
        let options = SessionOptions { precision, threads, batch, isa: None };
        let session = Session::new(&engine, options).map_err(|error| load_error(error.to_string()))?;
        Ok(RprBackend { session, precision })
    }

    /// Name of the kernel family the session calls, for example `avx2`.
    pub fn kernel_isa(&self) -> String {
        format!("{:?}", self.session.kernels().isa).to_lowercase()
    }

    /// Packed convs running on u8 activations, out of all packed convs.
    pub fn int8_layers(&self) -> (usize, usize) {
        self.session.int8_layers()
    }
}

impl Backend for RprBackend {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn variant(&self) -> String {
        match self.precision {
            Precision::Int8 => "int8".into(),
            Precision::F32 => "f32".into(),
        }
    }

    fn threads(&self) -> usize {
        self.session.threads()
    }

    fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Array2<f32>, BackendError> {
        self.session
            .run(input)
            .map_err(|error| BackendError::Run { engine: ENGINE, message: error.to_string() })
    }
}
