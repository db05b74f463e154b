//! Inference engine for binary- and ternary-weight networks.
