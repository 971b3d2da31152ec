"""The library halves of the one-shot commands; ``edgecolor/cli/`` only parses, prints and exits.

- :mod:`~edgecolor.jobs.files`: ``colorize`` / ``stylize`` inputs -> output plan, one file through an engine.
- :mod:`~edgecolor.jobs.styles`: styles by name, the style contact sheet (``stylize --sheet``).
- :mod:`~edgecolor.jobs.record`: the record of finished outputs a rerun resumes from.

``edgecolor eval`` is :mod:`edgecolor.evaluation`, ``edgecolor doctor`` :mod:`edgecolor.doctor`; the same jobs on a
Ray cluster are :mod:`edgecolor.batch.ray_jobs`.
"""
