"""Contracts follow the project: its territory levels and code formats, its population's
detail, its survey items, and the columns it does not have."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from indicators import load_catalogue
from indicators.compute.registry import compute_indicator_values
from pipelines.config import ConfigError, load_config
from pipelines.ingest import ingest
from pipelines.run import compute_options

LEVELS = """
territory_levels:
  - {code: FREG, label: {en: Parishes, fr: Paroisses}, pattern: '^\\d{7}$', example: "1106010"}
  - {code: MUN, label: {en: Municipalities, fr: Municipalités}, pattern: '^\\d{4}$',
     example: "1106", column: municipality_code}
"""
TERRITORIES = """code,level,name,municipality
1106010,FREG,Ajuda,1106
1106020,FREG,Alcântara,1106
1106,MUN,Lisboa,
"""


def _project(root: Path, extra: str = "", population: str | None = None,
             sources: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "territories.csv").write_text(TERRITORIES, encoding="utf-8")
    (root / "population.csv").write_text(population or (
        "FREG,YEAR,POP\n1106010,2021,1500\n1106020,2021,2500\n"), encoding="utf-8")
    (root / "codebook.csv").write_text(
        "measure_id,label_en,label_fr,unit,min_value,max_value,description_en\n"
        "library_active_borrowers,Borrowers,Emprunteurs,persons,0,100000,\n", encoding="utf-8")
    (root / "admin.csv").write_text(
        "FREG,YEAR,MEASURE,VALUE\n1106010,2021,library_active_borrowers,300\n"
        "1106020,2021,library_active_borrowers,200\n", encoding="utf-8")
    config = root / "lci.yaml"
    config.write_text(f"""
name: Lisboa
years: [2021]
{LEVELS}
population: {{age_bands: null, sex: false}}
{extra}
sources:
  - name: territories
    path: territories.csv
    format: csv
    table: territories
    columns: {{territory_code: code, level: level, name: name,
               municipality_code: municipality}}
  - name: population_totals
    path: population.csv
    format: csv
    table: population_totals
    columns: {{territory_code: FREG, year: YEAR, population: POP}}
  - {{name: codebook, path: codebook.csv, format: csv, table: admin_codebook}}
  - name: admin
    path: admin.csv
    format: csv
    table: admin_measures
    columns: {{territory_code: FREG, year: YEAR, measure_id: MEASURE, value: VALUE,
               source: null}}
{sources}
""", encoding="utf-8")
    return config


def test_codes_are_checked_against_the_projects_own_formats(tmp_path):
    config = load_config(_project(tmp_path))
    con = duckdb.connect()
    result = ingest(con, config)
    assert result.clean, result
    assert con.execute("SELECT count(*) FROM territories").fetchall() == [(3,)]


def test_a_code_in_another_levels_format_is_quarantined_naming_the_levels_formats(tmp_path):
    config = _project(tmp_path)
    (tmp_path / "territories.csv").write_text(TERRITORIES + "11060,FREG,Short,1106\n",
                                              encoding="utf-8")
    con = duckdb.connect()
    ingest(con, load_config(config))
    [(check, rule)] = con.execute(
        "SELECT check_id, rule.en FROM quarantine WHERE check_id LIKE 'territories.%'"
    ).fetchall()
    assert check == "territories.territory_code.level_format"
    assert "FREG: 1106010" in rule and "MUN: 1106" in rule


def test_optional_columns_left_out_or_mapped_to_nothing_are_empty(tmp_path):
    con = duckdb.connect()
    ingest(con, load_config(_project(tmp_path)))
    assert con.execute("SELECT DISTINCT valid_from, source FROM territories, admin_measures"
                       ).fetchall() == [(None, None)]


def test_a_required_column_mapped_to_nothing_is_one_clear_error(tmp_path):
    config = _project(tmp_path)
    text = config.read_text(encoding="utf-8").replace("value: VALUE,", "value: null,")
    config.write_text(text, encoding="utf-8")
    con = duckdb.connect()
    result = ingest(con, load_config(config))
    [error] = result.errors
    assert "maps ['value'] to nothing" in error.message
    assert error.problem.code.endswith("mapping_incomplete")


def test_per_inhabitant_indicators_need_only_population_totals(tmp_path):
    config = load_config(_project(tmp_path))
    con = duckdb.connect()
    ingest(con, config)
    catalogue = load_catalogue()
    compute_indicator_values(con, catalogue, territory_model=config.territory_model,
                             options=compute_options("fail", config.contracts))
    med = next(i for i in catalogue if i.kind == "admin_ratio"
               and getattr(i.computation.numerator, "measure", "") == "library_active_borrowers")
    values = dict(con.execute(
        "SELECT territory_level || ':' || territory_code, value FROM indicator_values "
        "WHERE indicator_id = ? AND breakdown = 'total'", [med.id]).fetchall())
    scale = med.computation.scale
    assert values["MUN:1106"] == pytest.approx(scale * 500 / 4000)
    assert values["FREG:1106010"] == pytest.approx(scale * 300 / 1500)


def test_an_indicator_needing_an_age_band_the_population_lacks_says_so(tmp_path):
    config = load_config(_project(tmp_path))
    con = duckdb.connect()
    ingest(con, config)
    compute_indicator_values(con, load_catalogue(), territory_model=config.territory_model,
                             options=compute_options("fail", config.contracts))
    reasons = dict(con.execute("SELECT indicator_id, reason FROM indicator_availability "
                               "WHERE NOT computed").fetchall())
    banded = [r for r in reasons.values() if r and "a band the project's population" in r]
    assert banded and all("aged 15-17, 18-24" in r and "its age bands: none" in r
                          for r in banded)
    assert reasons["LL01"] == "no rows in survey_responses"


def test_survey_items_come_from_the_project_with_their_missing_codes(tmp_path):
    (tmp_path / "survey.csv").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "survey.csv").write_text(
        "ID,YEAR,FREG,STRATUM,PSU,W,COURSE\n"
        "1,2021,1106010,A,1,10,1\n2,2021,1106010,A,2,12,9\n3,2021,1106020,A,3,11,0\n"
        "4,2021,1106020,A,4,9,2\n", encoding="utf-8")
    items = """
