//! Random Partition Relaxation (RPR) retraining on tch (libtorch).
//!
//! The crate interprets an [`rpr_core::graph::Model`] as a libtorch network
//! ([`net::Network`]), pretrains it in float, and turns it into a binary- or
//! ternary-weight network with RPR or one of the baselines (straight-through
//! estimator, incremental quantization, post-training quantization), all
//! from the same starting checkpoint and in the same loop ([`train::run`]).

pub mod compare;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod method;
pub mod metrics;
pub mod net;
pub mod optim;
pub mod plot;
pub mod quantized;
pub mod setup;
pub mod state;
pub mod train;

pub use error::{Result, TrainError};
