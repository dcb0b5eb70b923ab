"""SQL for per-domain linear statistics (totals, means, ratios) and their variances.

Every statistic here is a function of weighted sums, A = sum(w*y) and B = sum(w*x): one
pass over the rows aggregates them per domain (a few thousand groups, not millions); a
second gives each row its linearised value w*(y - theta*x)/B (w*y for totals), as R's
svymean does, and sums it per sampling unit for the variance CTEs. Only one row per
domain comes back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from indicators._survey_checks import check_cte
from indicators._survey_design import DesignLayout
from indicators._survey_variance import variance_ctes

Kind = Literal["total", "mean", "ratio"]


@dataclass(frozen=True)
class Linear:
    """A linear statistic: ``total`` of y, ``mean`` of y, or ``ratio`` of y to x.

    ``y`` and ``x`` are SQL expressions castable to DOUBLE (``x`` is 1 for totals and
    means); a NULL in either marks the row as missing for this statistic.
    """

    kind: Kind
    y: str
    x: str = "1.0"


def rows_cte(layout: DesignLayout, stat: Linear, by: list[str], where: str | None) -> str:
    """All rows of the source with standard column names: design, domain, filter, values.

    ``_in`` is the subpopulation filter (NULL counts as outside, as R's subset()); the
    design columns stay for every row because strata and PSU counts use the full design.
    """
    cols = layout.row_columns()
    domains = by or ["0"]
    cols += [f"{d} AS _d{i}" for i, d in enumerate(domains)]
    cols.append(f"coalesce(CAST({where} AS BOOLEAN), FALSE) AS _in" if where else "TRUE AS _in")
    cols.append(f"CAST({stat.y} AS DOUBLE) AS _y")
    cols.append(f"CAST({stat.x} AS DOUBLE) AS _x")
    return f"SELECT {', '.join(cols)} FROM {layout.relation}"


def domain_keys(by: list[str]) -> list[str]:
    return [f"_d{i}" for i in range(max(1, len(by)))]


def unit_columns(layout: DesignLayout) -> list[str]:
    """Columns naming the finest sampling unit the variance needs."""
    cols = ["_h"]
    if layout.psu is not None:
        cols.append("_p")
    if layout.ssu is not None:
        cols.append("_s")
    return cols


def domain_query(
    layout: DesignLayout,
    stat: Linear,
    by: list[str],
    where: str | None,
    only: str | None = None,
) -> str:
    """The check row, then one row per domain: sums, ``theta``, ``var`` and ``df``.

    ``only`` is an optional SQL filter on the domain keys that narrows which domains are
    computed without changing the design (used to compare two domains cheaply).
    """
    keys = domain_keys(by)
    k = ", ".join(keys)
    units = unit_columns(layout)
    ctes: list[tuple[str, str]] = [("rows", rows_cte(layout, stat, by, where))]
    ctes += layout.structure_ctes()
    ctes.append(check_cte(layout))
    domain_filter = " AND ".join(["_in", *(f"{c} IS NOT NULL" for c in keys)])
    if only:
        domain_filter += f" AND ({only})"
    ctes.append(("_r", _domain_rows(layout, keys, units, domain_filter)))
    ratio = stat.kind == "ratio"
    ok = "_y IS NOT NULL AND _x IS NOT NULL" if ratio else "_y IS NOT NULL"
    # With x = 1 (totals, means) the x sums repeat others: fewer aggregates over the rows.
    wanted = SUMS if ratio else {n: SUMS[n] for n in ("a", "ws", "cyy")}
    sums = [f"coalesce(sum({e}) FILTER ({ok}), 0) AS {n}" for n, e in wanted.items()]
    counts = [
        f"count(*) FILTER ({e.replace(_OK, ok)}) AS {n}"
        for n, e in COUNTS.items()
        if ratio or n != "null_x"
    ]
    same = "" if ratio else "ws AS b, a AS cxy, ws AS cxx, 0 AS null_x, "
    theta = {"total": "a", "mean": "a / ws", "ratio": "a / b"}[stat.kind]
    ctes.append(
        (
            "_d",
            f"SELECT *, {same}{theta} AS theta FROM "
            f"(SELECT {k}, {', '.join(sums + counts)} FROM _r GROUP BY ALL)",
        )
    )
    # Linearised values per row, as R's svymean: w * (y - theta * x) / B (w * y for totals),
    # summed per sampling unit; rows are the units of a design without clusters.
    zrow = "_w * _y" if stat.kind == "total" else "_w * (_y - _d.theta * _x) / _d.b"
    zrow = f"CASE WHEN {ok} THEN {zrow} ELSE 0.0 END"
    unit_cols = ", ".join(f"_r.{c}" for c in keys + units)
    if layout.psu is not None:
        z_sql = (
            f"SELECT {unit_cols}, sum({zrow}) AS z, bool_or({ok}) AS present, "
            f"bool_or(_w <> 0) AS nz FROM _r JOIN _d USING ({k}) GROUP BY ALL"
        )
    else:
        z_sql = (
            f"SELECT {unit_cols}, {zrow} AS z, {ok} AS present, _w <> 0 AS nz "
            f"FROM _r JOIN _d USING ({k})"
        )
    ctes.append(("_z", z_sql))
    var = variance_ctes(layout, "_z", keys)
    ctes += var.ctes
    ddf = "(SELECT chk_df_where FROM _chk)" if where else "(SELECT chk_df FROM _chk)"
    body = with_body(ctes)
    v = var.relation
    # The check row always comes back, with or without domains: it is validated first.
    return (
        f"WITH {body}\n"
        f"SELECT * FROM _chk LEFT JOIN (SELECT _d.*, {v}.var, {v}.df AS df_dom, "
        f"{v}.lonely1, {v}.lonely2, {ddf} AS ddf, TRUE AS _found "
        f"FROM _d JOIN {v} USING ({k}) WHERE _d.nnz_all > 0) ON TRUE ORDER BY {k}"
    )


# Weighted sums per domain: statistic and deff (see _survey_estimate), and row counts.
SUMS = {
    "a": "_w * _y",
    "b": "_w * _x",
    "ws": "_w",
    "cyy": "_w * _y * _y",
    "cxy": "_w * _x * _y",
    "cxx": "_w * _x * _x",
}
_OK = "_y IS NOT NULL AND _x IS NOT NULL"
COUNTS = {
    "n_ok": _OK,
    "n_all": "TRUE",
    "nnz_ok": f"{_OK} AND _w <> 0",
    "nnz_all": "_w <> 0",
    "null_y": "_y IS NULL",
    "null_x": "_x IS NULL",
}


def _domain_rows(layout: DesignLayout, keys: list[str], units: list[str], where: str) -> str:
    """The rows of the domains with their final weight (implied by the fpc if need be)."""
    cols = ", ".join(f"rows.{c}" for c in keys + units)
    if not layout.implied_weights:
        return f"SELECT {cols}, _w, _y, _x FROM rows WHERE {where}"
    dj = layout.unit_design()
    return (
        f"SELECT {cols}, _w * {dj.relation}.{dj.weight_factor} AS _w, _y, _x "
        f"FROM rows JOIN {dj.relation} USING ({', '.join(dj.keys)}) WHERE {where}"
    )


# Relations over every row: re-reading the source is cheaper than buffering it for the
# several consumers DuckDB would otherwise feed from one materialised copy.
_INLINE = ("rows", "_r", "_zr")


def with_body(ctes: list[tuple[str, str]]) -> str:
    """The WITH list of ``ctes``, the row-level ones marked NOT MATERIALIZED."""
    return ",\n".join(
        f"{name} AS {'NOT MATERIALIZED ' if name in _INLINE else ''}({sql})" for name, sql in ctes
    )
