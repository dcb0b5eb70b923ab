"""Spec: complementary suppression keeps every suppressed cell from being recalculated from
the published ones, withholding as little as it can.

Each warehouse is built by hand: territories and their member communes, and published cells
(territory, breakdown, unweighted n); a cell below 30 respondents is suppressed. The check of
protection is the disclosure attack of ``tests/test_disclosure_attack.py``, written apart.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from indicators.compute.suppression import complementary_suppression
from reports._exports import reason_sql
from tests.test_disclosure_attack import attack

MIN_N = 30
LEVELS = ("COM", "EPCI", "DEP", "REG", "GROUP")
VALUES_COLUMNS = ("indicator_id VARCHAR, territory_code VARCHAR, territory_level VARCHAR, "
                  "territory_name VARCHAR, year INTEGER, breakdown VARCHAR, value DOUBLE, "
                  "numerator DOUBLE, denominator DOUBLE, se DOUBLE, ci_low DOUBLE, "
                  "ci_high DOUBLE, n_unweighted BIGINT, status VARCHAR, status_reason VARCHAR")


def warehouse(territories: dict[tuple[str, str], list[str]],
              cells: list[tuple[str, str, str, int]],
              year: int = 2024) -> duckdb.DuckDBPyConnection:
    """Territories ``(level, code) → member communes`` (communes are their own members) and
    cells ``(level, code, breakdown, n)``: each respondent weighs 10 and half of them count,
    so that every numerator and denominator is the sum of its parts'."""
    con = duckdb.connect()
    con.execute("CREATE TABLE territory_levels (level VARCHAR, ordinal INTEGER)")
    con.executemany("INSERT INTO territory_levels VALUES (?, ?)",
                    [(level, n) for n, level in enumerate(LEVELS)])
    members = [(code, level, code, commune) for (level, code), communes in territories.items()
               for commune in communes]
    communes = sorted({m[3] for m in members} | {c for lv, c, _, _ in cells if lv == "COM"})
    members += [(c, "COM", c, c) for c in communes]
    con.execute("CREATE TABLE territory_members (territory_code VARCHAR, "
                "territory_level VARCHAR, territory_name VARCHAR, commune_code VARCHAR, "
                "valid_from INTEGER, valid_to INTEGER)")
    con.executemany("INSERT INTO territory_members VALUES (?, ?, ?, ?, NULL, NULL)", members)
    con.execute(f"CREATE TABLE indicator_values ({VALUES_COLUMNS})")
    rows = []
    for level, code, breakdown, n in cells:
        hidden = n < MIN_N
        numerator, denominator = 5.0 * n, 10.0 * n
        rows.append(("LL01", code, level, code, year, breakdown,
                     None if hidden else 50.0, None if hidden else numerator,
                     None if hidden else denominator, None if hidden else 2.0,
                     None if hidden else 46.0, None if hidden else 54.0, n,
                     "suppressed" if hidden else "ok",
                     f"unweighted n = {n} < {MIN_N}" if hidden else None))
    con.executemany(f"INSERT INTO indicator_values VALUES ({', '.join('?' * 15)})", rows)
    return con


def published(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM indicator_values").df()


def withheld(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], str]:
    """The complementary cells, ``(level, code, breakdown) → reason``."""
    return {(lv, c, b): r for lv, c, b, r in con.execute(
        "SELECT territory_level, territory_code, breakdown, status_reason FROM indicator_values "
        "WHERE status_reason LIKE 'complementary%' ORDER BY ALL").fetchall()}


def recalculated(con: duckdb.DuckDBPyConnection) -> dict:
    members = con.execute("SELECT * FROM territory_members").df()
    return attack(published(con), members, "COM")


def test_a_parent_with_one_suppressed_commune_withholds_its_smallest_other_commune():
    con = warehouse({("EPCI", "E1"): ["A", "B", "C"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 50),
                     ("COM", "C", "total", 40), ("EPCI", "E1", "total", 100)])
    assert recalculated(con)  # EPCI minus B and C gives A
    assert complementary_suppression(con) == 1
    assert withheld(con) == {("COM", "C", "total"):
                             "complementary suppression (protects COM:A, total)"}
    assert recalculated(con) == {}
    row = con.execute("SELECT value, numerator, denominator, se, ci_low, ci_high, n_unweighted, "
                      "status FROM indicator_values WHERE territory_code = 'C'").fetchone()
    assert row == (None, None, None, None, None, None, 40, "suppressed")  # only n is told


def test_a_complement_that_would_itself_be_recalculated_is_passed_over():
    """B is the smallest, but the group G = B + D would give B (and then A) back."""
    con = warehouse({("EPCI", "E1"): ["A", "B", "C"], ("GROUP", "G"): ["B", "D"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 35),
                     ("COM", "C", "total", 40), ("COM", "D", "total", 60),
                     ("EPCI", "E1", "total", 85), ("GROUP", "G", "total", 95)])
    complementary_suppression(con)
    assert withheld(con) == {("COM", "C", "total"):
                             "complementary suppression (protects COM:A, total)"}
    assert recalculated(con) == {}


