"""Checks of the data against the declared design, evaluated inside the estimation query.

The checks (missing or negative weights, missing strata or PSUs, fpc that varies within a
stratum or implies more than 100% sampling, PSUs not nested in strata) and the design's
degrees of freedom come back as one extra row of the estimation query, read from its
per-cell aggregate ``_g``: no separate validation query runs over a large source, except
to count invalid weights by kind once they are known to exist (the message gives the
counts, the query only flags them). Python then raises the first problem found, naming
it, before any estimate is used: R's ``svydesign`` refuses the same designs.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from indicators.survey.design import DesignLayout, SurveyDesignError

CHECK_PREFIX = "chk_"


def check_cte(layout: DesignLayout, where: bool) -> tuple[str, str]:
    """The one-row CTE ``_chk``; it reads the aggregate ``_g`` and ``_S0``/``_P0``.

    Row counts are sums of the cell counts of ``_g`` (a NULL stratum or PSU is a cell of
    its own); fpc ranges are the min/max of the cells' ranges.
    """
    null = "CAST(NULL AS BIGINT)"
    nothing = "CAST(NULL AS VARCHAR)"
    weighted = layout.weight != "1.0"
    fpc1 = layout.fpc1 is not None
    fpc2 = layout.second_stage
    no_f = "CAST(NULL AS DOUBLE)"
    row_checks = {
        "rows": "sum(n_all)",
        # Cells holding a NULL, negative or non-finite weight; counted per kind only then.
        "bad_w": "count_if(isnan(ws))" if weighted else null,
        "null_h": "sum(n_all) FILTER (_h IS NULL)",
        "null_p": "sum(n_all) FILTER (_p IS NULL)" if layout.psu is not None else null,
        "null_s": "sum(n_all) FILTER (_s IS NULL)" if layout.ssu is not None else null,
        "null_f1": "sum(n_all - n_f1)" if fpc1 else null,
        "null_f2": "sum(n_all - n_f2)" if fpc2 else null,
        "min_f": f"least(min({'lo1' if fpc1 else no_f}), min({'lo2' if fpc2 else no_f}))",
        "max_f": f"greatest(max({'hi1' if fpc1 else no_f}), max({'hi2' if fpc2 else no_f}))",
    }
    parts = [_select(row_checks, "psu_totals")]
    df_where = "sum(nz_in) - count_if(nz_in > 0)" if where else "sum(nz) - count_if(nz > 0)"
    parts.append(
        _select(
            {
                "vary1": "min(CAST(_h AS VARCHAR)) FILTER (lo1 <> hi1)",
                "over1": "min(CAST(_h AS VARCHAR)) FILTER (hi1 < n_h)",
                "psus": "sum(n_h)",
                # R's degf(): PSUs with a nonzero weight minus the strata they are in,
                # for the whole design and for the subpopulation `where` keeps.
                "df": "sum(nz) - count_if(nz > 0)",
                "df_where": df_where,
            },
            "stratum_counts",
        )
    )
    if layout.second_stage:
        parts.append(
            _select(
                {
                    "vary2": "min(CAST(_p AS VARCHAR)) FILTER (lo2 <> hi2)",
                    "over2": "min(CAST(_p AS VARCHAR)) FILTER (hi2 < n2)",
                },
                "psu_counts",
            )
        )
    else:
        parts.append(f"(SELECT {nothing} AS chk_vary2, {nothing} AS chk_over2)")
    if layout.design.strata and layout.psu is not None:
        parts.append(
            "(SELECT min(CAST(_p AS VARCHAR)) AS chk_crossing FROM "
            "(SELECT _p FROM psu_counts GROUP BY _p HAVING count(*) > 1))"
        )
    else:
        parts.append(f"(SELECT {nothing} AS chk_crossing)")
    return "design_checks", "SELECT * FROM " + " CROSS JOIN ".join(parts)


def _select(columns: dict[str, str], relation: str) -> str:
    cols = ", ".join(f"{sql} AS {CHECK_PREFIX}{name}" for name, sql in columns.items())
    return f"(SELECT {cols} FROM {relation})"


def apply_checks(
    con: duckdb.DuckDBPyConnection, layout: DesignLayout, stats: dict[str, object]
) -> DesignLayout:
    """Raise on the first problem the check row shows; else the layout with its fpc scale.

    Invalid weights are only flagged by the estimation query; their counts, for the
    message, come from one more scan of the weights, on this error path alone.
    """
    d = layout.design
    get = {k.removeprefix(CHECK_PREFIX): v for k, v in stats.items()}
    psu1, psu2, fpc1, fpc2 = _name(d.psu, 0), _name(d.psu, 1), _name(d.fpc, 0), _name(d.fpc, -1)
    if not get["rows"]:
        raise SurveyDesignError(f"source {d.source!r} has no rows")
    if get["bad_w"]:
        get |= _weight_problems(con, layout)
    counts = [
        ("null_w", f"weights column {d.weights!r} has {{}} NULL values"),
        ("neg_w", f"weights column {d.weights!r} has {{}} negative values"),
        ("inf_w", f"weights column {d.weights!r} has {{}} non-finite values"),
        ("null_h", f"strata column {d.strata!r} has {{}} NULL values"),
        ("null_p", f"psu column {psu1} has {{}} NULL values"),
        ("null_s", f"psu column {psu2} has {{}} NULL values"),
        ("null_f1", f"fpc column {fpc1} has {{}} NULL values"),
        ("null_f2", f"fpc column {fpc2} has {{}} NULL values"),
    ]
    for key, message in counts:
        if get.get(key):
            raise SurveyDesignError(message.format(get[key]))
    fraction = None
    if layout.fpc1 is not None:
        low, high = float(get["min_f"]), float(get["max_f"])
        if low <= 0:
            raise SurveyDesignError(f"fpc columns {d.fpc} must be positive")
        if high > 1 and low < 1:
            raise SurveyDesignError(
                f"fpc columns {d.fpc} mix population sizes (>1) and sampling fractions (<1)"
            )
        fraction = high <= 1
    named = [
        (
            "crossing",
            f"psu {{}} of column {psu1} is in more than one stratum; PSU "
            "identifiers must be nested in strata (make them unique across strata)",
        ),
        ("vary1", f"fpc column {fpc1} varies within stratum {{}}"),
        ("vary2", f"fpc column {fpc2} varies within PSU {{}}"),
    ]
    if not fraction:
        named += [
            ("over1", f"fpc column {fpc1} implies more than 100% sampling in stratum {{}}"),
            ("over2", f"fpc column {fpc2} implies more than 100% sampling in PSU {{}}"),
        ]
    for key, message in named:
        if get[key] is not None:
            raise SurveyDesignError(message.format(repr(get[key])))
    if get["psus"] == 1:
        raise SurveyDesignError("design has only one primary sampling unit")
    return replace(layout, fpc_is_fraction=fraction)


def _weight_problems(con: duckdb.DuckDBPyConnection, layout: DesignLayout) -> dict[str, int]:
    """Counts of NULL, negative and non-finite weights, read from the source."""
    w = f"CAST({layout.weight} AS DOUBLE)"
    null_w, neg_w, inf_w = con.execute(
        f"SELECT count(*) - count({w}), count_if({w} < 0), count_if(NOT isfinite({w})) "
        f"FROM {layout.relation}"
    ).fetchall()[0]
    return {"null_w": null_w, "neg_w": neg_w, "inf_w": inf_w}


def _name(columns: tuple[str, ...], i: int) -> str:
    return repr(columns[i]) if -len(columns) <= i < len(columns) else "''"
