"""The learning-city index on the sample warehouse, and its place in the annual report."""

from __future__ import annotations

import json
from html import unescape

import duckdb
import numpy as np
import pandas as pd
import pytest

from indicators import load_catalogue
from indicators.composite.build import log_from_json, replay
from indicators.composite.specification import CompositeSpec, Impute
from indicators.learning_index import compute_learning_city_index, learning_city_data
from indicators.sql import quote_ident
from reports import write_report
from reports._composite import (
    build_index_table,
    index_methods,
    index_section,
    rank_interval_chart,
)

YEAR = 2024
DRAWS = 100  # 100 × (5 + 2) = 700 runs: enough for the checks below, and fast


def _copy(source: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A private copy of the session warehouse, so that the tables written here stay here."""
    target = duckdb.connect()
    for (name,) in source.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        target.register("_rows", source.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_table())
        target.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM _rows")
        target.unregister("_rows")
    return target


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def con(sample_warehouse, catalogue) -> duckdb.DuckDBPyConnection:
    con = _copy(sample_warehouse)
    compute_learning_city_index(con, catalogue, YEAR, draws=DRAWS, seed=5)
    return con


def frame(con, sql: str, *params) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()


def test_the_four_tables_are_written(con, catalogue):
    communes = con.execute("SELECT count(DISTINCT territory_code) FROM indicator_values "
                           "WHERE territory_level = 'COM' AND year = ?", [YEAR]).fetchone()[0]
    scores = frame(con, "SELECT * FROM composite_scores WHERE year = ?", YEAR)
    assert list(scores.columns) == ["territory_code", "year", "node", "level", "score",
                                    "imputed"]
    non_context = [i.id for i in catalogue if i.direction != "context"]
    nodes = set(scores["node"])
    assert nodes == {*non_context, *(d.code for d in catalogue.domains), "INDEX"}
    assert len(scores) == communes * len(nodes)
    assert scores.groupby("level")["node"].nunique().to_dict() == {1: len(non_context), 2: 8,
                                                                   3: 1}
    ranks = frame(con, "SELECT * FROM composite_ranks WHERE year = ?", YEAR)
    assert list(ranks.columns) == ["territory_code", "year", "rank", "median_rank",
                                   "rank_p05", "rank_p95"]
    assert len(ranks) == communes == 19
    sensitivity = frame(con, "SELECT * FROM composite_sensitivity")
    assert list(sensitivity["choice"]) == ["normalise", "aggregate", "impute", "weights",
                                           "sampling"]
    assert {"first_order_index", "total_order_index"} <= set(sensitivity.columns)
    steps = con.execute("SELECT step FROM composite_log ORDER BY position").fetchall()
    assert [s for (s,) in steps] == ["selection", "weights", "hierarchy", "denominate",
                                     "screen", "impute", "treat", "normalise", "aggregate",
                                     "rank", "uncertainty"]


def test_context_indicators_are_left_out_and_the_log_says_so(con, catalogue):
    (effect,) = con.execute("SELECT effect FROM composite_log WHERE step = 'selection'"
                            ).fetchone()
    context = [i.id for i in catalogue if i.direction == "context"]
    assert json.loads(effect)["excluded_context"] == context == ["LNK01", "LNK02"]


def test_indicators_are_min_maxed_over_the_communes_with_their_direction(con):
    check = frame(con, """
        SELECT s.node, s.territory_code, s.score, v.value,
               min(v.value) OVER (PARTITION BY s.node) AS lo,
               max(v.value) OVER (PARTITION BY s.node) AS hi
        FROM composite_scores s JOIN indicator_values v
          ON v.indicator_id = s.node AND v.territory_code = s.territory_code
         AND v.year = s.year AND v.breakdown = 'total'
        WHERE s.year = ? AND s.level = 1 AND v.status IN ('ok', 'low_reliability')
          AND s.node IN ('LL01', 'LL08', 'MED04')""", YEAR)
    higher = check[check["node"] != "LL08"]
    assert np.allclose(higher["score"], (higher["value"] - higher["lo"])
                       / (higher["hi"] - higher["lo"]) * 100)
    lower = check[check["node"] == "LL08"]  # unmet demand: lower is better
    assert np.allclose(lower["score"], (lower["hi"] - lower["value"])
                       / (lower["hi"] - lower["lo"]) * 100)


def test_domains_and_index_are_equal_weight_means_of_what_is_present(con, catalogue):
    scores = frame(con, "SELECT territory_code, node, score FROM composite_scores "
                        "WHERE year = ?", YEAR).pivot(index="territory_code", columns="node",
                                                       values="score")
    for domain in catalogue.domains:
        members = [i.id for i in catalogue.in_domain(domain.code) if i.direction != "context"]
        assert np.allclose(scores[domain.code], scores[members].mean(axis=1, skipna=True),
                           equal_nan=True)
    domains = [d.code for d in catalogue.domains]
    assert scores.loc["56087", "LL"] != scores.loc["56087", "LL"]  # every LL cell suppressed
    assert np.allclose(scores["INDEX"], scores[domains].mean(axis=1, skipna=True))


def test_a_suppressed_value_is_missing_and_its_siblings_carry_the_domain(con):
    suppressed = frame(con, """
        SELECT v.indicator_id, v.territory_code, s.score, s.imputed
        FROM indicator_values v JOIN composite_scores s
          ON s.node = v.indicator_id AND s.territory_code = v.territory_code AND s.year = v.year
        WHERE v.year = ? AND v.breakdown = 'total' AND v.status = 'suppressed'""", YEAR)
    assert len(suppressed) > 0
    assert suppressed["score"].isna().all() and not suppressed["imputed"].any()


def test_ranks_follow_the_index_and_intervals_are_ordered(con):
    joined = frame(con, """
        SELECT r.*, s.score FROM composite_ranks r JOIN composite_scores s
          ON s.territory_code = r.territory_code AND s.year = r.year AND s.node = 'INDEX'
        WHERE r.year = ?""", YEAR)
    expected = joined["score"].rank(ascending=False, method="min")
    assert joined["rank"].tolist() == expected.astype(int).tolist()
    assert (joined["rank_p05"] <= joined["median_rank"]).all()
    assert (joined["median_rank"] <= joined["rank_p95"]).all()
    assert joined[["rank_p05", "rank_p95"]].stack().between(1, 19).all()
    assert (joined["rank_p95"] > joined["rank_p05"]).any()  # sampling error moves ranks


def test_the_index_is_deterministic_and_replaces_its_year(sample_warehouse, catalogue, con):
    again = _copy(sample_warehouse)
    compute_learning_city_index(again, catalogue, YEAR, draws=DRAWS, seed=5)
    compute_learning_city_index(again, catalogue, YEAR, draws=DRAWS, seed=5)  # replaces
    compute_learning_city_index(again, catalogue, YEAR - 1, draws=DRAWS, seed=5)
    for table in ("composite_scores", "composite_ranks", "composite_sensitivity",
                  "composite_log"):
        mine = frame(con, f"SELECT * FROM {table} WHERE year = ? ORDER BY ALL", YEAR)
        theirs = frame(again, f"SELECT * FROM {table} WHERE year = ? ORDER BY ALL", YEAR)
        pd.testing.assert_frame_equal(mine, theirs)
    years = again.execute("SELECT DISTINCT year FROM composite_ranks ORDER BY 1").fetchall()
    assert years == [(YEAR - 1,), (YEAR,)]


def test_the_stored_log_replays_the_published_scores(con, catalogue):
    data, _ = learning_city_data(con, catalogue, YEAR)
    rows = con.execute("SELECT step, choice, effect FROM composite_log WHERE year = ? "
                       "ORDER BY position", [YEAR]).fetchall()
    result = replay(data, log_from_json(rows))
    stored = frame(con, "SELECT territory_code, score FROM composite_scores "
                        "WHERE year = ? AND node = 'INDEX' ORDER BY territory_code", YEAR)
    assert np.allclose(result.index.sort_index().to_numpy(), stored["score"])


def test_previous_year_imputation_flags_the_cells_it_fills(sample_warehouse, catalogue):
    con = _copy(sample_warehouse)
    # A 2024 cell withheld whose 2023 value was published: the imputation fills it.
    con.execute("UPDATE indicator_values SET value = NULL, status = 'suppressed' "
                "WHERE indicator_id = 'LL01' AND territory_code = '34172' AND year = 2024 "
                "AND breakdown = 'total'")
    compute_learning_city_index(con, catalogue, YEAR, draws=20,
                                spec=CompositeSpec(impute=Impute(method="previous_year")))
    imputed = frame(con, "SELECT * FROM composite_scores WHERE imputed")
    assert len(imputed) > 0 and imputed["score"].notna().all()
    assert set(imputed["level"]) == {1}


# --- report ---------------------------------------------------------------------------------

def test_the_index_table_lists_communes_by_rank_with_intervals(con, catalogue):
    html = build_index_table(con, catalogue, YEAR, "fr").as_raw_html()
    assert 'id="lci-index"' in html
    for words in ("Indice de la ville apprenante", "Rang médian", "Intervalle 5–95\u202f%",
                  "Transition écologique"):
        assert words in unescape(html), words
    english = unescape(build_index_table(con, catalogue, YEAR, "en").as_raw_html())
    ranks = frame(con, "SELECT rank, rank_p05, rank_p95 FROM composite_ranks WHERE year = ? "
                       "ORDER BY rank", YEAR)
    first = ranks.iloc[0]
    assert f"{first['rank_p05']:g}–" in english and "Median rank" in english


def test_the_chart_is_an_inline_svg_with_stable_bytes(con, catalogue):
    svg = rank_interval_chart(con, catalogue, YEAR, "en")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<dc:date>" not in svg
    assert svg == rank_interval_chart(con, catalogue, YEAR, "en")
    assert "Clermont-Ferrand" in svg and "Rank (1 = best)" in svg  # labels (as comments)


def test_the_report_opens_with_the_index_and_explains_it(con, catalogue, tmp_path):
    files = write_report(con, catalogue, YEAR, "en", tmp_path, territories=["56260", "53"])
    page = files.report.read_text(encoding="utf-8")
    text = unescape(page)
    for words in ("Learning-city index", "Which choices move the ranks most",
                  "700 Monte Carlo runs (100 base draws, Saltelli design, seed 5)",
                  "survey sampling error", "min-max onto 0–100"):
        assert words in text, words
    assert page.index('id="learning-city-index"') < page.index('id="domain-LL"')
    assert page.index('href="#learning-city-index"') < page.index('href="#domain-LL"')
    assert page.count("<svg ") == 1 and 'id="lci-index"' in page
    methods = text[text.index('id="methods"'):]
    assert "OECD/JRC Handbook" in methods and "every weight within ±25%" in methods


def test_the_french_section_and_methods_are_french_and_stable(con, catalogue):
    section = index_section(con, catalogue, YEAR, "fr")
    text = unescape(section)
    for words in ("Indice de la ville apprenante", "Choix qui déplacent le plus les rangs",
                  "recalculé 700 fois", "erreur d'échantillonnage des enquêtes"):
        assert words in text, words
    assert section == index_section(con, catalogue, YEAR, "fr")
    methods = unescape(index_methods(con, YEAR, "fr"))
    assert "tirages de Monte-Carlo" in methods and "moyenne géométrique" in methods


def test_no_index_no_section(sample_warehouse, catalogue):
    assert index_section(sample_warehouse, catalogue, YEAR, "en") is None


def test_the_monte_carlo_reports_its_runs_as_they_are_done(sample_warehouse, catalogue):
    heard: list[tuple[int, int]] = []
    compute_learning_city_index(_copy(sample_warehouse), catalogue, YEAR, draws=DRAWS, seed=5,
                                progress=lambda done, total: heard.append((done, total)))
    total = DRAWS * 7  # the Saltelli design: (d + 2) × draws runs for d = 5 choices
    assert heard[-1] == (total, total)
    assert all(t == total for _, t in heard)
    assert [done for done, _ in heard] == sorted({done for done, _ in heard})
