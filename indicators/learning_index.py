"""The learning-city index: the catalogue's indicators → action domains → one index, per commune.

Built from ``indicator_values`` (breakdown 'total', communes) with the composite engine, then
put through a Monte Carlo analysis that varies the method choices and draws every survey
estimate from its sampling distribution, so that each commune's rank comes with an interval.
Results go to four warehouse tables (``composite_scores``, ``composite_ranks``,
``composite_sensitivity``, ``composite_log``), replaced year by year.

The index is built only from data that can carry it, screened as COINr screens (``Screen()``
with ``unit_screen = "byNA"``: a unit is kept when the share of indicators it has a value for
is at least ``dat_thresh``), plus a domain rule: a domain enters only when enough of its
indicators have values. When fewer than two communes, fewer than two indicators or no domain
remain, no index is built: ``composite_log`` holds one ``not_built`` entry saying why (the
report says it in one sentence) and ``IndexNotBuilt`` is raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

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
from indicators.sql import quote_ident

INDEX_CODE = "INDEX"
USABLE_STATUSES = ("ok", "low_reliability")
MIN_INDICATORS = 2
"""Fewest indicators an index is built from: with one, the "index" only re-ranks that
indicator, and its rank intervals would vary nothing but the method (e.g. "1–1")."""


@dataclass(frozen=True)
class Screening:
    """How much data a commune and a domain need to enter the index (shares of indicators).

    ``min_unit_share``: a commune is kept when it has values for at least this share of the
    index's indicators (COINr ``Screen(unit_screen = "byNA", dat_thresh)``, whose default is
    2/3; 0.5 here, so that a commune the survey missed is still ranked on the rest).
    ``min_domain_share``: a domain is kept when at least this share of its (non-context)
    catalogue indicators can enter the index.
    """

    min_unit_share: float = 0.5
    min_domain_share: float = 0.5

    def __post_init__(self) -> None:
        for name in ("min_unit_share", "min_domain_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")


class IndexNotBuilt(CompositeError):
    """The data cannot carry an index; ``reason`` and ``facts`` say why (also in the log)."""

    def __init__(self, message: str, reason: str, facts: dict[str, Any]) -> None:
        super().__init__(message)
        self.reason = reason
        self.facts = facts

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
    screening: Screening | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Compute the learning-city index of ``year`` and write its four warehouse tables.

    Defaults: equal weights within each domain and across domains, directions from the
    catalogue (context indicators left out), min-max onto 0–100, arithmetic mean, no
    imputation (a missing indicator's weight goes to its domain siblings); ``draws`` and
    ``seed`` set the Monte Carlo analysis of ``default_uncertainty``, which draws survey
    values from their sampling distributions whenever some value of the year has a standard
    error (the ``selection`` entry of the log counts them). ``screening`` (default
    ``Screening()``) leaves out communes and domains short of data; when the rest cannot carry
    an index, the year's index tables are emptied, the reason logged, and ``IndexNotBuilt``
    raised. ``progress(done, total)`` follows the Monte Carlo runs.
    """
    screening = screening or Screening()
    try:
        data, selection = learning_city_data(con, catalogue, year, screening)
    except IndexNotBuilt as error:
        _write_not_built(con, year, screening, error)
        raise
    if uncertainty is None:  # sampling error is drawn when some value has one (logged)
        uncertainty = default_uncertainty(draws, seed,
                                          sampling=selection.effect["values_with_se"] > 0)
    result = analyse_uncertainty(data, spec or CompositeSpec(), uncertainty, progress)
    _write(con, year, result, [selection, *result.nominal.log, result.log])


