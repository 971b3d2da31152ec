"""edgecolor: real-time colorization and style transfer as frame models (TensorRT / ONNX Runtime).

Importing the package is cheap: heavy dependencies (onnxruntime, torch, tensorrt, cuda) are imported
only inside the modules that need them.

Nothing edgecolor runs reports to anyone. Two of its libraries would by default: ONNX Runtime's wheels start
Microsoft's telemetry when the library loads (a device id under ``~/.cache/Microsoft``, a ``.ses`` file in the
temporary folder, an upload host looked up), and a local Ray cluster started by ``ray.init`` sends usage
statistics. :data:`TELEMETRY_OFF` turns both off here, before any module of the package imports either library,
through their documented environment switches; a user's own setting of a switch is kept. Child processes (Ray's
workers, ffmpeg) inherit the settings.
"""

import os

TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1", "RAY_USAGE_STATS_ENABLED": "0"}
for _name, _value in TELEMETRY_OFF.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
