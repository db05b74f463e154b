//! Shared helpers for the rpr benchmarks.
