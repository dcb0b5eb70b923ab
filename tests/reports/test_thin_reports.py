"""Honest reports from thin data: years named, indicators with values counted per domain, the
others listed with their reason, and a learning-city index only where the data can carry one."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from indicators import compute_learning_city_index, load_catalogue
from indicators.compute.publication import SIGNIFICANT_DIGITS_SQL, compute_changes
from indicators.learning_index import IndexNotBuilt, Screening, index_not_built
from indicators.sql import quote_ident
from pipelines.cli.commands import app, render_reports
from pipelines.publishing.audit import audit as audit_bundles
from reports import build_domain_table, write_report
from tests.reports_fixtures import PREVIOUS_YEAR, YEAR, build_warehouse

DRAWS = 20
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _plain(html: str) -> str:
    """The words a reader sees: no tags, styles or drawings, spaces collapsed."""
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)))


def _recompute_changes(con: duckdb.DuckDBPyConnection, catalogue) -> None:
    con.execute(SIGNIFICANT_DIGITS_SQL)
    con.execute("CREATE OR REPLACE TEMP TABLE _indicator_meta "
                "(indicator_id VARCHAR, ordinal INTEGER)")
    con.executemany("INSERT INTO _indicator_meta VALUES (?, ?)",
                    [(i.id, n) for n, i in enumerate(catalogue)])
    compute_changes(con)


def _report(con, catalogue, lang: str, out: Path) -> str:
    files = write_report(con, catalogue, YEAR, lang, out)
    return _plain(files.report.read_text(encoding="utf-8"))


# --- years ----------------------------------------------------------------------------------

@pytest.fixture
def five_years_apart(catalogue) -> duckdb.DuckDBPyConnection:
    """The report warehouse with its earlier year moved five years back (2019 → 2024)."""
    con = build_warehouse(catalogue)
    con.execute("UPDATE indicator_values SET year = ? WHERE year = ?", [YEAR - 5, PREVIOUS_YEAR])
    _recompute_changes(con, catalogue)
    return con


def test_changes_between_non_consecutive_years_are_computed(five_years_apart):
    counted = five_years_apart.execute(
        "SELECT DISTINCT year, previous_year FROM indicator_changes").fetchall()
    assert counted == [(YEAR, YEAR - 5)]


@pytest.mark.parametrize(("lang", "subtitle", "lede"), [
    ("en", "2024 · change since 2019 (5 years earlier)",
     "Reference year 2024: change since 2019 (5 years earlier)."),
    ("fr", "2024 · évolution depuis 2019 (5 ans plus tôt)",
     "Année de référence 2024 : évolution depuis 2019 (5 ans plus tôt)."),
])
def test_tables_and_report_name_the_years_compared(five_years_apart, catalogue, tmp_path, lang,
                                                   subtitle, lede):
    table = _plain(build_domain_table(five_years_apart, catalogue, "LL", YEAR, lang)
                   .as_raw_html())
    assert subtitle in table
    text = _report(five_years_apart, catalogue, lang, tmp_path)
    assert lede in text
    assert "compared with the previous year" not in text
    assert "change since the previous year" not in text
    assert "comparée à l'année précédente" not in text


@pytest.mark.parametrize(("lang", "none"), [
    ("en", "no earlier year to compare with"), ("fr", "pas d'année antérieure à comparer")])
def test_a_first_year_claims_no_previous_year(catalogue, tmp_path, lang, none):
    con = build_warehouse(catalogue)
    con.execute("DELETE FROM indicator_values WHERE year = ?", [PREVIOUS_YEAR])
    _recompute_changes(con, catalogue)
    table = _plain(build_domain_table(con, catalogue, "ECO", YEAR, lang).as_raw_html())
    assert f"2024 · {none}" in table
    text = _report(con, catalogue, lang, tmp_path)
    assert none in text
    assert "2023" not in text


def test_consecutive_years_read_as_before(catalogue):
    con = build_warehouse(catalogue)
    table = _plain(build_domain_table(con, catalogue, "LL", YEAR, "en").as_raw_html())
    assert "2024 · change since 2023" in table and "years earlier" not in table


# --- indicators with values, per domain -----------------------------------------------------

@pytest.fixture
def thin(catalogue) -> duckdb.DuckDBPyConnection:
    """ECO keeps one indicator with values, LL none; the data says why for one of them."""
    con = build_warehouse(catalogue)
    eco = [i.id for i in catalogue.in_domain("ECO")]
    ll = [i.id for i in catalogue.in_domain("LL")]
    gone = eco[1:] + ll
    con.execute("UPDATE indicator_values SET value = NULL, status = 'missing' "
                "WHERE list_contains(?, indicator_id)", [gone[1:]])
    con.execute("DELETE FROM indicator_values WHERE indicator_id = ?", [gone[0]])
    con.execute("CREATE TABLE indicator_availability (indicator_id VARCHAR, ordinal INTEGER, "
                "computed BOOLEAN, reason VARCHAR, needs VARCHAR[])")
    con.execute("INSERT INTO indicator_availability VALUES (?, 0, false, "
                "'no rows in survey_responses', ['survey_responses'])", [ll[0]])
    return con


@pytest.mark.parametrize(("lang", "eco", "ll", "total"), [
    ("en", "Ecological transition (ECO): 1 of 3", "(LL): 0 of 4", "of the 26 indicators"),
    ("fr", "(ECO) : 1 sur 3", "(LL) : 0 sur 4", "des 26 indicateurs"),
])
def test_the_introduction_counts_indicators_with_values_per_domain(thin, catalogue, tmp_path,
                                                                   lang, eco, ll, total):
    text = _report(thin, catalogue, lang, tmp_path)
    assert eco in text and ll in text
    tables = {p.stem for p in (tmp_path / "tables").iterdir()}
    assert "LL" not in tables and "ECO" in tables  # no table of empty cells
    with_values = 26 - 2 - 4
    assert f"{with_values} {total}" in text
    assert "presents 26" not in text and "présente 26" not in text


def test_the_methods_list_indicators_without_values_and_why(thin, catalogue, tmp_path):
    text = _report(thin, catalogue, "en", tmp_path)
    methods = text[text.index("Indicators without values in 2024"):]
    ll = [i for i in catalogue.in_domain("LL")]
    eco = [i for i in catalogue.in_domain("ECO")]
    assert f"{ll[0].id} {ll[0].label('en')}: not computed: no rows in survey_responses" in methods
    assert f"{ll[1].id} {ll[1].label('en')}: computed, but no value can be published for " \
           "2024 (no data)" in methods
    assert f"{eco[1].id} {eco[1].label('en')}: no value for 2024 in the project's data" \
        in methods
    assert f"{eco[0].id} {eco[0].label('en')}:" not in methods  # it has values
    french = _report(thin, catalogue, "fr", tmp_path / "fr")
    assert "Indicateurs sans valeur en 2024" in french
    assert "non calculé : no rows in survey_responses" in french


def test_a_year_without_any_value_says_so_without_tables(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    con.execute("UPDATE indicator_values SET value = NULL, status = 'missing' WHERE year = ?",
                [YEAR])
    _recompute_changes(con, catalogue)
    files = write_report(con, catalogue, YEAR, "en", tmp_path)
    text = _plain(files.report.read_text(encoding="utf-8"))
    assert "No indicator could be computed for 2024 from the project's data" in text
    assert files.tables == ()
    assert "not found in indicator_values" not in text and "without any value" not in text
    assert text.count("computed, but no value can be published for 2024") == len(catalogue)
    french = _plain(write_report(con, catalogue, YEAR, "fr", tmp_path / "fr").report
                    .read_text(encoding="utf-8"))
    assert "Aucun indicateur n'a pu être calculé pour 2024" in french


# --- the learning-city index, screened ------------------------------------------------------

def _copy(source: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    target = duckdb.connect()
    for (name,) in source.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        target.register("_rows", source.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_table())
        target.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM _rows")
        target.unregister("_rows")
    return target


@pytest.fixture
def sample(sample_warehouse) -> duckdb.DuckDBPyConnection:
    return _copy(sample_warehouse)


def _selection(con) -> dict:
    import json
    row = con.execute("SELECT effect FROM composite_log WHERE year = ? AND step = 'selection'",
                      [YEAR]).fetchone()
    return json.loads(row[0])


def test_a_domain_short_of_indicators_is_left_out_and_said(sample, catalogue, tmp_path):
    med = [i.id for i in catalogue.in_domain("MED") if i.direction != "context"]
    assert len(med) == 3
    sample.execute("DELETE FROM indicator_values WHERE list_contains(?, indicator_id)",
                   [med[1:]])
    compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS)
    assert _selection(sample)["screened_out_domains"] == {
        "MED": {"with_values": 1, "indicators": 3}}
    nodes = {r[0] for r in sample.execute("SELECT DISTINCT node FROM composite_scores "
                                          "WHERE year = ?", [YEAR]).fetchall()}
    assert "MED" not in nodes and med[0] not in nodes and "ECO" in nodes
    text = _report(sample, catalogue, "en", tmp_path)
    assert "Left out for lack of data" in text
    assert "Media and access to information (1 of 3 indicators)" in text
    french = _report(sample, catalogue, "fr", tmp_path / "fr")
    assert "Exclus faute de données" in french and "(1 indicateurs sur 3)" in french


def test_a_commune_short_of_data_is_left_out_and_logged(sample, catalogue):
    index_ids = [i.id for i in catalogue if i.direction != "context"]
    commune = sample.execute("SELECT min(territory_code) FROM indicator_values "
                             "WHERE territory_level = 'COM'").fetchone()[0]
    sample.execute("UPDATE indicator_values SET value = NULL, status = 'missing' "
                   "WHERE territory_code = ? AND territory_level = 'COM' AND year = ? "
                   "AND list_contains(?, indicator_id)", [commune, YEAR, index_ids[:14]])
    compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS)
    screened = _selection(sample)["screened_out_units"]
    assert list(screened) == [commune] and screened[commune] < 0.5
    ranked = {r[0] for r in sample.execute("SELECT territory_code FROM composite_ranks "
                                           "WHERE year = ?", [YEAR]).fetchall()}
    assert commune not in ranked and len(ranked) >= 2
    # With a laxer threshold the same commune is ranked.
    compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS,
                                screening=Screening(min_unit_share=0.3))
    assert commune in {r[0] for r in sample.execute(
        "SELECT territory_code FROM composite_ranks WHERE year = ?", [YEAR]).fetchall()}


@pytest.mark.parametrize(("share", "reason", "en", "fr"), [
    (0.5, "no_domain",
     "No learning-city index for 2024: no action domain has values for at least 50% of its "
     "indicators.",
     "Pas d'indice de la ville apprenante pour 2024 : aucun domaine d'action n'a de valeurs "
     "pour au moins 50\u202f% de ses indicateurs."),
    (0.2, "too_few_indicators",
     "No learning-city index for 2024: only 1 indicator could enter it, and an index of one "
     "indicator would only repeat that indicator's ranking.",
     "Pas d'indice de la ville apprenante pour 2024 : un seul indicateur pouvait y entrer"),
])
def test_one_indicator_gives_no_index_and_one_sentence(sample, catalogue, tmp_path, share,
                                                       reason, en, fr):
    compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS)  # an index, then none
    sample.execute("DELETE FROM indicator_values WHERE indicator_id <> 'LL01'")
    with pytest.raises(IndexNotBuilt) as raised:
        compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS,
                                    screening=Screening(min_domain_share=share))
    assert raised.value.reason == reason
    assert index_not_built(sample, YEAR)["reason"] == reason
    assert sample.execute("SELECT count(*) FROM composite_ranks WHERE year = ?",
                          [YEAR]).fetchone()[0] == 0  # the earlier index is not shown
    text = _report(sample, catalogue, "en", tmp_path)
    assert en in text
    assert "Rank among the communes" not in text and "1–1" not in text
    assert fr in _report(sample, catalogue, "fr", tmp_path / "fr")


def test_a_single_commune_gives_no_index(sample, catalogue):
    sample.execute("DELETE FROM indicator_values WHERE territory_level = 'COM' AND "
                   "territory_code <> (SELECT min(territory_code) FROM indicator_values "
                   "WHERE territory_level = 'COM')")
    with pytest.raises(IndexNotBuilt) as raised:
        compute_learning_city_index(sample, catalogue, YEAR, draws=DRAWS)
    assert raised.value.reason == "too_few_units"


def test_screening_shares_are_checked():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Screening(min_unit_share=1.5)


# --- a run of the sample project without its survey and commuting data ----------------------

def _reduced_project(folder: Path, index: dict | None = None,
                     without: tuple[str, ...] = ("aes_survey", "commuting")) -> Path:
    shutil.copytree(SAMPLE, folder)
    path = folder / "lci.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = [s for s in raw["sources"] if s["name"] not in without]
    if index is not None:
        raw["index"] = index
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_run_without_survey_or_commuting_counts_what_it_has(tmp_path):
    config = _reduced_project(tmp_path / "project", {"min_indicator_share_per_domain": 0.7,
                                                     "draws": 20})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = _plain((out / "public" / "2024" / "report.html").read_text(encoding="utf-8"))
    assert "14 of the 26 indicators have values for 2024" in text
    assert "Lifelong-learning participation (LL): 0 of 4" in text
    assert "LL01 Adult learning participation (12 months): not computed: no rows in " \
           "survey_responses" in text
    # Domains with two of their three indicators fall below 70 %: only PED is left, whose
    # three indicators give an index; the report says which domains were left out.
    assert "Left out for lack of data" in text
    assert "Ecological transition (2 of 3 indicators)" in text
    assert "Lifelong-learning participation (0 of 4 indicators)" in text
    assert [f for f in audit_bundles(out, render=render_reports) if not f.ok] == []


def test_a_run_where_nothing_can_be_computed_says_so_plainly(tmp_path):
    config = _reduced_project(tmp_path / "project", {"draws": 20},
                              ("aes_survey", "commuting", "admin_measures"))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "learning-city index not built" in " ".join(result.output.split())
    text = _plain((out / "public" / "2024" / "report.html").read_text(encoding="utf-8"))
    assert "No indicator could be computed for 2024 from the project's data" in text
    assert ("No learning-city index for 2024: no indicator has a value for the territories "
            "ranked.") in text
    assert "Rank among the communes" not in text
    assert "indicator_values" not in text and not (out / "public" / "2024" / "tables").exists()
    assert "no indicator could be computed for 2024" in " ".join(result.output.split())
    assert not (out / "public" / "published" / "composite_ranks.parquet").exists()
    assert [f for f in audit_bundles(out, render=render_reports) if not f.ok] == []


def test_a_report_capped_per_level_passes_its_audit(tmp_path):
    """The audit re-renders the report with the project's own rows per level."""
    config = _reduced_project(tmp_path / "project", {"draws": 20}, without=())
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["report"] = {"rows_per_level": 3}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = _plain((out / "public" / "2024" / "report.html").read_text(encoding="utf-8"))
    assert "distribution" in text
    assert [f for f in audit_bundles(out, render=render_reports) if not f.ok] == []
