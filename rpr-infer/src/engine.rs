//! A loaded, validated model that sessions run.

use std::path::Path;
use std::sync::Arc;

use rpr_core::graph::Model;
use rpr_export::packed::RprFile;

use crate::error::EngineError;
use crate::program::{self, Program};

/// A model file with its lowered program. Cloning is cheap and shares the file.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub file: RprFile,
    pub program: Program,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.model().name)
            .field("steps", &self.inner.program.steps.len())
            .finish()
    }
}

impl Engine {
    /// Memory-maps a `.rpr` file, validates it and lowers its model.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        Self::from_file(RprFile::open(path.as_ref())?)
    }

    /// Validates a `.rpr` file held in memory and lowers its model.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EngineError> {
        Self::from_file(RprFile::from_bytes(bytes)?)
    }

    /// Lowers the model of an already opened file. Fails, naming the node, on an unsupported
    /// operation or a missing or misshapen tensor.
    pub fn from_file(file: RprFile) -> Result<Self, EngineError> {
        let program = program::build(&file)?;
        let packed = program
            .steps
            .iter()
            .filter(|s| s.op.kind() == "packed_conv")
            .count();
        tracing::info!(model = %file.model().name, steps = program.steps.len(), packed_convs = packed, "model loaded");
        Ok(Self {
            inner: Arc::new(EngineInner { file, program }),
        })
    }

    /// Returns the model description, with BatchNorm already folded by the exporter.
    pub fn model(&self) -> &Model {
        self.inner.file.model()
    }

    /// Returns the underlying `.rpr` file.
    pub fn file(&self) -> &RprFile {
        &self.inner.file
    }

    /// Input shape `[channels, height, width]` without the batch axis.
    pub fn input_shape(&self) -> [usize; 3] {
        self.model().input_shape
    }

    /// Number of output values per image (the classes of a classifier).
    pub fn output_len(&self) -> usize {
        let program = &self.inner.program;
        program.tensors[program.output].shape.len()
    }
}
