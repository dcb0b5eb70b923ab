"""Two projects written as users write them, run end to end through the command line.

- ``tests/data/projects/lisboa``: a project from another country (Portugal) with its own
  territory levels (parishes → municipalities → NUTS III regions, a parish naming only its
  municipality), codes, level labels in English and French, census years five years apart
  (2016, 2021), a population in five-year age bands without a sex split (totals only in 2016),
  its own survey items (a missing code 9) and its own indicators.
- ``tests/data/projects/pays_de_retz``: a French project outside the sample communes, written
  with French office files (``;`` CSV in Windows-1252 with decimal commas, a workbook with a
  title above its header), a département and a région sharing the code 11, and an
  ``indicators:`` section that drops built-in indicators, changes a label and a target and adds
  a survey and an administrative indicator of its own.

Done when (issue #11, item 8): "A project from another country, with its own codes, levels,
population bands and indicators, runs end to end in English and French and its report shows
only what it has, correctly labelled; a French project adds and removes indicators."

The data files are written by ``tests/data/projects/generate.py`` (seeded); the project files
(``lci.yaml``) are written by hand from docs/city-departments.md.
"""

from __future__ import annotations

import csv
import html
import importlib.util
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app

runner = CliRunner()
WIDE = {"COLUMNS": "220"}
PROJECTS = Path(__file__).resolve().parents[1] / "data" / "projects"
FRENCH_HEADINGS = {"Communes", "EPCI", "Départements", "Régions"}
LISBOA_HEADINGS = {"en": {"Parishes", "Municipalities", "NUTS 3 regions"},
                   "fr": {"Paroisses", "Municipalités", "Régions NUTS 3"}}
# Lisbon's NUTS III region and its twelve parishes (through their municipalities).
GRANDE_LISBOA = {"110654", "110655", "110656", "110657", "110658", "110659",  # Lisboa
                 "111002", "111003", "111005",  # Oeiras
                 "111507", "111508", "111509"}  # Amadora


# --- helpers -------------------------------------------------------------------------------

def project_copy(name: str, root: Path, edit: tuple[str, str] | None = None) -> Path:
    """A copy of one of the user projects in ``root``; ``edit`` replaces a text of its project
    file (old, new). Returns the project file."""
    folder = root / name
    shutil.copytree(PROJECTS / name, folder)
    config = folder / "lci.yaml"
    if edit is not None:
        text = config.read_text(encoding="utf-8")
        assert edit[0] in text
        config.write_text(text.replace(*edit), encoding="utf-8")
    return config


