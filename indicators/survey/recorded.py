"""The survey design a run declared, recorded in its warehouse and read back.

A researcher reopening a warehouse should estimate with the design the published cells used,
not declare it again from memory. The run writes one row per survey table into
``survey_design`` (column names and options only); ``design_for`` turns that row back into a
``SurveyDesign``. Nothing read from the table becomes SQL except column and table names, each
through ``quote_ident``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from indicators.sql import quote_ident
from indicators.survey.design import LonelyPSU, SurveyDesign, SurveyDesignError

DESIGN_TABLE = "survey_design"
DESIGN_DDL = f"""
CREATE TABLE IF NOT EXISTS {DESIGN_TABLE} (
    table_name VARCHAR NOT NULL, weights VARCHAR, strata VARCHAR, psu VARCHAR[] NOT NULL,
    strata_within VARCHAR, lonely_psu VARCHAR NOT NULL)
"""
# The design columns design_for adds when strata and PSUs are taken within another column.
STRATUM_COLUMN = "_stratum"
PSU_COLUMNS = ("_psu", "_ssu")


@dataclass(frozen=True)
class RecordedDesign:
    """One survey table's design as the warehouse records it: column names, not SQL.

    ``strata_within`` names a column (the survey year) inside which strata are taken: the
    stratum is ``within/strata`` and each PSU ``within/strata/psu``, so that the samples of
    two years are independent, as the published cells treat them.
    """

    table: str
    weights: str | None
    strata: str | None
    psu: tuple[str, ...]
    strata_within: str | None
    lonely_psu: LonelyPSU


def responses_design(lonely_psu: LonelyPSU) -> RecordedDesign:
    """The design of ``survey_responses`` behind the published survey cells.

    It is the one ``indicators.compute.survey_proportion`` pools over territories (weights
    ``weight``, strata ``year/stratum``, PSUs ``year/stratum/psu``); the tests check that
    estimates from it give the published commune cells.
    """
    return RecordedDesign(table="survey_responses", weights="weight", strata="stratum",
                          psu=("psu",), strata_within="year", lonely_psu=lonely_psu)


def record_design(con: duckdb.DuckDBPyConnection, recorded: RecordedDesign) -> None:
    """Write (or replace) ``recorded``'s row in the warehouse's ``survey_design`` table."""
    con.execute(DESIGN_DDL)
    con.execute(f"DELETE FROM {DESIGN_TABLE} WHERE table_name = $table",
                {"table": recorded.table})
    con.execute(f"INSERT INTO {DESIGN_TABLE} VALUES ($table, $weights, $strata, $psu, "
                f"$within, $lonely)",
                {"table": recorded.table, "weights": recorded.weights,
                 "strata": recorded.strata, "psu": list(recorded.psu),
                 "within": recorded.strata_within, "lonely": recorded.lonely_psu})


def recorded_design(con: duckdb.DuckDBPyConnection, table: str) -> RecordedDesign:
    """The row the run recorded for ``table``; a ``SurveyDesignError`` says why there is none."""
    known = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $name "
                        "AND database_name = current_database()",
                        {"name": DESIGN_TABLE}).fetchall()[0][0]
    if not known:
        raise SurveyDesignError(
            f"this warehouse records no survey design (it has no {DESIGN_TABLE} table): it was "
            f"built before runs recorded their design; run lci run again, or declare the "
            f"design with SurveyDesign(...)")
    rows = con.execute(f"SELECT weights, strata, psu, strata_within, lonely_psu "
                       f"FROM {DESIGN_TABLE} WHERE table_name = $table",
                       {"table": table}).fetchall()
    if not rows:
        tables = [t for (t,) in con.execute(
            f"SELECT table_name FROM {DESIGN_TABLE} ORDER BY 1").fetchall()]
        raise SurveyDesignError(
            f"this warehouse records no survey design for {table!r}; it records one for "
            f"{tables or 'no table'}")
    weights, strata, psu, within, lonely = rows[0]
    return RecordedDesign(table, weights, strata, tuple(psu or ()), within, lonely)


def design_for(con: duckdb.DuckDBPyConnection, table: str = "survey_responses") -> SurveyDesign:
    """The ``SurveyDesign`` the run recorded for ``table``, over the table itself.

    Estimates by ``territory_code`` and ``year`` with it are the published commune cells
    (a territory above the commune pools its communes' respondents, see the docs).
    """
    recorded = recorded_design(con, table)
    try:
        cursor = con.execute(f"SELECT * FROM {quote_ident(table)} LIMIT 0")
        columns = {d[0] for d in cursor.description}
        cursor.fetchall()
    except duckdb.Error:
        raise SurveyDesignError(f"the recorded survey design is for {table!r}, which this "
                                f"warehouse does not hold") from None
    named = [c for c in (recorded.weights, recorded.strata, recorded.strata_within,
                         *recorded.psu) if c is not None]
    missing = [c for c in named if c not in columns]
    if missing:
        raise SurveyDesignError(f"the recorded survey design of {table!r} names columns the "
                                f"table does not have: {missing}; it has {sorted(columns)}")
    if recorded.strata_within is None:
        return SurveyDesign(source=quote_ident(table), weights=recorded.weights,
                            strata=recorded.strata, psu=recorded.psu,
                            lonely_psu=recorded.lonely_psu)
    taken = [c for c in (STRATUM_COLUMN, *PSU_COLUMNS) if c in columns]
    if taken:
        raise SurveyDesignError(f"{table!r} already has columns {taken}, the names the design "
                                f"gives its strata and PSUs taken within "
                                f"{recorded.strata_within!r}")
    # Each label is its parents' labels and its own value, joined by '/': the pooled design's.
    parts = [quote_ident(recorded.strata_within)]
    added = []
    strata = None
    if recorded.strata is not None:
        parts.append(quote_ident(recorded.strata))
        added.append(f"{_joined(parts)} AS {STRATUM_COLUMN}")
        strata = STRATUM_COLUMN
    psu = []
    for column, name in zip(recorded.psu, PSU_COLUMNS, strict=False):
        parts.append(quote_ident(column))
        added.append(f"{_joined(parts)} AS {name}")
        psu.append(name)
    source = f"SELECT *, {', '.join(added)} FROM {quote_ident(table)}" if added else \
        quote_ident(table)
    return SurveyDesign(source=source, weights=recorded.weights, strata=strata,
                        psu=tuple(psu), lonely_psu=recorded.lonely_psu)


def _joined(parts: list[str]) -> str:
    return " || '/' || ".join(parts)
