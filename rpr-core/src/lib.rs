//! Core math of Random Partition Relaxation (RPR) and the model description
//! that every rpr crate shares. Pure Rust on `ndarray`, with no libtorch, so it
//! builds for embedded ARM boards.

pub mod checkpoint;
pub mod data;
pub mod graph;
pub mod pack;
pub mod partition;
pub mod quant;
pub mod reference;
pub mod schedule;
pub mod zoo;
