"""``edgecolor build``: frame model -> precision graph (FP16 / INT8 Q/DQ) -> accuracy gate -> engine + manifest.

- :mod:`edgecolor.build.builder`: the pipeline (one frozen :class:`~edgecolor.build.builder.BuildConfig`).
- :mod:`edgecolor.build.gate`: accuracy vs FP32 on held-out frames, layer-sensitivity pass.
- :mod:`edgecolor.build.manifest`: the JSON sidecar and the check a loader runs before using an engine.
"""
