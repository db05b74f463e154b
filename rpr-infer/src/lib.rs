//! Inference engine for binary- and ternary-weight networks.
//!
//! [`Engine`] loads a `.rpr` file (memory-mapped, validated, packed weights read in place) and
//! lowers its model to fused steps. A [`Session`] runs batches on its own rayon pool with u8
//! activations ([`Precision::Int8`]) or f32 activations ([`Precision::F32`]); tensors are NHWC
//! inside the engine and buffers are planned once per batch size.
//!
//! ```no_run
//! use rpr_infer::{Engine, Session, SessionOptions};
//! let engine = Engine::load("resnet20.rpr")?;
//! let mut session = Session::new(&engine, SessionOptions { threads: 2, ..Default::default() })?;
//! let logits = session.run(ndarray::Array4::<f32>::zeros((1, 1, 28, 28)).view())?;
//! # Ok::<(), rpr_infer::EngineError>(())
//! ```

pub mod kernels;

pub mod ffi;

mod chunks;
mod engine;
mod error;
mod exec;
mod ops;
mod plan;
mod program;
mod session;

pub use engine::Engine;
pub use error::EngineError;
pub use session::{Precision, Session, SessionOptions, MAX_THREADS};
