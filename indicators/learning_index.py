"""The learning-city index: the catalogue's indicators → action domains → one index, per commune.

Built from ``indicator_values`` (breakdown 'total', communes) with the composite engine, then
put through a Monte Carlo analysis that varies the method choices and draws every survey
estimate from its sampling distribution, so that each commune's rank comes with an interval.
Results go to four warehouse tables (``composite_scores``, ``composite_ranks``,
``composite_sensitivity``, ``composite_log``), replaced year by year.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from indicators.catalogue.definitions import Catalogue
from indicators.composite.build import LogEntry
from indicators.composite.data import CompositeData, SamplingError
from indicators.composite.hierarchy import CompositeError, Hierarchy, Node
from indicators.composite.specification import (
    Aggregate,
    CompositeSpec,
    Impute,
    MinMax,
    Rank,
    Uncertainty,
)
from indicators.composite.uncertainty import UncertaintyResult, analyse_uncertainty

INDEX_CODE = "INDEX"
USABLE_STATUSES = ("ok", "low_reliability")

_DDL = """
CREATE TABLE IF NOT EXISTS composite_scores (territory_code VARCHAR, year INTEGER,
  node VARCHAR, level INTEGER, score DOUBLE, imputed BOOLEAN);
CREATE TABLE IF NOT EXISTS composite_ranks (territory_code VARCHAR, year INTEGER, rank INTEGER,
  median_rank DOUBLE, rank_p05 DOUBLE, rank_p95 DOUBLE);
CREATE TABLE IF NOT EXISTS composite_sensitivity (year INTEGER, choice VARCHAR,
  first_order_index DOUBLE, total_order_index DOUBLE);
CREATE TABLE IF NOT EXISTS composite_log (year INTEGER, position INTEGER, step VARCHAR,
  choice VARCHAR, effect VARCHAR);
"""


def base_level(con: duckdb.DuckDBPyConnection) -> str:
    """The level the index ranks: the project's base unit (communes by default)."""
    found = con.execute("SELECT level FROM territory_levels WHERE base").fetchall()
    return found[0][0] if found else "COM"


def default_uncertainty(draws: int = 500, seed: int = 2024, sampling: bool = True
                        ) -> Uncertainty:
    """What the annual index varies by default.

    Normalisation: min-max onto [1, 100] or ranks; aggregation: arithmetic or geometric mean
    (both normalisations keep values positive, so the geometric mean is defined); imputation:
    none or the indicator's mean; every weight within ±25 % (COINr's example); and, with
    ``sampling``, every survey estimate drawn from its sampling distribution.
    """
    return Uncertainty(
        normalise=(MinMax(lower=1, upper=100), Rank()),
        aggregate=(Aggregate(method="amean"), Aggregate(method="gmean")),
        impute=(Impute(method="none"), Impute(method="mean")),
        weight_noise=0.25,
        sampling=sampling,
        draws=draws,
        seed=seed,
    )


def compute_learning_city_index(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    year: int,
    *,
    draws: int = 500,
    seed: int = 2024,
    spec: CompositeSpec | None = None,
    uncertainty: Uncertainty | None = None,
) -> None:
    """Compute the learning-city index of ``year`` and write its four warehouse tables.

    Defaults: equal weights within each domain and across domains, directions from the
    catalogue (context indicators left out), min-max onto 0–100, arithmetic mean, no
    imputation (a missing indicator's weight goes to its domain siblings); ``draws`` and
    ``seed`` set the Monte Carlo analysis of ``default_uncertainty``, which draws survey
    values from their sampling distributions whenever some value of the year has a standard
    error (the ``selection`` entry of the log counts them).
    """
    data, selection = learning_city_data(con, catalogue, year)
    if uncertainty is None:  # sampling error is drawn when some value has one (logged)
        uncertainty = default_uncertainty(draws, seed,
                                          sampling=selection.effect["values_with_se"] > 0)
    result = analyse_uncertainty(data, spec or CompositeSpec(), uncertainty)
    _write(con, year, result, [selection, *result.nominal.log, result.log])


