"""The survey engine: design-based estimates in DuckDB SQL that agree with R's ``survey``.

Modules, as a statistician looks for them: ``design`` (the sampling design, as ``svydesign``),
``cells`` (rows aggregated per domain and sampling unit), ``variance`` (Taylor linearisation,
as ``svyrecvar``), ``intervals`` (``confint``, ``svyciprop``), ``contrasts`` (``svycontrast``),
``estimators`` (``svymean``, ``svytotal``, ``svyciprop``, ``svyratio``, by domain as ``svyby``),
``checks`` (design checks run in the same query), ``query`` (the SQL plan), ``results``
(running a plan and turning its rows into estimates), ``covariance`` (the covariance of two
domains, for ``svycontrast``), ``calibration`` (weights calibrated to population margins, as
``calibrate``) and ``residuals`` (the linearised values of a calibrated design, as
``svyrecvar`` takes them); ``tables`` (estimates and comparisons as pandas tables) and
``recorded`` (the design a run recorded in its warehouse, read back). Imports nothing else of
``indicators`` but its SQL quoting and condition checks.
"""

from indicators.survey.estimators import (
    Comparison,
    Estimate,
    SurveyDesign,
    SurveyDesignError,
    compare_domains,
    survey_mean,
    survey_proportion,
    survey_query,
    survey_ratio,
    survey_total,
)
from indicators.survey.recorded import design_for
from indicators.survey.tables import comparisons_table, estimates_table, survey_table

__all__ = [
    "Comparison",
    "Estimate",
    "SurveyDesign",
    "SurveyDesignError",
    "compare_domains",
    "comparisons_table",
    "design_for",
    "estimates_table",
    "survey_mean",
    "survey_proportion",
    "survey_query",
    "survey_ratio",
    "survey_table",
    "survey_total",
]