def test_a_total_equal_to_its_categories_protects_a_suppressed_category():
    con = warehouse({}, [("COM", "A", "total", 50), ("COM", "A", "sex=F", 20),
                         ("COM", "A", "sex=M", 30)])
    assert recalculated(con)
    complementary_suppression(con)
    assert withheld(con) == {("COM", "A", "sex=M"):
                             "complementary suppression (protects COM:A, sex=F)"}
    assert recalculated(con) == {}


def test_categories_that_miss_respondents_are_no_sum_and_withhold_nothing():
    """20 + 25 ≠ 50: five respondents have no category, so the total minus M is no F."""
    con = warehouse({}, [("COM", "A", "total", 50), ("COM", "A", "sex=F", 20),
                         ("COM", "A", "sex=M", 25)])
    assert complementary_suppression(con) == 0
    assert recalculated(con) == {}


def test_overlapping_epci_and_departement_are_protected_together():
    """Withholding C (the smallest) leaves EPCI − B = A: B, in both, is needed."""
    con = warehouse({("EPCI", "E1"): ["A", "B"], ("DEP", "D1"): ["A", "B", "C"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 50),
                     ("COM", "C", "total", 45), ("EPCI", "E1", "total", 60),
                     ("DEP", "D1", "total", 105)])
    complementary_suppression(con)
    assert withheld(con) == {("COM", "B", "total"):
                             "complementary suppression (protects COM:A, total)"}
    assert recalculated(con) == {}


def test_a_group_across_the_hierarchy_needs_its_own_complement():
    con = warehouse({("EPCI", "E1"): ["A", "B"], ("GROUP", "G"): ["A", "C"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 50),
                     ("COM", "C", "total", 45), ("EPCI", "E1", "total", 60),
                     ("GROUP", "G", "total", 55)])
    complementary_suppression(con)
    assert set(withheld(con)) == {("COM", "B", "total"), ("COM", "C", "total")}
    assert recalculated(con) == {}


def test_breakdowns_and_hierarchy_together_leave_nothing_recalculated():
    """A suppressed commune's categories, its total, and its EPCI's: every relation at once."""
    cells = [("COM", "A", "total", 25), ("COM", "A", "sex=F", 12), ("COM", "A", "sex=M", 13),
             ("COM", "B", "total", 80), ("COM", "B", "sex=F", 45), ("COM", "B", "sex=M", 35),
             ("COM", "C", "total", 70), ("COM", "C", "sex=F", 31), ("COM", "C", "sex=M", 39),
             ("EPCI", "E1", "total", 175), ("EPCI", "E1", "sex=F", 88),
             ("EPCI", "E1", "sex=M", 87)]
    con = warehouse({("EPCI", "E1"): ["A", "B", "C"]}, cells)
    assert len(recalculated(con)) == 3
    assert complementary_suppression(con) >= 2
    assert recalculated(con) == {}
    assert con.execute("SELECT count(*) FROM indicator_values WHERE territory_level = 'EPCI' "
                       "AND status = 'ok'").fetchone()[0] == 3  # the EPCI stays published


def test_a_suppressed_cell_nothing_discloses_withholds_nothing():
    """Two suppressed communes in one EPCI protect each other."""
    con = warehouse({("EPCI", "E1"): ["A", "B", "C"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 20),
                     ("COM", "C", "total", 40), ("EPCI", "E1", "total", 70)])
    before = published(con)
    assert complementary_suppression(con) == 0
    pd.testing.assert_frame_equal(published(con), before)


def test_nothing_changes_when_nothing_is_suppressed():
    con = warehouse({("EPCI", "E1"): ["A", "B"]},
                    [("COM", "A", "total", 40), ("COM", "B", "total", 50),
                     ("EPCI", "E1", "total", 90)])
    before = published(con)
    assert complementary_suppression(con) == 0
    pd.testing.assert_frame_equal(published(con), before)


@pytest.mark.parametrize("order", [1, -1])
def test_the_same_cells_are_withheld_whatever_the_order_of_the_rows(order):
    cells = [("COM", c, "total", n) for c, n in
             (("A", 10), ("B", 45), ("C", 45), ("D", 12), ("E", 45), ("F", 60))]
    cells += [("EPCI", "E1", "total", 100), ("EPCI", "E2", "total", 117),
              ("DEP", "D1", "total", 217)]
    territories = {("EPCI", "E1"): ["A", "B", "C"], ("EPCI", "E2"): ["D", "E", "F"],
                   ("DEP", "D1"): list("ABCDEF")}
    con = warehouse(territories, cells[::order])
    complementary_suppression(con)
    # ties on n go to the first code: B before C
    assert withheld(con) == {("COM", "B", "total"):
                             "complementary suppression (protects COM:A, total)",
                             ("COM", "E", "total"):
                             "complementary suppression (protects COM:D, total)"}
    assert recalculated(con) == {}


def test_a_complement_says_in_french_which_cell_it_protects():
    con = warehouse({("EPCI", "E1"): ["A", "B"]},
                    [("COM", "A", "total", 10), ("COM", "B", "total", 50),
                     ("EPCI", "E1", "total", 60)])
    complementary_suppression(con)
    expression, params = reason_sql("status_reason", "fr")
    assert con.execute(f"SELECT {expression} FROM indicator_values WHERE territory_code = 'B'",
                       params).fetchone() == ("suppression secondaire (protège COM:A, total)",)