def learning_city_data(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                       year: int) -> tuple[CompositeData, LogEntry]:
    """The communes' indicator values of ``year`` as composite data, and how they were chosen.

    Suppressed and missing cells are missing values. Context indicators are left out of the
    index, and so is an indicator no commune has a value for, or with one value everywhere
    (its scale cannot be normalised); a domain left empty is left out too. All are logged.
    """
    rows = con.execute(
        """
        SELECT indicator_id, territory_code, year,
               CASE WHEN list_contains($usable, status) THEN value END AS value,
               CASE WHEN list_contains($usable, status) THEN se END AS se
        FROM indicator_values
        WHERE breakdown = 'total' AND territory_level = $level AND year IN ($year, $year - 1)
        ORDER BY territory_code, indicator_id, year
        """,
        {"usable": list(USABLE_STATUSES), "level": base_level(con), "year": year},
    ).df()
    current = rows[rows["year"] == year]
    if current["territory_code"].nunique() < 2:
        raise CompositeError(f"the learning-city index needs at least two communes with "
                             f"indicator values in {year}")
    values = _wide(current, "value")
    context = [i.id for i in catalogue if i.direction == "context"]
    candidates = [i for i in catalogue if i.direction != "context"]
    flat = {}
    for indicator in candidates:
        column = values.get(indicator.id, pd.Series(dtype=float)).dropna()
        if column.nunique() < 2:
            flat[indicator.id] = "no value" if column.empty else "same value in every commune"
    kept = [i for i in candidates if i.id not in flat]
    hierarchy, empty_domains = _hierarchy(catalogue, kept)
    codes = list(hierarchy.indicators)
    values = values.reindex(columns=codes)
    previous = _wide(rows[rows["year"] == year - 1], "value")
    se = _wide(current, "se").reindex(index=values.index, columns=codes)
    logit = frozenset(i.id for i in kept if i.kind == "survey_proportion")
    data = CompositeData(
        hierarchy=hierarchy,
        values=values,
        previous=previous.reindex(index=values.index, columns=codes) if len(previous) else None,
        sampling=SamplingError(se=se, logit=logit),
    )
    selection = LogEntry(
        step="selection",
        choice={"table": "indicator_values", "year": year, "territory_level": base_level(con),
                "breakdown": "total", "usable_statuses": list(USABLE_STATUSES),
                "hierarchy": "indicators → domains (catalogue order) → INDEX, equal weights",
                "directions": "from the catalogue"},
        effect={"communes": len(values), "values_with_se": int((se > 0).sum().sum()),
                "excluded_context": context,
                "excluded_indicators": dict(sorted(flat.items())),
                "excluded_domains": empty_domains},
    )
    return data, selection


def _wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    wide = rows.pivot(index="territory_code", columns="indicator_id", values=column)
    wide.index = wide.index.astype(str)
    wide.columns = wide.columns.astype(str)
    return wide.astype(float).sort_index()


def _hierarchy(catalogue: Catalogue, kept: list) -> tuple[Hierarchy, list[str]]:
    nodes: list[Node] = []
    empty: list[str] = []
    for domain in catalogue.domains:
        mine = [i for i in kept if i.domain == domain.code]
        if not mine:
            empty.append(domain.code)
            continue
        nodes += [Node(code=i.id, level=1, parent=domain.code, weight=1.0,
                       direction=1 if i.direction == "higher_is_better" else -1,
                       name=i.label.en, target=i.target.value if i.target else None)
                  for i in mine]
        nodes.append(Node(code=domain.code, level=2, parent=INDEX_CODE, name=domain.label.en))
    nodes.append(Node(code=INDEX_CODE, level=3, parent=None, name="Learning-city index"))
    return Hierarchy(tuple(nodes)), empty


def _write(con: duckdb.DuckDBPyConnection, year: int, result: UncertaintyResult,
           log: list[LogEntry]) -> None:
    """Replace the year's rows of the four tables in one transaction."""
    nominal = result.nominal
    levels = {code: nominal.hierarchy.node(code).level for code in nominal.scores().columns}
    scores = nominal.scores().rename_axis("territory_code").reset_index().melt(
        id_vars="territory_code", var_name="node", value_name="score")
    imputed = nominal.imputed.rename_axis("territory_code").reset_index().melt(
        id_vars="territory_code", var_name="node", value_name="imputed")
    scores = scores.merge(imputed, how="left", on=["territory_code", "node"])
    scores["imputed"] = scores["imputed"].fillna(False).astype(bool)
    scores["year"] = year
    scores["level"] = scores["node"].map(levels)
    scores = scores[["territory_code", "year", "node", "level", "score", "imputed"]]
    ranks = result.ranks.rename_axis("territory_code").reset_index()
    ranks["year"] = year
    ranks["rank"] = ranks["rank"].astype("Int64")
    ranks = ranks[["territory_code", "year", "rank", "median_rank", "rank_p05", "rank_p95"]]
    sensitivity = (result.sensitivity if result.sensitivity is not None else pd.DataFrame(
        columns=["choice", "first_order_index", "total_order_index"])).copy()
    sensitivity.insert(0, "year", year)
    entries = pd.DataFrame([{"year": year, "position": n, "step": e.step,
                             "choice": e.choice_json(), "effect": e.effect_json()}
                            for n, e in enumerate(log, start=1)])
    tables = {"composite_scores": scores.sort_values(["territory_code", "level", "node"]),
              "composite_ranks": ranks.sort_values("territory_code"),
              "composite_sensitivity": sensitivity,
              "composite_log": entries}
    con.execute(_DDL)
    con.begin()
    try:
        for name, frame in tables.items():
            con.execute(f"DELETE FROM {name} WHERE year = ?", [year])
            con.register("_composite_rows", frame.replace({np.nan: None}))
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _composite_rows")
            con.unregister("_composite_rows")
        con.commit()
    except BaseException:
        con.rollback()
        raise
