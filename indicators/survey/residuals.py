"""Linearised values of a calibrated design: residuals on the calibration variables, in SQL.

R's ``svyrecvar`` replaces the linearised values x of a calibrated design by
``qr.resid(qr(mm * whalf), x / w) * w`` (``w = g * whalf``, ``whalf`` the root of the design
weights d) before it sums them by sampling unit. Written out, a row's residual is

    e_i = w_i * (z_i - mm_i' beta),   beta = (sum_j d_j mm_j mm_j')^-1 sum_j d_j mm_j z_j,

with w_i the calibrated weight and z_i the row's value per unit of weight ((y - theta x) / B
for means and ratios, y for totals, 0 outside the domain). Every row of a calibration cell
has the same model-matrix row and factor g, so the sums over rows are sums over cells:
d_j z_j summed in a cell is (calibrated sum in the cell) / g. Each domain's unit total is
then its uncalibrated one minus sum over cells of (calibrated weight of the unit in the
cell) * gamma_dc, gamma_dc = mm_c' beta_d. Rows outside the domain get residuals too: as in
R, a calibrated design keeps every unit in every domain. For one-stage designs the variance
reads each stratum's sums of residuals and of their squares (``stratum_ctes``), so that a
small domain of a large calibration group costs its own units, not every unit of the group.
"""

from __future__ import annotations

from indicators.sql import quote_ident
from indicators.survey.cells import Linear, unit_columns
from indicators.survey.design import DesignLayout

CALIBRATED_VALUES = "calibrated_values"
CALIBRATED_STRATA = "calibrated_strata"
# Read by several CTEs: computed once (see ``query.with_body``).
CALIBRATION_ONCE = ("unit_cells", "calibration_gamma")


def calibrated_ctes(layout: DesignLayout, stat: Linear, keys: list[str], where: str | None,
                    only: str | None, domain: str) -> list[tuple[str, str]]:
    """CTEs after ``unit_values`` and ``domains``, the last ``calibrated_values``.

    ``calibrated_values`` has the columns of ``unit_values`` the variance and contrasts
    read: the domain keys and number, the units, ``z`` (now the residual total), every
    unit ``present`` (R keeps every row of a calibrated design in a domain, with weight 0
    outside it) and ``nz`` as before (degrees of freedom count the domain's own units).
    """
    cal = layout.design.calibration
    assert cal is not None
    cells, terms, inverse = (quote_ident(t) for t in (cal.cells, cal.terms, cal.inverse))
    k = ", ".join(keys)
    units = unit_columns(layout)
    u = ", ".join(units)
    inside = " AND ".join(c for c in ("_in" if where else "", f"({only})" if only else "") if c)
    key_cols = ", ".join(f"CASE WHEN {inside} THEN {c} END AS {c}" if inside else c
                         for c in keys)
    known = " AND ".join(f"{c} IS NOT NULL" for c in keys)
    # The domain's sum of d * z in a cell: the calibrated sum divided by the cell's g.
    share = ("s.a" if stat.kind == "total" else "(s.a - d.theta * s.bx) / d.b")
    # A source repeating its respondents counts each once in the units' calibrated weights.
    once = " WHERE _once" if cal.once_column is not None else ""
    return [
        ("calibration_sums",
         f"SELECT * FROM (SELECT {key_cols}, _c, sum(_v * _y) AS a, sum(_v * _x) AS bx "
         f"FROM respondents GROUP BY ALL) WHERE {known}"),
        ("calibration_fit",
         f"SELECT d.{domain}, t._k, sum({share} / c.g) AS r FROM calibration_sums AS s "
         f"JOIN domains AS d USING ({k}) JOIN {cells} AS c USING (_c) "
         f"JOIN {terms} AS t USING (_c) GROUP BY ALL"),
        ("calibration_beta",
         f"SELECT f.{domain}, i._k, sum(i.v * f.r) AS beta FROM calibration_fit AS f "
         f"JOIN {inverse} AS i ON i._k2 = f._k GROUP BY ALL"),
        ("calibration_gamma",
         f"SELECT b.{domain}, t._c, sum(b.beta) AS gamma FROM calibration_beta AS b "
         f"JOIN {terms} AS t USING (_k) GROUP BY ALL"),
        ("unit_cells", f"SELECT {u}, _c, sum(_w) AS wc FROM respondents{once} GROUP BY ALL"),
        ("unit_adjustments",
         f"SELECT g.{domain}, {', '.join(f'w.{c}' for c in units)}, "
         f"sum(w.wc * g.gamma) AS adj FROM unit_cells AS w "
         f"JOIN calibration_gamma AS g USING (_c) GROUP BY ALL"),
        (CALIBRATED_VALUES,
         f"SELECT {', '.join(f'd.{c}' for c in keys)}, {domain}, {u}, "
         f"coalesce(v.z, 0.0) - coalesce(a.adj, 0.0) AS z, TRUE AS present, "
         f"coalesce(v.nz, FALSE) AS nz "
         f"FROM (SELECT {domain}, {u}, z, nz FROM unit_values) AS v "
         f"FULL JOIN unit_adjustments AS a USING ({domain}, {u}) "
         f"JOIN domains AS d USING ({domain})"),
    ]


