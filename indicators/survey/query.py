"""SQL for per-domain linear statistics (totals, means, ratios) and their variances.

Every statistic here is a function of weighted sums, A = sum(w*y) and B = sum(w*x). The
rows are read once, into the per-(domain, unit) cells of ``_survey_aggregate``; the
domain sums, theta = A/B, and the linearised total of each sampling unit all come from
those cells: R's svymean gives each row w*(y - theta*x)/B (w*y for totals), whose sum
over a PSU is exactly (A_pd - theta_d*B_pd)/B_d. Only a design without clusters, where
every row is its own unit, needs each row's value and reads the rows a second time. Only
one row per domain (and the check row) comes back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from indicators.survey.cells import (
    INSIDE,
    Linear,
    aggregate_cte,
    domain_keys,
    implied_factor,
    rows_cte,
    structure_ctes,
    unit_columns,
    weighted_cte,
)
from indicators.survey.checks import check_cte
from indicators.survey.covariance import Pairs, pair_ctes, supported
from indicators.survey.design import DesignLayout
from indicators.survey.residuals import (
    CALIBRATED_STRATA,
    CALIBRATED_VALUES,
    CALIBRATION_ONCE,
    calibrated_ctes,
    stratum_ctes,
)
from indicators.survey.variance import variance_ctes

# The number of a domain within one query (see ``domain_query``).
DOMAIN = "_domain"

__all__ = ["Contrast", "Linear", "Pairs", "domain_keys", "domain_query", "unit_columns",
           "with_body"]


@dataclass(frozen=True)
class Contrast:
    """first - second of two domains, each a SQL filter on the domain keys.

    Its variance comes back as columns ``_cvar``, ``_clonely1`` and ``_clonely2`` of the
    check row, from the same scan as the domains' own estimates.
    """

    first: str
    second: str


def domain_query(
    layout: DesignLayout,
    stat: Linear,
    by: list[str],
    where: str | None,
    only: str | None = None,
    contrast: Contrast | None = None,
    pairs: Pairs | None = None,
) -> str:
    """The check row, then one row per domain: sums, ``theta``, ``var`` and ``df``.

    ``only`` is an optional SQL filter on the domain keys that narrows which domains are
    computed without changing the design (used to compare two domains cheaply). With
    ``pairs``, each domain also has its number ``_id`` and ``_pairs``: the covariance with
    each domain it is paired with (``indicators.survey.covariance``).
    """
    keys = domain_keys(by)
    k = ", ".join(keys)
    where_in = bool(where)
    ctes: list[tuple[str, str]] = [("respondents", rows_cte(layout, stat, by, where))]
    ctes.append(("psu_totals", aggregate_cte(layout, stat, keys, where, only)))
    ctes += structure_ctes(layout, where_in)
    ctes.append(check_cte(layout, where_in))
    weighted = weighted_cte(layout, stat)
    if weighted is not None:
        ctes.append(weighted)
    cells = "psu_totals" if weighted is None else weighted[0]
    ratio = stat.ratio
    sums = [f"sum({n}) AS {n}" for n in stat.sums()]
    counts = ["n_ok", "n_all", "nnz_ok", "nnz_all"]
    sums += [f"CAST(sum({n}) AS BIGINT) AS {n}" for n in counts]
    if ratio:
        sums.append("CAST(sum(n_all - n_y) AS BIGINT) AS null_y")
        sums.append("CAST(sum(n_all - n_x) AS BIGINT) AS null_x")
    else:
        sums.append("CAST(sum(n_all - n_ok) AS BIGINT) AS null_y")
    same = "" if ratio else "ws AS b, a AS cxy, ws AS cxx, 0 AS null_x, "
    if stat.binary:
        same += "a AS cyy, "
    theta = {"total": "a", "mean": "a / ws", "ratio": "a / b"}[stat.kind]
    known = " AND ".join(f"{c} IS NOT NULL" for c in keys)
    # Each domain is numbered once: the variance groups and joins on that one integer,
    # not on the domain keys.
    ctes.append(
        (
            "domains",
            f"SELECT *, {same}{theta} AS theta, row_number() OVER () AS {DOMAIN} FROM "
            f"(SELECT {k}, {', '.join(sums)} FROM {cells} WHERE {known} GROUP BY ALL)",
        )
    )
    ctes.append(("unit_values", _unit_values(layout, stat, keys, where, only, cells)))
    values, strata = "unit_values", None
    if layout.design.calibration is not None:
        calibrated = calibrated_ctes(layout, stat, keys, where, only, DOMAIN)
        if layout.ssu is None:
            # One stage: per-stratum sums, no row per unit outside each domain; the
            # residual of every unit is still needed for a contrast or pairs.
            ctes += calibrated if contrast is not None or pairs is not None else calibrated[:-1]
            ctes += stratum_ctes(layout, DOMAIN)
            strata = CALIBRATED_STRATA
        else:
            ctes += calibrated
        values = CALIBRATED_VALUES
    var = variance_ctes(layout, values, [DOMAIN], stratum_totals=strata)
    ctes += var.ctes
    contrast_cols = ""
    if contrast is not None:
        ctes.append(("contrast_values",
                     _contrast_values(layout, stat, keys, contrast, where_in, values)))
        cvar = variance_ctes(layout, "contrast_values", ["_c"], prefix="contrast_variance")
        ctes += cvar.ctes
        contrast_cols = (
            f" LEFT JOIN (SELECT var AS _cvar, lonely1 AS _clonely1, lonely2 AS _clonely2 "
            f"FROM {cvar.relation}) ON TRUE"
        )
    paired = ""
    if pairs is not None and supported(layout):
        ctes += pair_ctes(layout, pairs, values)
        paired = (
            f", domains.{DOMAIN} AS _id, _pl._pairs FROM domains LEFT JOIN (SELECT p._a AS "
            f"{DOMAIN}, list(struct_pack(other := p._b, cov := coalesce(c.cov, 0.0), "
            "shared_psus := coalesce(c.shared_psus, 0), "
            "shared_strata := coalesce(c.shared_strata, 0)) ORDER BY p._b) AS _pairs "
            "FROM pair_list p LEFT JOIN pair_covariances c ON c._d1 = p._a AND c._d2 = p._b "
            f"GROUP BY p._a) AS _pl USING ({DOMAIN})"
        )
    ddf = f"(SELECT {'chk_df_where' if where else 'chk_df'} FROM design_checks)"
    body = with_body(ctes)
    v = var.relation
    # The check row always comes back, with or without domains: it is validated first.
    return (
        f"WITH {body}\n"
        f"SELECT * FROM design_checks{contrast_cols} LEFT JOIN (SELECT domains.* "
        f"EXCLUDE ({DOMAIN}), {v}.var, "
        f"CAST({v}.df AS DOUBLE) AS df_dom, {v}.lonely1, {v}.lonely2, "
        f"CAST({ddf} AS DOUBLE) AS ddf, TRUE AS _found "
        f"{paired or 'FROM domains'} JOIN {v} USING ({DOMAIN}) WHERE domains.nnz_all > 0) ON TRUE "
        f"ORDER BY {k}"
    )


def _unit_values(
    layout: DesignLayout,
    stat: Linear,
    keys: list[str],
    where: str | None,
    only: str | None,
    cells: str,
) -> str:
    """``_z``: each domain's linearised total per sampling unit, as R's svymean.

    With clusters, from the cells: (A - theta*B)/B_d (A for totals), ``present`` when the
    unit has rows of the domain with the statistic's values, ``nz`` when it has a domain
    row of nonzero weight. Without clusters every row of the domain is a unit.
    """
    units = unit_columns(layout)
    k = ", ".join(keys)
    if layout.psu is not None:
        c = cells
        z = (f"{c}.a" if stat.kind == "total"
             else f"({c}.a - domains.theta * {c}.{stat.b}) / domains.b")
        cols = ", ".join([*(f"{c}.{key}" for key in keys), f"domains.{DOMAIN}", *units])
        return (
            f"SELECT {cols}, {z} AS z, {c}.n_ok > 0 AS present, {c}.nnz_all > 0 AS nz "
            f"FROM {c} JOIN domains USING ({k})"
        )
    source, weight = _weighted_rows(layout)
    ok = stat.ok
    z = (f"{weight} * _y" if stat.kind == "total"
         else f"{weight} * (_y - domains.theta * _x) / domains.b")
    inside = " AND ".join(c for c in ("_in" if where else "", f"({only})" if only else "") if c)
    filt = f" WHERE {inside}" if inside else ""
    cols = ", ".join([*(f"respondents.{c}" for c in keys + units), f"domains.{DOMAIN}"])
    return (
        f"SELECT {cols}, CASE WHEN {ok} THEN {z} ELSE 0.0 END AS z, "
        f"{ok} AS present, {weight} <> 0 AS nz FROM {source} JOIN domains USING ({k}){filt}"
    )


def _weighted_rows(layout: DesignLayout) -> tuple[str, str]:
    """The rows, joined to their fpc-implied weight factor if the design has no weights."""
    if not layout.implied_weights:
        return "respondents", "_w"
    relation, keys, factor = implied_factor(layout)
    return f"respondents JOIN {relation} USING ({keys})", f"(_w * {relation}.{factor})"


def _contrast_values(
    layout: DesignLayout, stat: Linear, keys: list[str], contrast: Contrast, where: bool,
    values: str = "unit_values",
) -> str:
    """``_cz``: the linearised difference per unit, over every unit of the subset design.

    As svyby(covmat=TRUE): each domain's influence is zero outside it, and the variance
    is taken over the whole design after ``where``, all of whose units are present.
    """
    units = unit_columns(layout)
    u = ", ".join(units)
    sign = f"CASE WHEN {contrast.first} THEN 1.0 WHEN {contrast.second} THEN -1.0 ELSE 0.0 END"
    if layout.psu is not None:
        inside = f" WHERE in_flags & {INSIDE} > 0" if where else ""
        every = f"SELECT DISTINCT {u} FROM psu_totals{inside}"
        return (
            f"SELECT 0 AS _c, {u}, coalesce(_t.z, 0.0) AS z, TRUE AS present, TRUE AS nz "
            f"FROM ({every}) LEFT JOIN (SELECT {u}, sum({sign} * z) AS z FROM {values} "
            f"GROUP BY {u}) AS _t USING ({u})"
        )
    source, weight = _weighted_rows(layout)
    ok = stat.ok
    z = (f"{weight} * _y" if stat.kind == "total"
         else f"{weight} * (_y - domains.theta * _x) / domains.b")
    cols = ", ".join(f"respondents.{c}" for c in units)
    return (
        f"SELECT 0 AS _c, {cols}, CASE WHEN domains.theta IS NOT NULL AND {ok} "
        f"THEN {sign} * {z} ELSE 0.0 END AS z, TRUE AS present, TRUE AS nz "
        f"FROM {source} LEFT JOIN domains USING ({', '.join(keys)}) WHERE _in"
    )


# Relations over every row, read by one consumer each (the aggregate, and without
# clusters the pass that gives each row its linearised value): never buffered. The
# aggregate ``psu_totals`` is read by several and is small: computed once; so are the
# domains, whose numbers must be the same wherever they are read, and a calibrated
# design's units by cell and domains' gammas, each read by several.
_INLINE = ("respondents",)
_ONCE = ("psu_totals", "domains", *CALIBRATION_ONCE)


def with_body(ctes: list[tuple[str, str]]) -> str:
    """The WITH list of ``ctes``: rows inlined, the aggregate materialised."""

    def hint(name: str) -> str:
        if name in _INLINE:
            return "NOT MATERIALIZED "
        return "MATERIALIZED " if name in _ONCE else ""

    return ",\n".join(f"{name} AS {hint(name)}({sql})" for name, sql in ctes)
