"""Archive-scale runs of ``colorize`` / ``stylize`` over many files (``--on ray``)."""
