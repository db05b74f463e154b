//! Errors of the engine library.

use thiserror::Error;

/// Everything that can fail while loading a model, planning a session or running it.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The `.rpr` file could not be opened or failed its own validation.
    #[error("cannot read model file: {0}")]
    Format(Box<rpr_export::packed::FormatError>),

    /// The model description itself is inconsistent.
    #[error("invalid model description: {0}")]
    Graph(Box<rpr_core::graph::GraphError>),

    /// A node uses an operation or hyperparameter the engine does not implement.
    #[error("node `{node}`: unsupported {feature}; re-export the model without it")]
    Unsupported { node: String, feature: String },

    /// A tensor a node needs is absent from the file.
    #[error("node `{node}`: tensor `{tensor}` is missing from the model file")]
    MissingTensor { node: String, tensor: String },

    /// A tensor has a different element count or shape than the node implies.
    #[error("node `{node}`: tensor `{tensor}` has {found}, expected {expected}")]
    TensorShape {
        node: String,
        tensor: String,
        expected: String,
        found: String,
    },

    /// A tensor or hyperparameter contains a value the engine cannot use (NaN, zero scale, ...).
    #[error("node `{node}`: {message}")]
    InvalidValue { node: String, message: String },

    /// The caller passed an input of the wrong shape or with non-finite values.
    #[error("invalid input: {0}")]
    Input(String),

    /// A GEMM kernel rejected its operands; this is a bug in the engine's planning.
    #[error("node `{node}`: kernel failed: {source}")]
    Kernel {
        node: String,
        #[source]
        source: crate::kernels::KernelError,
    },

    /// Invalid session options.
    #[error("invalid session option: {0}")]
    Options(String),

    /// The activation buffers for a batch could not be allocated.
    #[error(
        "cannot allocate the activation buffers for a batch of {batch} images; use a smaller batch"
    )]
    Memory { batch: usize },

    /// The rayon thread pool for the session could not be created.
    #[error("cannot create a thread pool with {threads} threads: {source}")]
    ThreadPool {
        threads: usize,
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
}

impl EngineError {
    pub(crate) fn unsupported(node: &str, feature: impl Into<String>) -> Self {
        Self::Unsupported {
            node: node.to_owned(),
            feature: feature.into(),
        }
    }

    pub(crate) fn invalid(node: &str, message: impl Into<String>) -> Self {
        Self::InvalidValue {
            node: node.to_owned(),
            message: message.into(),
        }
    }
}

// Boxed because both errors are large and `Result<_, EngineError>` is returned on every step.
impl From<rpr_export::packed::FormatError> for EngineError {
    fn from(error: rpr_export::packed::FormatError) -> Self {
        Self::Format(Box::new(error))
    }
}

impl From<rpr_core::graph::GraphError> for EngineError {
    fn from(error: rpr_core::graph::GraphError) -> Self {
        Self::Graph(Box::new(error))
    }
}