def learning_city_data(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                       screening: Screening | None = None) -> tuple[CompositeData, LogEntry]:
    """The communes' indicator values of ``year`` as composite data, and how they were chosen.

    Suppressed and missing cells are missing values. Context indicators are left out of the
    index, and so is an indicator no commune has a value for, or with one value everywhere
    (its scale cannot be normalised). Then, as ``screening`` says, a domain with too small a
    share of its indicators left is left out, and so is a commune with values for too small a
    share of the remaining indicators. All are logged; ``IndexNotBuilt`` when too little
    remains. Previous values (for previous-year imputation) are those of the previous year the
    indicator has values for, as in ``indicator_changes``.
    """
    screening = screening or Screening()
    level = base_level(con)
    rows = con.execute(
        """
        WITH earlier AS (
          SELECT indicator_id, max(year) AS year FROM indicator_values
          WHERE breakdown = 'total' AND territory_level = $level AND year < $year
            AND value IS NOT NULL
          GROUP BY indicator_id)
        SELECT v.indicator_id, v.territory_code, v.year = $year AS current,
               CASE WHEN list_contains($usable, v.status) THEN v.value END AS value,
               CASE WHEN list_contains($usable, v.status) THEN v.se END AS se
        FROM indicator_values v LEFT JOIN earlier e USING (indicator_id)
        WHERE v.breakdown = 'total' AND v.territory_level = $level
          AND (v.year = $year OR v.year = e.year)
        ORDER BY v.territory_code, v.indicator_id, v.year
        """,
        {"usable": list(USABLE_STATUSES), "level": level, "year": year},
    ).df()
    current = rows[rows["current"]]
    context = [i.id for i in catalogue if i.direction == "context"]
    candidates = [i for i in catalogue if i.direction != "context"]
    facts: dict[str, Any] = {"year": year, "territory_level": level,
                             "indicators": len(candidates)}
    with_values = current.dropna(subset=["value"])
    if with_values.empty:
        raise IndexNotBuilt(f"no indicator has a value for the {level} units in {year}",
                            "no_values", facts)
    values = _wide(current, "value")
    if with_values["territory_code"].nunique() < 2:
        facts.update({"units": int(with_values["territory_code"].nunique())})
        raise IndexNotBuilt(f"the learning-city index needs at least two {level} units with "
                            f"indicator values in {year}", "too_few_units", facts)
    flat = _flat(values, [i.id for i in candidates])
    kept = [i for i in candidates if i.id not in flat]
    if not kept:
        raise IndexNotBuilt(f"no indicator of the index differs between the {level} units "
                            f"in {year}", "no_variation", facts)
    kept, short_domains = _screen_domains(catalogue, kept, screening.min_domain_share)
    values = values.reindex(columns=[i.id for i in kept])
    share = values.notna().mean(axis=1)
    short_units = {str(u): round(float(s), 4) for u, s in share.items()
                   if kept and s < screening.min_unit_share}
    values = values.drop(index=list(short_units))
    late_flat = _flat(values, [i.id for i in kept])  # flat once short communes are gone
    flat.update(late_flat)
    kept = [i for i in kept if i.id not in late_flat]
    facts.update({"usable_indicators": len(kept), "units": len(values),
                  "units_screened_out": len(short_units),
                  "domains": len({i.domain for i in kept}),
                  "domains_screened_out": sorted(short_domains),
                  "min_unit_share": screening.min_unit_share,
                  "min_domain_share": screening.min_domain_share})
    if not kept:
        raise IndexNotBuilt(
            f"no action domain has at least {screening.min_domain_share:.0%} of its indicators "
            f"with values for the {level} units in {year}", "no_domain", facts)
    if len(kept) < MIN_INDICATORS:
        raise IndexNotBuilt(
            f"only {len(kept)} indicator can enter the index in {year}; an index needs at "
            f"least {MIN_INDICATORS}", "too_few_indicators", facts)
    if len(values) < 2:
        raise IndexNotBuilt(
            f"{len(values)} {level} unit(s) have values for at least "
            f"{screening.min_unit_share:.0%} of the index's indicators in {year}; comparing "
            "needs at least two", "too_few_units", facts)
    hierarchy, empty_domains = _hierarchy(catalogue, kept)
    codes = list(hierarchy.indicators)
    values = values.reindex(columns=codes)
    previous = _wide(rows[~rows["current"]], "value")
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
        choice={"table": "indicator_values", "year": year, "territory_level": level,
                "breakdown": "total", "usable_statuses": list(USABLE_STATUSES),
                "hierarchy": "indicators → domains (catalogue order) → INDEX, equal weights",
                "directions": "from the catalogue", "screening": asdict(screening),
                "previous_values": "the previous year each indicator has values for"},
        effect={"communes": len(values), "values_with_se": int((se > 0).sum().sum()),
                "excluded_context": context,
                "excluded_indicators": dict(sorted(flat.items())),
                "excluded_domains": empty_domains,
                "screened_out_domains": dict(sorted(short_domains.items())),
                "screened_out_units": dict(sorted(short_units.items()))},
    )
    return data, selection


