"""``edgecolor build``: frame model -> precision graph (FP16 / INT8 Q/DQ) -> accuracy gate -> engine + manifest.

- :mod:`edgecolor.builder.pipeline`: the pipeline (one frozen :class:`~edgecolor.builder.pipeline.BuildConfig`).
- :mod:`edgecolor.builder.gate`: accuracy vs FP32 on held-out frames, layer-sensitivity pass.
- :mod:`edgecolor.backends.manifest`: the JSON sidecar and the check a loader runs before using an engine.
"""
