"""Compute every indicator of the catalogue for every territory and year, in DuckDB.

A registry keyed by the definition's ``kind`` maps *what* is declared in the catalogue to *how* it
is computed. Each computation yields raw rows (estimate, numerator, denominator, n, SE, CI);
``publication.py`` then applies the publication rules the same way for every kind.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from indicators.catalogue.definitions import Catalogue, Indicator, SurveyProportion
from indicators.compute.admin_ratio import admin_ratio_rows
from indicators.compute.commuting import commuting_rows
from indicators.compute.options import ComputeOptions
from indicators.compute.publication import RAW_COLUMNS, finalise_values
from indicators.compute.survey_proportion import survey_proportion_rows
from indicators.territories import build_membership

Computer = Callable[[duckdb.DuckDBPyConnection, Indicator, ComputeOptions], None]


def survey_rows(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                options: ComputeOptions) -> None:
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    survey_proportion_rows(con, indicator, spec, options.lonely_psu)


COMPUTERS: dict[str, Computer] = {
    "admin_ratio": admin_ratio_rows,
    "commuting": commuting_rows,
    "survey_proportion": survey_rows,
}


def compute_indicator_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                             lonely_psu: str = "fail") -> int:
    """Create ``territory_members``, ``indicator_values`` and ``indicator_changes``.

    ``lonely_psu`` is the project's rule for survey strata with a single PSU (R's options).
    Returns the number of rows in ``indicator_values``.
    """
    options = ComputeOptions(lonely_psu=lonely_psu)
    build_membership(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    for indicator in catalogue:
        try:
            compute = COMPUTERS[indicator.kind]
        except KeyError:
            raise ValueError(f"{indicator.id}: unknown kind {indicator.kind!r}; "
                             f"known: {sorted(COMPUTERS)}") from None
        compute(con, indicator, options)
    return finalise_values(con, catalogue)
