"""ONNX graph work: frame-model pieces and wrappers (and, later, precision passes)."""
