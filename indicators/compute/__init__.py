"""The catalogue's indicators computed for every territory and year: one module per kind
(``admin_ratio``, ``commuting``, ``survey_proportion``), a registry keyed by kind, and the
publication rules applied alike to every kind (``publication``)."""

from indicators.compute.registry import compute_indicator_values

__all__ = ["compute_indicator_values"]
