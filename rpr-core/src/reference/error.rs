//! Errors of the reference executor.

use thiserror::Error;

use crate::graph::GraphError;

/// A network that the reference executor cannot run on the given data.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The model description is invalid.
    #[error("invalid model: {0}")]
    Graph(#[source] Box<GraphError>),
    /// The input batch does not have the model's per-sample shape.
    #[error("input has shape {actual:?}; the model expects [n, {}, {}, {}]", expected[0], expected[1], expected[2])]
    InputShape {
        /// Model input shape `[c, h, w]`.
        expected: [usize; 3],
        /// Input batch shape `[n, c, h, w]`.
        actual: [usize; 4],
    },
    /// A parameter the node reads is absent.
    #[error("node `{node}` needs tensor `{tensor}`, which is missing")]
    MissingTensor {
        /// Node name.
        node: String,
        /// Missing key.
        tensor: String,
    },
    /// A parameter has the wrong shape.
    #[error("tensor `{tensor}` has shape {actual:?}; node `{node}` expects {expected:?}")]
    TensorShape {
        /// Node name.
        node: String,
        /// Tensor key.
        tensor: String,
        /// Shape the node declares.
        expected: Vec<usize>,
        /// Shape found.
        actual: Vec<usize>,
    },
    /// The model output is not a `[features]` vector, so it cannot give logits.
    #[error("model output `{output}` has per-sample shape {shape:?}; expected [classes], for example after flatten and linear")]
    OutputRank {
        /// Output tensor name.
        output: String,
        /// Its per-sample shape.
        shape: Vec<usize>,
    },
}

impl From<GraphError> for ReferenceError {
    fn from(error: GraphError) -> Self {
        ReferenceError::Graph(Box::new(error))
    }
}
