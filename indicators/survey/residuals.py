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
R, a calibrated design keeps every unit in every domain.
"""

from __future__ import annotations

from indicators.sql import quote_ident
from indicators.survey.cells import Linear, unit_columns
from indicators.survey.design import DesignLayout

CALIBRATED_VALUES = "calibrated_values"


def calibrated_ctes(layout: DesignLayout, stat: Linear, keys: list[str], where: str | None,
                    only: str | None, domain: str) -> list[tuple[str, str]]:
    """CTEs after ``unit_values`` and ``domains`` ending in ``calibrated_values``.

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
