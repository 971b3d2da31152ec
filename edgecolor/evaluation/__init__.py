"""``edgecolor eval``'s library half: how a model is scored on photos it never trained on.

- :mod:`~edgecolor.evaluation.styles`: the styles' change, edge correlation, distinctness and Gram distance.
"""