def stratum_ctes(layout: DesignLayout, domain: str) -> list[tuple[str, str]]:
    """CTEs ending in ``calibrated_strata``: each domain's residual totals per stratum,
    for one-stage designs, without a row per unit outside the domain.

    A unit outside the domain has the residual -a_p, a_p = sum over cells of its calibrated
    weight in the cell times gamma_dc: over a stratum, sum(a_p) is gamma' W_h and sum(a_p^2)
    the quadratic form gamma' G_h gamma, W_h and G_h = sum_p W_p W_p' summed over the
    stratum's units once for all domains. So the sum and the sum of squares of the
    residuals over all n_h units come from the domain's own units and these forms:
    ``m`` = n_h (every unit is in a calibrated domain) and ``q`` their sum of squares about
    the stratum mean, what ``variance_ctes`` reads from ``stratum_totals``.
    """
    pair = "_h, _p"
    return [
        ("stratum_cells", "SELECT _h, _c, sum(wc) AS w FROM unit_cells GROUP BY ALL"),
        # G_h is symmetric: its upper triangle, the terms off the diagonal counted twice.
        ("stratum_pairs",
         f"SELECT a._h, a._c, b._c AS _c2, "
         f"sum(a.wc * b.wc) * CASE WHEN a._c = b._c THEN 1.0 ELSE 2.0 END AS g "
         f"FROM unit_cells AS a JOIN unit_cells AS b USING ({pair}) WHERE a._c <= b._c "
         f"GROUP BY a._h, a._c, b._c"),
        ("stratum_quadratic",
         f"SELECT g1.{domain}, p._h, sum(g1.gamma * p.g * g2.gamma) AS aa "
         f"FROM calibration_gamma AS g1 JOIN stratum_pairs AS p ON p._c = g1._c "
         f"JOIN calibration_gamma AS g2 ON g2.{domain} = g1.{domain} AND g2._c = p._c2 "
         f"GROUP BY ALL"),
        ("stratum_linear",
         f"SELECT g.{domain}, s._h, sum(g.gamma * s.w) AS aw FROM calibration_gamma AS g "
         f"JOIN stratum_cells AS s USING (_c) GROUP BY ALL"),
        ("stratum_cross",
         f"SELECT v.{domain}, v._h, sum(v.z * u.wc * g.gamma) AS za FROM unit_values AS v "
         f"JOIN unit_cells AS u USING ({pair}) JOIN calibration_gamma AS g "
         f"ON g.{domain} = v.{domain} AND g._c = u._c GROUP BY ALL"),
        ("stratum_own",
         f"SELECT {domain}, _h, sum(z) AS zs, sum(z * z) AS zz, count_if(nz) AS psus_nz, "
         f"bool_or(nz) AS nz FROM unit_values GROUP BY ALL"),
        (CALIBRATED_STRATA,
         f"SELECT {domain}, _h, zt, n_h AS m, greatest(ss - zt * zt / n_h, 0.0) AS q, "
         f"psus_nz, 0.0 AS v2, CAST(NULL AS VARCHAR) AS lonely2 FROM ("
         f"SELECT {domain}, _h, strata.n_h, coalesce(o.zs, 0.0) - coalesce(l.aw, 0.0) AS zt, "
         f"coalesce(o.zz, 0.0) - 2 * coalesce(c.za, 0.0) + coalesce(q.aa, 0.0) AS ss, "
         f"coalesce(o.psus_nz, 0) AS psus_nz "
         f"FROM stratum_own AS o FULL JOIN stratum_linear AS l USING ({domain}, _h) "
         f"FULL JOIN stratum_quadratic AS q USING ({domain}, _h) "
         f"FULL JOIN stratum_cross AS c USING ({domain}, _h) JOIN strata USING (_h))"),
    ]