def index_not_built(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, Any] | None:
    """Why no index was built for ``year`` (the ``not_built`` log entry's facts), if so."""
    found = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema()"
    ).fetchall()}
    if "composite_log" not in found:
        return None
    row = con.execute("SELECT effect FROM composite_log WHERE year = ? AND step = 'not_built' "
                      "ORDER BY position LIMIT 1", [year]).fetchone()
    return json.loads(row[0]) if row else None


def _flat(values: pd.DataFrame, ids: list[str]) -> dict[str, str]:
    """Indicators that cannot be normalised over these communes, with why."""
    flat = {}
    for indicator_id in ids:
        column = values.get(indicator_id, pd.Series(dtype=float)).dropna()
        if column.nunique() < 2:
            flat[indicator_id] = "no value" if column.empty else "same value in every commune"
    return flat


def _screen_domains(catalogue: Catalogue, kept: list, min_share: float
                    ) -> tuple[list, dict[str, dict[str, int]]]:
    """Leave out the indicators of domains where too few indicators can enter the index."""
    short: dict[str, dict[str, int]] = {}
    for domain in catalogue.domains:
        total = [i for i in catalogue.in_domain(domain.code) if i.direction != "context"]
        mine = [i for i in kept if i.domain == domain.code]
        if total and mine and len(mine) / len(total) < min_share:
            short[domain.code] = {"with_values": len(mine), "indicators": len(total)}
    return [i for i in kept if i.domain not in short], short


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


def _write_not_built(con: duckdb.DuckDBPyConnection, year: int, screening: Screening,
                     error: IndexNotBuilt) -> None:
    """Empty the year's index tables (those that exist) and log why there is no index.

    Only ``composite_log`` is created: an index table created empty would be published as if
    an index existed.
    """
    found = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema()"
    ).fetchall()}
    con.execute("CREATE TABLE IF NOT EXISTS composite_log (year INTEGER, position INTEGER, "
                "step VARCHAR, choice VARCHAR, effect VARCHAR)")
    con.begin()
    try:
        for name in ("composite_scores", "composite_ranks", "composite_sensitivity",
                     "composite_log"):
            if name in found or name == "composite_log":
                con.execute(f"DELETE FROM {quote_ident(name)} WHERE year = ?", [year])
        effect = {"reason": error.reason, "message": str(error), **error.facts}
        con.execute("INSERT INTO composite_log VALUES (?, 1, 'not_built', ?, ?)",
                    [year, json.dumps({"screening": asdict(screening)}, sort_keys=True),
                     json.dumps(effect, sort_keys=True, ensure_ascii=False)])
        con.commit()
    except BaseException:
        con.rollback()
        raise


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
            con.execute(f"DELETE FROM {quote_ident(name)} WHERE year = ?", [year])
            con.register("_composite_rows", frame.replace({np.nan: None}))
            con.execute(f"INSERT INTO {quote_ident(name)} BY NAME SELECT * FROM _composite_rows")
            con.unregister("_composite_rows")
        con.commit()
    except BaseException:
        con.rollback()
        raise
