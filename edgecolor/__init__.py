"""edgecolor: real-time colorization and style transfer as frame models (TensorRT / ONNX Runtime).

Importing the package is cheap: heavy dependencies (onnxruntime, torch, tensorrt, cuda) are imported
only inside the modules that need them.
"""

__version__ = "0.1.0"
