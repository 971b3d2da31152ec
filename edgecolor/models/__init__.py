"""PyTorch networks, their training and their export to frame-model ONNX (extra: ``train``)."""
