"""``edgecolor eval``'s library half: how a model is scored on photos it never trained on.

- :mod:`~edgecolor.evaluation.styles`: the styles' change, edge correlation, distinctness and Gram distance.
- :mod:`~edgecolor.evaluation.video`: a video job's temporal consistency (CDC, flicker) on clips made from photos.
"""
