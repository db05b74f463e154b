//! Writers for bit-packed `.rpr` model files and ONNX graphs.
