//! Core math of Random Partition Relaxation (RPR) and the model description
//! that every rpr crate shares. Pure Rust on `ndarray`, with no libtorch, so it
//! builds for embedded ARM boards.

pub mod graph;