def lci(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def query(out: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def page_text(path: Path) -> str:
    """What a reader of an HTML page sees: its text, tags, styles and scripts left out."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def group_headings(path: Path) -> set[str]:
    """The row-group headings of the comparison tables (the territory levels)."""
    page = path.read_text(encoding="utf-8")
    return {html.unescape(h).strip() for h in
            re.findall(r'class="gt_group_heading"[^>]*>([^<]*)<', page)}


def subtitles(path: Path) -> list[str]:
    page = path.read_text(encoding="utf-8")
    return [html.unescape(s).strip() for s in
            re.findall(r'class="[^"]*\bgt_subtitle\b[^"]*"[^>]*>([^<]*)<', page)]


def run_project(config: Path, out: Path, lang: str) -> str:
    code, output = lci("run", "--config", str(config), "--out", str(out), "--lang", lang)
    assert code == 0, output
    return output


# --- the data files -----------------------------------------------------------------------

def test_the_projects_data_files_are_what_their_seeded_generator_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("user_projects_generate",
                                                  PROJECTS / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.write(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 13
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (PROJECTS / relative).read_bytes(), relative


# --- Lisboa: a project from another country -----------------------------------------------

@pytest.fixture(scope="module")
def lisboa(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """``lci run`` of the Lisbon project in English and in French: {lang: (out, console)}."""
    config = project_copy("lisboa", tmp_path_factory.mktemp("lisboa"))
    runs = {}
    for lang in ("en", "fr"):
        out = tmp_path_factory.mktemp(f"lisboa-{lang}") / "output"
        runs[lang] = (out, run_project(config, out, lang))
    return runs


def test_a_project_from_another_country_validates_with_its_own_codes_levels_and_bands(
        tmp_path):
    config = project_copy("lisboa", tmp_path)
    code, output = lci("validate", "--config", str(config), "--out", str(tmp_path / "out"),
                       "--format", "json")
    assert code == 0, output
    facts = json.loads(output[output.index("{"):output.rindex("}") + 1])
    assert facts["clean"] is True
    read = {s["source"]: (s["rows_read"], s["rows_accepted"], s["rows_quarantined"])
            for s in facts["sources"]}
    assert read["territories"] == (30, 30, 0)  # 21 parishes, 6 municipalities, 3 regions
    assert read["census_age_bands"] == (21 * 18, 21 * 18, 0)  # 18 five-year bands, no sex
    assert read["learning_survey"] == (840, 840, 0)
    assert all(quarantined == 0 for _, _, quarantined in read.values())
    assert not [p for p in facts["problems"] if p["severity"] in ("error", "warning")]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_it_runs_end_to_end_in_english_and_in_french(lisboa, lang):
    out, output = lisboa[lang]
    assert (out / "public" / "2021" / "report.html").is_file()
    assert (out / "public" / "2021" / "indicators.csv").is_file()
    assert "Traceback" not in output


def test_the_warehouse_has_values_for_the_projects_own_levels_and_codes(lisboa):
    out, _ = lisboa["en"]
    levels = {lv for (lv,) in query(out, "SELECT DISTINCT territory_level FROM indicator_values")}
    assert levels == {"FREG", "MUN", "NUTS3"}
    published = set(query(out, "SELECT DISTINCT territory_level, territory_code "
                               "FROM indicator_values WHERE value IS NOT NULL"))
    assert {("NUTS3", "PT1A0"), ("NUTS3", "PT1B0"), ("NUTS3", "PT16D"), ("MUN", "1106"),
            ("MUN", "0105"), ("FREG", "110654"), ("FREG", "010501")} <= published
    declared = set(query(out, "SELECT level, territory_code FROM territories"))
    assert {(lv, c) for lv, c in query(out, "SELECT DISTINCT territory_level, territory_code "
                                            "FROM indicator_values")} == declared


def test_the_published_bundle_carries_the_projects_levels_and_their_labels(lisboa):
    out, _ = lisboa["fr"]
    con = duckdb.connect()
    try:
        levels = con.execute("SELECT level, label_en, label_fr, base FROM read_parquet(?) "
                             "ORDER BY ordinal", [str(out / "public" / "published" /
                                                      "territory_levels.parquet")]).fetchall()
    finally:
        con.close()
    assert levels[:3] == [("FREG", "Parishes", "Paroisses", True),
                          ("MUN", "Municipalities", "Municipalités", False),
                          ("NUTS3", "NUTS 3 regions", "Régions NUTS 3", False)]


def test_a_region_is_made_of_the_parishes_of_its_municipalities(lisboa):
    """The parishes name their municipality only; the municipalities name the region."""
    out, _ = lisboa["en"]
    members = {c for (c,) in query(out, "SELECT commune_code FROM territory_members WHERE "
                                        "territory_level = 'NUTS3' AND territory_code = 'PT1A0'")}
    assert members == GRANDE_LISBOA
    (numerator, denominator, value), = query(out, """
        SELECT numerator, denominator, value FROM indicator_values WHERE indicator_id = 'LIS03'
        AND territory_level = 'NUTS3' AND territory_code = 'PT1A0' AND year = 2016""")
    (enrolments,), = query(out, "SELECT sum(value) FROM admin_measures WHERE year = 2016 AND "
                                "measure_id = 'course_enrolments' AND territory_code IN "
                                "(SELECT unnest($1::VARCHAR[]))", [sorted(GRANDE_LISBOA)])
    (residents,), = query(out, "SELECT sum(population) FROM population_totals WHERE year = 2016 "
                               "AND territory_code IN (SELECT unnest($1::VARCHAR[]))",
                          [sorted(GRANDE_LISBOA)])
    assert (numerator, denominator) == (enrolments, residents)
    assert value == pytest.approx(1000 * enrolments / residents)


def test_census_totals_alone_give_per_inhabitant_ratios_in_the_year_without_age_bands(lisboa):
    out, _ = lisboa["en"]
    rows = dict(((year), (denominator, status)) for year, denominator, status in query(out, """
        SELECT year, denominator, status FROM indicator_values WHERE indicator_id = 'MED04'
        AND territory_level = 'MUN' AND territory_code = '1106' AND breakdown = 'total'"""))
    (total_2016,), = query(out, "SELECT sum(population) FROM population_totals p JOIN "
                                "territory_members m ON m.commune_code = p.territory_code AND "
                                "m.territory_level = 'MUN' AND m.territory_code = '1106' "
                                "WHERE p.year = 2016")
    (detail_2021,), = query(out, "SELECT sum(population) FROM population p JOIN "
                                 "territory_members m ON m.commune_code = p.territory_code AND "
                                 "m.territory_level = 'MUN' AND m.territory_code = '1106' "
                                 "WHERE p.year = 2021")
    assert rows == {2016: (total_2016, "ok"), 2021: (detail_2021, "ok")}


def test_the_projects_survey_items_are_read_with_their_missing_code(lisboa):
    out, _ = lisboa["en"]
    with open(PROJECTS / "lisboa" / "raw" / "inquerito_aprendizagem.csv",
              encoding="utf-8") as handle:
        nines = sum(row["CURSO_12M"] == "9" for row in csv.DictReader(handle))
    assert nines > 0
    (unanswered,), = query(out, "SELECT count(*) FROM survey_responses WHERE took_course IS NULL")
    assert unanswered == nines
    (answers,), = query(out, "SELECT list(DISTINCT took_course ORDER BY took_course) "
                             "FROM survey_responses WHERE took_course IS NOT NULL")
    assert answers == [0, 1]


def test_the_projects_own_indicators_are_computed_at_every_level(lisboa):
    out, _ = lisboa["en"]
    computed = {(i, lv) for i, lv in query(out, """
        SELECT DISTINCT indicator_id, territory_level FROM indicator_values
        WHERE value IS NOT NULL""")}
    for own in ("LIS01", "LIS02", "LIS04"):  # survey: parishes have too few respondents
        assert {(own, "MUN"), (own, "NUTS3")} <= computed
    assert {("LIS03", "FREG"), ("LIS03", "MUN"), ("LIS03", "NUTS3")} <= computed
    (mean, n), = query(out, "SELECT value, n_unweighted FROM indicator_values WHERE indicator_id "
                            "= 'LIS02' AND territory_code = 'PT1A0' AND year = 2021")
    assert 0 < mean < 2000 and n > 100
    ids = {i for (i,) in query(out, "SELECT DISTINCT indicator_id FROM indicator_values")}
    assert ids == {"LIS01", "LIS02", "LIS03", "LIS04", "MED04", "SKL01"}  # MAN01: not computed


def test_a_built_in_indicator_the_population_cannot_give_is_said_not_computed_and_why(lisboa):
    for lang, title in (("en", "Indicators: 6 computed, 1 not computed"),
                        ("fr", "Indicateurs\u00a0: 6 calculés, 1 non calculé")):
        _, output = lisboa[lang]
        assert title in output
        line = next(x for x in output.splitlines() if "MAN01" in x)
        assert "15-17" in line
    out, _ = lisboa["en"]
    (computed, reason), = query(out, "SELECT computed, reason FROM indicator_availability "
                                     "WHERE indicator_id = 'MAN01'")
    assert computed is False and "15-17, 18-24" in reason
    assert query(out, "SELECT count(value) FROM indicator_values WHERE indicator_id = 'MAN01'"
                 ) == [(0,)]


@pytest.mark.parametrize("section", ["use", "none"])
def test_a_built_in_indicator_reading_items_the_survey_lacks_is_said_not_computed(
        tmp_path, section):
    """Kept by ``use:``, or with no indicators: section at all (every built-in indicator)."""
    edit = (("use: [MED04, MAN01, SKL01]", "use: [LL01, MED04, MAN01, SKL01]")
            if section == "use" else None)
    config = project_copy("lisboa", tmp_path, edit=edit)
    if section == "none":
        text = config.read_text(encoding="utf-8")
        config.write_text(text[:text.index("\nindicators:\n")] + "\n" + text[text.index(
            "\nreport:\n"):], encoding="utf-8")
    code, output = lci("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert code == 0, output
    line = next(x for x in output.splitlines() if x.lstrip("│ ").startswith("LL01"))
    assert "nonformal_12m" in line or "formal_12m" in line


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_report_headings_are_the_projects_level_labels(lisboa, lang):
    out, _ = lisboa[lang]
    report = out / "public" / "2021" / "report.html"
    headings = group_headings(report)
    assert headings == LISBOA_HEADINGS[lang]
    assert not headings & FRENCH_HEADINGS
    for table in (out / "public" / "2021" / "tables").glob("*.html"):
        assert not group_headings(table) & FRENCH_HEADINGS, table.name


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_report_names_no_french_territory_level(lisboa, lang):
    """A Portuguese report speaks of parishes and municipalities, never of communes,
    départements, régions or EPCIs (headings, notes and methods alike)."""
    out, _ = lisboa[lang]
    shown = page_text(out / "public" / "2021" / "report.html")
    for word in ("commune", "département", "departement", "EPCI", "INSEE"):
        assert not re.search(rf"\b{word}", shown, flags=re.I), \
            re.search(rf".{{0,80}}\b{word}.{{0,40}}", shown, flags=re.I).group(0)
    assert not re.search(r"\bRégions\b(?! NUTS)", shown)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_learning_city_index_of_parishes_is_labelled_with_the_projects_level(
        tmp_path, lang):
    """With a looser domain screening (``index:`` in the project file) Lisbon's parishes get
    an index: its table speaks of parishes."""
    config = project_copy("lisboa", tmp_path)
    with open(config, "a", encoding="utf-8") as handle:
        handle.write("\nindex:\n  min_indicator_share_per_domain: 0.3\n")
    out = tmp_path / "output"
    run_project(config, out, lang)
    page = (out / "public" / "2021" / "report.html").read_text(encoding="utf-8")
    (subtitle,) = re.findall(r'id="lci-index-subtitle">([^<]*)<', page)
    assert subtitle.startswith({"en": "Parishes", "fr": "Paroisses"}[lang]), subtitle
    table = page[page.index('id="lci-index"'):]
    table = html.unescape(re.sub(r"<[^>]+>", " ", table[:table.index("</table>")]))
    assert not re.search(r"\bcommunes?\b", table, flags=re.I)


@pytest.mark.parametrize(("lang", "since"), [("en", "since 2016"), ("fr", "depuis 2016")])
def test_changes_are_labelled_since_the_census_five_years_earlier(lisboa, lang, since):
    out, _ = lisboa[lang]
    report = out / "public" / "2021" / "report.html"
    titles = subtitles(report)
    assert titles and all(since in t for t in titles if "2016" in t)
    assert sum(since in t for t in titles) >= 3  # MED, SKL and the project's own domain
    shown = page_text(report)
    reference = shown[:shown.index("2021") + 200]
    assert "2016" in reference, reference  # the year the report compares with, named up front
    assert not re.search(r"previous year|année précédente", " ".join(titles))


def test_the_first_census_year_is_reported_with_no_earlier_year_to_compare(tmp_path):
    config = project_copy("lisboa", tmp_path)
    out = tmp_path / "output"
    code, output = lci("run", "--config", str(config), "--out", str(out), "--year", "2016")
    assert code == 0, output
    report = out / "public" / "2016" / "report.html"
    titles = subtitles(report)
    assert titles and all(t == "2016 · no earlier year to compare with" for t in titles), titles
    assert "Reference year 2016: no earlier year to compare with" in page_text(report)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_report_shows_the_projects_indicators_and_says_why_one_is_missing(lisboa, lang):
    """The report shows the project's own indicators and the built-in ones it kept, none
    other; the one its data cannot give is said not computed, with the reason."""
    out, _ = lisboa[lang]
    shown = page_text(out / "public" / "2021" / "report.html")
    labels = {"en": ["Adults who took a course", "Hours of learning per adult",
                     "Adult course enrolments", "Adults using a public library",
                     "Lisbon learning plan"],
              "fr": ["Adultes ayant suivi un cours", "Heures de formation par adulte",
                     "Inscriptions aux cours pour adultes",
                     "Adultes fréquentant une bibliothèque publique",
                     "Plan d'apprentissage de Lisbonne"]}[lang]
    for label in labels:
        assert label in shown
    for absent in ("LL01", "LNK01", "CIT03", "PED01", "ECO01"):
        assert absent not in shown
    tables = {p.stem for p in (out / "public" / "2021" / "tables").glob("*.html")}
    assert {"MED", "SKL", "LIS"} <= tables
    missing = shown[shown.index("MAN01", shown.index("Indicators without values" if lang == "en"
                                                     else "Indicateurs sans valeur")):]
    assert "15-17, 18-24" in missing[:400]


def test_the_french_report_says_in_french_why_an_indicator_was_not_computed(lisboa):
    out, _ = lisboa["fr"]
    shown = page_text(out / "public" / "2021" / "report.html")
    missing = shown[shown.index("Indicateurs sans valeur"):]
    missing = missing[missing.index("MAN01"):][:400]
    assert "15-17" in missing
    assert not re.search(r"\b(needs|population aged|does not give|its age bands)\b", missing), \
        missing


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_report_has_no_table_for_an_indicator_that_has_no_value(lisboa, lang):
    out, _ = lisboa[lang]
    tables = {p.stem for p in (out / "public" / "2021" / "tables").glob("*.html")}
    assert "MAN" not in tables
    assert 'id="domain-MAN-title"' not in (out / "public" / "2021" / "report.html").read_text(
        encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_lci_audit_passes_on_the_foreign_projects_bundle(lisboa, lang):
    out, _ = lisboa[lang]
    code, output = lci("audit", str(out))
    assert code == 0, output
    assert "Audit passed" in output


def test_two_runs_of_the_foreign_project_give_byte_identical_bundles(tmp_path):
    config = project_copy("lisboa", tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    run_project(config, first, "fr")
    run_project(config, second, "fr")
    for bundle in ("public", "restricted"):
        files = sorted(p.relative_to(first / bundle) for p in (first / bundle).rglob("*")
                       if p.is_file())
        assert files == sorted(p.relative_to(second / bundle)
                               for p in (second / bundle).rglob("*") if p.is_file())
        for relative in files:
            assert (first / bundle / relative).read_bytes() == (
                second / bundle / relative).read_bytes(), relative


def test_lci_trace_reproduces_cells_of_the_projects_own_levels(lisboa):
    out, _ = lisboa["en"]
    for cell in (("LIS03", "PT1A0", "2016"), ("LIS01", "NUTS3:PT1A0", "2021"),
                 ("LIS02", "1106", "2021"), ("MED04", "0105", "2021")):
        code, output = lci("trace", *cell, "--out", str(out))
        assert code == 0, (cell, output)
        assert "The records reproduce the published numerator, denominator" in output, cell


def test_lci_explain_shows_the_projects_own_definitions_and_why_one_was_not_computed(lisboa):
    out, _ = lisboa["en"]
    code, output = lci("explain", "LIS02", "--out", str(out))
    assert code == 0, output
    assert "kind: survey_mean" in output and "variable: learning_hours" in output
    assert "lci.yaml" in output
    code, output = lci("explain", "MAN01", "--out", str(out))
    assert code == 0, output
    assert "not computed: needs the population aged 15-17, 18-24" in output


def test_an_own_indicators_breakdown_the_survey_cannot_give_is_refused_naming_it(tmp_path):
    """LIS01 broken down by sex, which the Lisbon survey does not ask: the project file is
    refused before anything runs, naming the file, the indicator and the field."""
    config = project_copy("lisboa", tmp_path, edit=(
        '      target: {value: 50, source: "Lisbon learning plan 2030"}\n',
        '      target: {value: 50, source: "Lisbon learning plan 2030"}\n'
        '      breakdowns: [sex]\n'))
    code, output = lci("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert code == 2, output
    flat = " ".join(output.split())
    assert "lci.yaml, indicator LIS01: field 'breakdowns[0]'" in flat and "'sex'" in flat
    assert not (tmp_path / "out").exists()


def test_a_code_in_no_format_of_the_project_is_quarantined_naming_the_parish_format(tmp_path):
    config = project_copy("lisboa", tmp_path)
    measures = config.parent / "raw" / "indicadores_freguesia.csv"
    with open(measures, "a", encoding="utf-8", newline="") as handle:
        handle.write("1106540,2021,course_enrolments,10,Erro\r\n")
    code, output = lci("validate", "--config", str(config), "--out", str(tmp_path / "out"),
                       "--format", "json")
    assert code == 1
    facts = json.loads(output[output.index("{"):output.rindex("}") + 1])
    errors = [p for p in facts["problems"] if p["severity"] == "error"]
    assert {(p["file"], p["row"], p["column"], p["value"]) for p in errors} == {
        ("raw/indicadores_freguesia.csv", 128, "freguesia", "1106540")}
    messages = [p["message"] for p in errors]
    assert any("110654" in m["en"] and "parish" in m["en"] for m in messages), messages
    assert any("110654" in m["fr"] and "paroisse" in m["fr"] for m in messages), messages


def test_validation_rules_name_the_projects_levels_as_labelled(lisboa):
    out, _ = lisboa["en"]
    summary = json.loads((out / "public" / "validation" / "summary.json").read_text(
        encoding="utf-8"))
    rules = {c["check_id"]: c["rule"] for c in summary["checks"]}
    nuts3 = rules["territories.nuts3_code.str_matches"]
    assert "NUTS 3" in nuts3["en"] and "NUTS 3" in nuts3["fr"], nuts3
    known = rules["admin_measures.territory_code.known_commune"]
    assert "parish" in known["en"].lower() and "paroisse" in known["fr"].lower(), known


# --- Pays de Retz: a French project that adds and removes indicators ------------------------

RETZ_DROPPED = ("PED", "LNK", "MAN03")


@pytest.fixture(scope="module")
def retz(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """``lci run`` of the Pays de Retz project in French and in English."""
    config = project_copy("pays_de_retz", tmp_path_factory.mktemp("retz"))
    runs = {}
    for lang in ("fr", "en"):
        out = tmp_path_factory.mktemp(f"retz-{lang}") / "output"
        runs[lang] = (out, run_project(config, out, lang))
    return runs


def test_french_office_files_outside_the_sample_validate_without_a_rejected_row(tmp_path):
    config = project_copy("pays_de_retz", tmp_path)
    code, output = lci("validate", "--config", str(config), "--out", str(tmp_path / "out"),
                       "--format", "json")
    assert code == 0, output
    facts = json.loads(output[output.index("{"):output.rindex("}") + 1])
    assert facts["clean"] is True
    assert all(s["rows_quarantined"] == 0 and s["rows_accepted"] == s["rows_read"] > 0
               for s in facts["sources"])


def test_decimal_commas_windows_1252_and_a_title_row_are_read_as_written(retz):
    out, _ = retz["fr"]
    names = dict(query(out, "SELECT territory_code, name FROM territories WHERE level = 'COM'"))
    assert names["44116"] == "Paimbœuf"
    raw = (PROJECTS / "pays_de_retz" / "raw" / "indicateurs_communes.csv").read_bytes()
    line = next(x for x in raw.decode("cp1252").splitlines()
                if x.startswith("44131;2023;lll_spending_eur;"))
    written = line.split(";")[3]
    (value,), = query(out, "SELECT value FROM admin_measures WHERE territory_code = '44131' AND "
                           "year = 2023 AND measure_id = 'lll_spending_eur'")
    assert value == pytest.approx(float(written.replace(" ", "").replace(",", ".")))
    (people,), = query(out, "SELECT sum(population) FROM population WHERE territory_code = "
                            "'44131' AND year = 2024")
    (legal,), = query(out, "SELECT population FROM population_totals WHERE territory_code = "
                           "'44131' AND year = 2024")
    assert people == legal > 0


def test_a_departement_and_a_region_sharing_a_code_are_two_territories(retz):
    out, _ = retz["fr"]
    assert set(query(out, "SELECT level, name FROM territories WHERE territory_code = '11'")) == {
        ("DEP", "Aude"), ("REG", "Île-de-France")}
    assert query(out, "SELECT count(*) FROM quarantine") == [(0,)]
    members = {}
    for level, code in query(out, "SELECT territory_level, commune_code FROM territory_members "
                                  "WHERE territory_code = '11'"):
        members.setdefault(level, set()).add(code)
    assert members == {"DEP": {"11069", "11262"}, "REG": {"75056"}}
    values = dict(query(out, "SELECT territory_level, value FROM indicator_values WHERE "
                             "indicator_id = 'MED04' AND territory_code = '11' AND year = 2024"))
    assert set(values) == {"DEP", "REG"} and values["DEP"] != values["REG"]


def test_the_report_shows_the_departement_and_the_region_under_their_own_headings(retz):
    out, _ = retz["fr"]
    report = out / "public" / "2024" / "report.html"
    assert {"Communes", "EPCI", "Départements", "Régions", "Groupes de territoires"} == \
        group_headings(report)
    shown = page_text(report)
    assert "Aude" in shown and "Île-de-France" in shown
    con = duckdb.connect()
    reference = out / "public" / "reference" / "territories.parquet"
    published = set(con.execute("SELECT level, territory_code FROM read_parquet(?) WHERE "
                                "territory_code = '11'", [str(reference)]).fetchall())
    con.close()
    assert published == {("DEP", "11"), ("REG", "11")}


def test_a_shared_code_written_without_its_level_is_refused_naming_both(tmp_path):
    config = project_copy("pays_de_retz", tmp_path, edit=('"DEP:11",', '"11",'))
    code, output = lci("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert code != 0
    assert "DEP:11" in output and "REG:11" in output
    assert "Traceback" not in output


def test_lci_trace_names_the_departement_and_the_region_by_level_and_code(retz):
    out, _ = retz["fr"]
    for cell in (("MED04", "DEP:11", "2024"), ("MED04", "REG:11", "2024"),
                 ("RTZ01", "200067346", "2024"), ("RTZ02", "DEP:44", "2024")):
        code, output = lci("trace", *cell, "--out", str(out))
        assert code == 0, (cell, output)
        assert "The records reproduce the published numerator, denominator" in output, cell
    code, output = lci("trace", "MED04", "11", "2024", "--out", str(out))
    assert code != 0 and "DEP:11" in output and "REG:11" in output


def test_the_dropped_indicators_are_absent_everywhere(retz):
    for lang, (out, output) in retz.items():
        ids = {i for (i,) in query(out, "SELECT DISTINCT indicator_id FROM indicator_values")}
        assert not {i for i in ids if i.startswith(("PED", "LNK")) or i == "MAN03"}, lang
        assert {"MAN01", "MAN05", "LL01", "MED01", "CIT04", "SKL07"} <= ids
        year_dir = out / "public" / "2024"
        shown = page_text(year_dir / "report.html")
        for dropped in ("PED01", "PED04", "PED05", "LNK01", "LNK06", "MAN03",
                        "Pedagogical innovation", "Innovation pédagogique", "Territorial links",
                        "Création de liens territoriaux"):
            assert dropped not in shown
            assert not (year_dir / "sql" / f"{dropped}.sql").exists()
        assert {"fr": "Priorités du Pays de Retz", "en": "Pays de Retz priorities"}[lang] in shown
        assert not {p.stem for p in (year_dir / "tables").glob("*.html")} & {"PED", "LNK"}
        with open(year_dir / "indicators.csv", encoding="utf-8") as handle:
            exported = {row[0] for row in list(csv.reader(handle))[1:]}  # the indicator's code
        assert exported == ids
        assert "Traceback" not in output


def test_the_projects_own_indicators_are_computed_and_published(retz):
    out, _ = retz["fr"]
    (numerator, denominator, value), = query(out, """
        SELECT numerator, denominator, value FROM indicator_values WHERE indicator_id = 'RTZ01'
        AND territory_level = 'EPCI' AND territory_code = '244400552' AND year = 2024""")
    (enrolments,), = query(out, "SELECT sum(value) FROM admin_measures WHERE year = 2024 AND "
                                "measure_id = 'maritime_training_enrolments' AND territory_code "
                                "IN ('44154', '44116', '44187')")
    (young,), = query(out, "SELECT sum(population) FROM population WHERE year = 2024 AND "
                           "age_group IN ('15-17', '18-24') AND territory_code IN "
                           "('44154', '44116', '44187')")
    assert (numerator, denominator) == (pytest.approx(enrolments), pytest.approx(young))
    assert value == pytest.approx(1000 * enrolments / young)
    (status, n), = query(out, "SELECT status, n_unweighted FROM indicator_values WHERE "
                              "indicator_id = 'RTZ02' AND territory_level = 'DEP' AND "
                              "territory_code = '44' AND year = 2024 AND breakdown = 'total'")
    assert status in ("ok", "low_reliability") and n >= 30
    year_dir = out / "public" / "2024"
    assert (year_dir / "tables" / "RTZ.html").is_file()
    assert "Jeunes adultes ayant l'intention de se former" in page_text(
        year_dir / "tables" / "LL.html")
    assert "Inscriptions aux formations maritimes" in page_text(year_dir / "report.html")


@pytest.mark.parametrize(("lang", "label", "builtin"), [
    ("fr", "Adultes en formation (plan Retz)", "Participation des adultes à la formation"),
    ("en", "Adults in learning (Retz plan)", "Adult learning participation"),
])
def test_the_overridden_label_and_target_are_those_published(retz, lang, label, builtin):
    out, _ = retz[lang]
    shown = page_text(out / "public" / "2024" / "report.html")
    assert label in shown and builtin not in shown
    assert "Projet de territoire du Pays de Retz 2030" in shown
    methods = shown[shown.index("MED01", shown.index("Méthodes" if lang == "fr" else "Methods")):]
    methods = methods[:methods.index("MED04")]
    assert "Digital Decade 2030" not in methods  # MED01's built-in target, removed


def test_lci_indicators_lists_what_the_project_changed_and_added(tmp_path):
    config = project_copy("pays_de_retz", tmp_path)
    code, output = lci("indicators", "--config", str(config))
    assert code == 0, output
    for line in output.splitlines():
        assert not re.search(r"\b(PED0\d|LNK0\d|MAN03)\b", line), line
    ll01 = next(x for x in output.splitlines() if "LL01" in x)
    assert "changed" in ll01 and "label" in ll01 and "target" in ll01
    assert "RTZ01" in output and "RTZ02" in output and "lci.yaml" in output


def test_lci_audit_passes_on_the_french_project_keeping_the_built_in_catalogue(tmp_path):
    """The same project without its indicators: section: its levels, shared code 11 and
    office files pass the audit (so what fails below is the project's catalogue alone)."""
    config = project_copy("pays_de_retz", tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text[:text.index("\nindicators:\n")] + "\n" + text[text.index(
        "\nreport:\n"):], encoding="utf-8")
    out = tmp_path / "output"
    run_project(config, out, "fr")
    code, output = lci("audit", str(out))
    assert code == 0, output
    assert "Audit passed" in output


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_lci_audit_passes_on_the_french_projects_bundle(retz, lang):
    out, _ = retz[lang]
    code, output = lci("audit", str(out))
    assert code == 0, output
    assert "Audit passed" in output
