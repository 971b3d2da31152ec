"""``edgecolor eval``'s library half: how a model is scored on photos and clips it never trained on.

- :mod:`~edgecolor.evaluation.colorizer`: the colorizer against colour truth, gray and the luma-lookup baseline,
  per photo, per source and pooled (the scores themselves and the strength rule are
  :mod:`edgecolor.models.scoring`, which training and ``tune`` use too);
- :mod:`~edgecolor.evaluation.styles`: the styles' change, edge correlation, distinctness and Gram distance;
- :mod:`~edgecolor.evaluation.video`: CDC and flicker of a video job against its frames colorized one by one.
"""
