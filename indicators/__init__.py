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
from indicators._survey import (
    Comparison,
    Estimate,
    SurveyDesign,
    SurveyDesignError,
    compare_domains,
    survey_mean,
    survey_proportion,
    survey_ratio,
    survey_total,
)
from indicators._territories import build_membership

__all__ = [
    "AdminRatio",
    "Catalogue",
    "CatalogueError",
    "CommutingRatio",
    "Comparison",
    "Domain",
    "Estimate",
    "Indicator",
    "LocalisedText",
    "SurveyDesign",
    "SurveyDesignError",
    "SurveyProportion",
    "Target",
    "build_membership",
    "bundled_catalogue_dir",
    "compare_domains",
    "compute_indicator_values",
    "load_catalogue",
    "survey_mean",
    "survey_proportion",
    "survey_ratio",
    "survey_total",
]
