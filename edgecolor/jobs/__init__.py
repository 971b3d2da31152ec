"""The library halves of the one-shot commands; ``edgecolor/cli/`` only parses, prints and exits.

- :mod:`~edgecolor.jobs.files`: ``colorize`` / ``stylize`` inputs -> output plan, one file through an engine.
- :mod:`~edgecolor.jobs.styles`: styles by name, the style contact sheet (``stylize --sheet``).
- :mod:`~edgecolor.jobs.eval_colorizer`, :mod:`~edgecolor.jobs.eval_styles`: ``edgecolor eval``.
- :mod:`~edgecolor.jobs.doctor`: ``edgecolor doctor``'s facts and findings.

The same jobs on a Ray cluster are :mod:`edgecolor.batch.ray_jobs`.
"""