survey_items:
  - {name: took_course, label: {en: Took a course, fr: A suivi un cours}, codes: [0, 1],
     missing: ["9"]}
"""
    survey = """
  - name: survey
    path: survey.csv
    format: csv
    table: survey_responses
    columns: {respondent_id: ID, year: YEAR, territory_code: FREG, stratum: STRATUM, psu: PSU,
              weight: W, took_course: COURSE}
"""
    config = load_config(_project(tmp_path, items, sources=survey))
    assert "formal_12m" not in config.contracts.schemas["survey_responses"].columns
    con = duckdb.connect()
    ingest(con, config)
    assert con.execute("SELECT respondent_id, took_course FROM survey_responses ORDER BY 1"
                       ).fetchall() == [("1", 1), ("2", None), ("3", 0)]
    [(value, rule)] = con.execute("SELECT value, rule.en FROM quarantine").fetchall()
    assert value == "2" and "one of: 0, 1" in rule


def test_a_survey_item_cannot_take_a_design_columns_name(tmp_path):
    items = """
survey_items:
  - {name: weight, label: {en: W, fr: P}, codes: [0, 1]}
"""
    with pytest.raises(ConfigError, match="sampling design"):
        load_config(_project(tmp_path, items))


def test_a_report_territory_at_an_undeclared_level_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="level DEP is not a territory level"):
        load_config(_project(tmp_path, 'report: {territories: ["DEP:11"]}'))


def test_built_in_survey_indicators_the_projects_items_cannot_give_say_which_items(tmp_path):
    test_survey_items_come_from_the_project_with_their_missing_codes(tmp_path)
    config = load_config(tmp_path / "lci.yaml")
    con = duckdb.connect()
    ingest(con, config)
    compute_indicator_values(con, load_catalogue(), territory_model=config.territory_model,
                             options=compute_options("fail", config.contracts))
    reasons = dict(con.execute("SELECT indicator_id, reason FROM indicator_availability "
                               "WHERE NOT computed").fetchall())
    assert reasons["LL01"].startswith("needs survey items ")
    assert "formal_12m" in reasons["LL01"] and "age" in reasons["LL01"]


def test_the_run_says_in_the_projects_terms_why_an_indicator_is_not_computed(tmp_path):
    from pipelines.run import run

    context = run(load_config(_project(tmp_path / "project")), tmp_path / "out")
    reasons = {i: r for i, _, computed, r in context.availability if not computed}
    assert reasons["LL01"] == "needs survey_responses — no source declared"
    assert reasons["LNK01"] == "needs commuting — no source declared"
    computed = [i for i, _, done, _ in context.availability if done]
    assert computed and all(i not in reasons for i in computed)


def test_a_parent_code_naming_no_territory_of_its_level_is_flagged_and_kept(tmp_path):
    config = _project(tmp_path)
    (tmp_path / "territories.csv").write_text(TERRITORIES + "1106030,FREG,Belém,1199\n",
                                              encoding="utf-8")
    con = duckdb.connect()
    ingest(con, load_config(config))
    [(check, severity, value, rule)] = con.execute(
        "SELECT check_id, severity, value, rule.en FROM validation_failures").fetchall()
    assert (check, severity, value) == ("territories.municipality_code.known_parent",
                                        "warning", "1199")
    assert "level MUN (municipalities)" in rule
    assert con.execute("SELECT count(*) FROM territories").fetchall() == [(4,)]


def test_foreign_codes_in_a_project_without_levels_stop_the_run_with_the_way_out(tmp_path):
    from pipelines.run import RunFailed, run

    config = _project(tmp_path / "project")
    text = config.read_text(encoding="utf-8").replace(LEVELS, "")
    config.write_text(text.replace("municipality_code: municipality", "epci_code: municipality"),
                      encoding="utf-8")
    with pytest.raises(RunFailed) as failed:
        run(load_config(config), tmp_path / "out")
    assert "territories: 3 of 3 rows rejected" in str(failed.value)
    message = str(failed.value)
    assert message.count("Declare your territory levels and their code formats "
                         "(territory_levels)") == 1
    assert "Déclarez leurs niveaux et formats de code (territory_levels)" in failed.value.french
