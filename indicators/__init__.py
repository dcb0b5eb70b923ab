"""Indicators: the catalogue of learning-city indicators and the estimators that compute them.

Works on any DuckDB connection holding the contract tables; imports nothing else of LCI.

Every name of ``__all__`` is imported from its submodule on first use (PEP 562), so that
``from indicators import load_catalogue`` reads the catalogue without loading the survey and
composite engines (DuckDB, NumPy, SciPy, pandas).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indicators.catalogue.definitions import (
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
    from indicators.composite.build import (
        CompositeResult,
        LogEntry,
        build_composite,
        log_from_json,
        replay,
        spec_from_log,
    )
    from indicators.composite.data import (
        CompositeData,
        SamplingError,
        read_coinr,
        read_coinr_meta,
        read_weights,
    )
    from indicators.composite.hierarchy import CompositeError, Hierarchy, Node
    from indicators.composite.specification import (
        Aggregate,
        CompositeSpec,
        Denominate,
        DistanceToTarget,
        Goalposts,
        Impute,
        MinMax,
        PercentRank,
        Rank,
        Screen,
        Treat,
        Uncertainty,
        ZScore,
    )
    from indicators.composite.uncertainty import UncertaintyResult, analyse_uncertainty
    from indicators.compute.registry import compute_indicator_values
    from indicators.conditions import ConditionError, check_expression
    from indicators.learning_index import (
        compute_learning_city_index,
        default_uncertainty,
        learning_city_data,
    )
    from indicators.survey.estimators import (
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
    from indicators.territories import build_membership

_SUBMODULES: dict[str, tuple[str, ...]] = {
    "indicators.catalogue.definitions": (
        "AdminRatio", "Catalogue", "CatalogueError", "CommutingRatio", "Domain", "Indicator",
        "LocalisedText", "SurveyProportion", "Target", "bundled_catalogue_dir", "load_catalogue",
    ),
    "indicators.conditions": ("ConditionError", "check_expression"),
    "indicators.composite.build": (
        "CompositeResult", "LogEntry", "build_composite", "log_from_json", "replay",
        "spec_from_log",
    ),
    "indicators.composite.data": (
        "CompositeData", "SamplingError", "read_coinr", "read_coinr_meta", "read_weights",
    ),
    "indicators.composite.hierarchy": ("CompositeError", "Hierarchy", "Node"),
    "indicators.composite.specification": (
        "Aggregate", "CompositeSpec", "Denominate", "DistanceToTarget", "Goalposts", "Impute",
        "MinMax", "PercentRank", "Rank", "Screen", "Treat", "Uncertainty", "ZScore",
    ),
    "indicators.composite.uncertainty": ("UncertaintyResult", "analyse_uncertainty"),
    "indicators.compute.registry": ("compute_indicator_values",),
    "indicators.learning_index": (
        "compute_learning_city_index", "default_uncertainty", "learning_city_data",
    ),
    "indicators.survey.estimators": (
        "Comparison", "Estimate", "SurveyDesign", "SurveyDesignError", "compare_domains",
        "survey_mean", "survey_proportion", "survey_ratio", "survey_total",
    ),
    "indicators.territories": ("build_membership",),
}
_WHERE = {name: module for module, names in _SUBMODULES.items() for name in names}
# Subpackages and modules reachable as attributes, as when this module imported them all.
_SUBPACKAGES = ("catalogue", "composite", "compute", "conditions", "learning_index", "survey",
                "territories")

__all__ = [
    "AdminRatio",
    "Aggregate",
    "Catalogue",
    "CatalogueError",
    "CommutingRatio",
    "Comparison",
    "CompositeData",
    "CompositeError",
    "CompositeResult",
    "CompositeSpec",
    "ConditionError",
    "Denominate",
    "DistanceToTarget",
    "Domain",
    "Estimate",
    "Goalposts",
    "Hierarchy",
    "Impute",
    "Indicator",
    "LocalisedText",
    "LogEntry",
    "MinMax",
    "Node",
    "PercentRank",
    "Rank",
    "SamplingError",
    "Screen",
    "SurveyDesign",
    "SurveyDesignError",
    "SurveyProportion",
    "Target",
    "Treat",
    "Uncertainty",
    "UncertaintyResult",
    "ZScore",
    "analyse_uncertainty",
    "build_composite",
    "build_membership",
    "bundled_catalogue_dir",
    "check_expression",
    "compare_domains",
    "compute_indicator_values",
    "compute_learning_city_index",
    "default_uncertainty",
    "learning_city_data",
    "load_catalogue",
    "log_from_json",
    "read_coinr",
    "read_coinr_meta",
    "read_weights",
    "replay",
    "spec_from_log",
    "survey_mean",
    "survey_proportion",
    "survey_ratio",
    "survey_total",
]


def __getattr__(name: str) -> object:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    elif name in _SUBPACKAGES:
        value = import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
