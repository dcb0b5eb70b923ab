"""Indicators: the catalogue of learning-city indicators and the estimators that compute them.

Works on any DuckDB connection holding the contract tables; imports nothing else of LCI.
"""

from indicators._catalogue import (
    AdminRatio,
    Catalogue,
    CatalogueError,
    CommutingRatio,
    Domain,
    Indicator,
    LocalisedText,
    SurveyProportion,
    Target,
    bundled_catalogue_dir,
    load_catalogue,
)
from indicators._compute import compute_indicator_values
from indicators._territories import build_membership

__all__ = [
    "AdminRatio",
    "Catalogue",
    "CatalogueError",
    "CommutingRatio",
    "Domain",
    "Indicator",
    "LocalisedText",
    "SurveyProportion",
    "Target",
    "build_membership",
    "bundled_catalogue_dir",
    "compute_indicator_values",
    "load_catalogue",
]
