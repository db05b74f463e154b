//! Error type of the training library.

use std::path::PathBuf;

/// Everything that can go wrong while building, training, saving or
/// evaluating a network.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A libtorch call failed while running the named graph node.
    #[error("node `{node}` failed in libtorch: {source}")]
    Node {
        node: String,
        #[source]
        source: tch::TchError,
    },
    /// A libtorch call failed outside the graph (optimizer, data transfer).
    #[error("{context}: {source}")]
    Torch {
        context: String,
        #[source]
        source: tch::TchError,
    },
    /// The model description is inconsistent with what the trainer needs.
    #[error("invalid model: {0}")]
    Model(String),
    /// A parameter file does not match the network.
    #[error("parameter `{name}` in {file}: {reason}")]
    Parameter { name: String, file: PathBuf, reason: String },
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch}, step {step}: loss is {loss}. The last good state \
         is the one saved after the previous epoch. Lower the learning rate and resume."
    )]
    Diverged { epoch: usize, step: usize, loss: f64 },
    /// A quantized layer contains a value that is not `-s`, `0` or `+s`.
    #[error(
        "quantized layer `{layer}` has {count} weights off the allowed levels (first at flat \
         index {index}: {value}, scale {scale})"
    )]
    OffLevel { layer: String, count: usize, index: usize, value: f32, scale: f32 },
    /// An invalid option value or combination.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The saved training state cannot be resumed.
    #[error("cannot resume from {dir}: {reason}")]
    Resume { dir: PathBuf, reason: String },
    #[error(transparent)]
    Zoo(#[from] rpr_core::zoo::ZooError),
    #[error(transparent)]
    Quant(#[from] rpr_core::quant::QuantError),
    #[error(transparent)]
    Partition(#[from] rpr_core::partition::PartitionError),
    #[error(transparent)]
    Checkpoint(#[from] rpr_core::checkpoint::CheckpointError),
    #[error(transparent)]
    Data(#[from] rpr_core::data::DataError),
    /// Boxed because the graph error is large and would bloat every `Result`.
    #[error(transparent)]
    Graph(Box<rpr_core::graph::GraphError>),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("plot {path}: {reason}")]
    Plot { path: PathBuf, reason: String },
}

impl TrainError {
    pub(crate) fn torch(context: impl Into<String>) -> impl FnOnce(tch::TchError) -> TrainError {
        let context = context.into();
        move |source| TrainError::Torch { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TrainError {
        let context = context.into();
        move |source| TrainError::Io { context, source }
    }
}

impl From<rpr_core::graph::GraphError> for TrainError {
    fn from(e: rpr_core::graph::GraphError) -> Self {
        TrainError::Graph(Box::new(e))
    }
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;
