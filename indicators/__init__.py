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
    "bundled_catalogue_dir",
    "load_catalogue",
]
