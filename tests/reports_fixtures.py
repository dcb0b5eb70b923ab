"""A small warehouse for report tests: the contract DDL with made-up, deterministic rows.

Seven territories (four communes, one EPCI, the département, the région and one custom group),
two years, every catalogue indicator, and one cell for each status a reader must be able to
tell apart. The special cells are named below so tests say what they check.
"""

from __future__ import annotations

import math
import random

import duckdb

from indicators import Catalogue
from indicators.territories import FRENCH_LEVELS, write_levels

DDL = """
CREATE TABLE territories (territory_code VARCHAR, level VARCHAR, name VARCHAR,
  epci_code VARCHAR, departement_code VARCHAR, region_code VARCHAR,
  valid_from INTEGER, valid_to INTEGER);
CREATE TABLE territory_groups (group_code VARCHAR, group_name_en VARCHAR, group_name_fr VARCHAR,
  member_code VARCHAR);
CREATE TABLE indicator_values (indicator_id VARCHAR, territory_code VARCHAR,
  territory_level VARCHAR, territory_name VARCHAR, year INTEGER, breakdown VARCHAR,
  value DOUBLE, numerator DOUBLE, denominator DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
  n_unweighted BIGINT, status VARCHAR, status_reason VARCHAR);
CREATE TABLE indicator_changes (indicator_id VARCHAR, territory_code VARCHAR,
  territory_level VARCHAR, breakdown VARCHAR, year INTEGER, previous_year INTEGER,
  change DOUBLE, se_change DOUBLE, significant BOOLEAN);
"""

YEAR = 2024
PREVIOUS_YEAR = 2023
EPCI = "200067932"
GROUP = "UNESCO_FR"
GROUP_NAME_FR = "Villes apprenantes UNESCO de France"

# (code, level, French name); groups carry their English name, as the contract says.
TERRITORIES: tuple[tuple[str, str, str], ...] = (
    ("56260", "COM", "Vannes"),
    ("56243", "COM", "Séné"),
    ("56251", "COM", "Theix-Noyalo"),
    ("56003", "COM", "Arradon"),
    (EPCI, "EPCI", "Golfe du Morbihan - Vannes agglomération"),
    ("56", "DEP", "Morbihan"),
    ("53", "REG", "Bretagne"),
    (GROUP, "GROUP", "French UNESCO learning cities"),
)

# Cells with a status other than 'ok' (indicator, territory) in YEAR.
SUPPRESSED = ("LL01", "56243")
LOW_RELIABILITY = ("LL04", "56003")
MISSING = ("ECO02", GROUP)
# Survey changes made large enough to be significant, with their sign.
SIGNIFICANT_UP = ("LL01", "56260")
SIGNIFICANT_DOWN = ("LL05", EPCI)
# A value above a thousand, to see thousands separators.
THOUSANDS = ("SKL06", EPCI, 1234.4)


def build_warehouse(catalogue: Catalogue) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection holding the four tables ``reports`` reads."""
    con = duckdb.connect()
    con.execute(DDL)
    con.executemany("INSERT INTO territories VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [_territory_row(code, level, name) for code, level, name in TERRITORIES])
    con.executemany(
        "INSERT INTO territory_groups VALUES (?, ?, ?, ?)",
        [(GROUP, TERRITORIES[-1][2], GROUP_NAME_FR, member) for member in ("56260", "56243")],
    )
    values, changes = _indicator_rows(catalogue)
    con.executemany(f"INSERT INTO indicator_values VALUES ({', '.join('?' * 15)})", values)
    level = {code: lv for code, lv, _ in TERRITORIES}
    con.executemany("INSERT INTO indicator_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(c[0], c[1], level[c[1]], *c[2:]) for c in changes])
    write_levels(con, FRENCH_LEVELS)
    return con


def _territory_row(code: str, level: str, name: str) -> tuple:
    epci = EPCI if level in ("COM", "EPCI") else None
    dep = "56" if level in ("COM", "EPCI", "DEP") else None
    return (code, level, name, epci, dep, "53", 2019, None)


def _indicator_rows(catalogue: Catalogue) -> tuple[list[tuple], list[tuple]]:
    rng = random.Random(20240101)
    values: list[tuple] = []
    changes: list[tuple] = []
    for indicator in catalogue:
        survey = indicator.kind == "survey_proportion"
        breakdowns = ("total", "sex=F", "sex=M") if indicator.breakdowns else ("total",)
        for t_index, (code, level, name) in enumerate(TERRITORIES):
            for breakdown in breakdowns:
                current = round(rng.uniform(20, 70), 3)
                delta = round(rng.uniform(-2, 2), 3)
                if (indicator.id, code) == SIGNIFICANT_UP:
                    delta = 9.0
                if (indicator.id, code) == SIGNIFICANT_DOWN:
                    delta = -8.0
                if (indicator.id, code) == THOUSANDS[:2]:
                    current = THOUSANDS[2]
                n = 40 + 60 * t_index
                rows = {}
                for year, value in ((PREVIOUS_YEAR, current - delta), (YEAR, current)):
                    status, reason = _status(indicator.id, code, year, breakdown)
                    rows[year] = _value_row(indicator.id, code, level, name, year, breakdown,
                                            value, status, reason, survey, n)
                    values.append(rows[year])
                changes.append(_change_row(indicator.id, code, breakdown, rows, survey))
    return values, changes


def _status(indicator_id: str, code: str, year: int, breakdown: str) -> tuple[str, str | None]:
    cell = (indicator_id, code)
    if year != YEAR or breakdown != "total":
        return "ok", None
    if cell == SUPPRESSED:
        return "suppressed", "unweighted n = 22 < 30"
    if cell == LOW_RELIABILITY:
        return "low_reliability", "coefficient of variation 0.24 > 0.2"
    if cell == MISSING:
        return "missing", "no school count for this group"
    return "ok", None


def _value_row(indicator_id: str, code: str, level: str, name: str, year: int, breakdown: str,
               value: float, status: str, reason: str | None, survey: bool, n: int) -> tuple:
    published = status in ("ok", "low_reliability")
    denominator = 1000.0 + 10 * n
    se = round(0.8 + 12 / math.sqrt(n), 3) if survey else None
    return (
        indicator_id, code, level, name, year, breakdown,
        round(value, 3) if published else None,
        round(value * denominator / 100, 3) if published else None,
        denominator,
        se if published else None,
        round(value - 1.96 * se, 3) if survey and published else None,
        round(value + 1.96 * se, 3) if survey and published else None,
        (22 if status == "suppressed" else n) if survey else None,
        status, reason,
    )


def _change_row(indicator_id: str, code: str, breakdown: str, rows: dict[int, tuple],
                survey: bool) -> tuple:
    before, after = rows[PREVIOUS_YEAR], rows[YEAR]
    if before[6] is None or after[6] is None:
        return (indicator_id, code, breakdown, YEAR, PREVIOUS_YEAR, None, None, None)
    change = round(after[6] - before[6], 3)
    if not survey:
        return (indicator_id, code, breakdown, YEAR, PREVIOUS_YEAR, change, None, None)
    se_change = round(math.hypot(before[9], after[9]), 3)
    return (indicator_id, code, breakdown, YEAR, PREVIOUS_YEAR, change, se_change,
            abs(change / se_change) > 1.96)
