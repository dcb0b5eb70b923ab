"""Checks of the data against the declared design, evaluated inside the estimation query.

The checks (missing or negative weights, missing strata or PSUs, fpc that varies within a
stratum or implies more than 100% sampling, PSUs not nested in strata) and the design's
degrees of freedom come back as one extra row of the estimation query, with no separate
validation query over a large source. Python then raises the first problem found, naming
it, before any estimate is used: R's ``svydesign`` refuses the same designs.
"""

from __future__ import annotations

from dataclasses import replace

from indicators._survey_design import DesignLayout, SurveyDesignError

CHECK_PREFIX = "chk_"


def check_cte(layout: DesignLayout) -> tuple[str, str]:
    """The one-row CTE ``_chk``; it reads ``rows`` and the structure CTEs ``_S0``/``_P0``."""
    null = "CAST(NULL AS BIGINT)"
    nothing = "CAST(NULL AS VARCHAR)"
    fpc1 = "_f1" if layout.fpc1 is not None else "CAST(NULL AS DOUBLE)"
    fpc2 = "_f2" if layout.second_stage else "CAST(NULL AS DOUBLE)"
    row_checks = {
        "rows": "count(*)",
        "null_w": "count_if(_w IS NULL)",
        "neg_w": "count_if(_w < 0)",
        "inf_w": "count_if(NOT isfinite(_w))",
        "null_h": "count_if(_h IS NULL)",
        "null_p": "count_if(_p IS NULL)" if layout.psu is not None else null,
        "null_s": "count_if(_s IS NULL)" if layout.ssu is not None else null,
        "null_f1": f"count_if({fpc1} IS NULL)" if layout.fpc1 is not None else null,
        "null_f2": f"count_if({fpc2} IS NULL)" if layout.second_stage else null,
        "min_f": f"least(min({fpc1}), min({fpc2}))",
        "max_f": f"greatest(max({fpc1}), max({fpc2}))",
    }
    parts = [_select(row_checks, "rows")]
    parts.append(
        _select(
            {
                "vary1": "min(CAST(_h AS VARCHAR)) FILTER (lo1 <> hi1)",
                "over1": "min(CAST(_h AS VARCHAR)) FILTER (hi1 < n_h)",
                "psus": "sum(n_h)",
                # R's degf(): PSUs with a nonzero weight minus the strata they are in,
                # for the whole design and for the subpopulation `where` keeps.
                "df": "sum(nz) - count_if(nz > 0)",
                "df_where": "sum(nz_in) - count_if(nz_in > 0)",
            },
            "_S0",
        )
    )
    if layout.second_stage:
        parts.append(
            _select(
                {
                    "vary2": "min(CAST(_p AS VARCHAR)) FILTER (lo2 <> hi2)",
                    "over2": "min(CAST(_p AS VARCHAR)) FILTER (hi2 < n2)",
                },
                "_P0",
            )
        )
    else:
        parts.append(f"(SELECT {nothing} AS chk_vary2, {nothing} AS chk_over2)")
    if layout.design.strata and layout.psu is not None:
        parts.append(
            "(SELECT min(CAST(_p AS VARCHAR)) AS chk_crossing FROM "
            "(SELECT _p FROM _P0 GROUP BY _p HAVING count(*) > 1))"
        )
    else:
        parts.append(f"(SELECT {nothing} AS chk_crossing)")
    return "_chk", "SELECT * FROM " + " CROSS JOIN ".join(parts)


def _select(columns: dict[str, str], relation: str) -> str:
    cols = ", ".join(f"{sql} AS {CHECK_PREFIX}{name}" for name, sql in columns.items())
    return f"(SELECT {cols} FROM {relation})"


def apply_checks(layout: DesignLayout, stats: dict[str, object]) -> DesignLayout:
    """Raise on the first problem the check row shows; else the layout with its fpc scale."""
    d = layout.design
    get = {k.removeprefix(CHECK_PREFIX): v for k, v in stats.items()}
    psu1, psu2, fpc1, fpc2 = _name(d.psu, 0), _name(d.psu, 1), _name(d.fpc, 0), _name(d.fpc, -1)
    if not get["rows"]:
        raise SurveyDesignError(f"source {d.source!r} has no rows")
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
        if get[key]:
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


def _name(columns: tuple[str, ...], i: int) -> str:
    return repr(columns[i]) if -len(columns) <= i < len(columns) else "''"
