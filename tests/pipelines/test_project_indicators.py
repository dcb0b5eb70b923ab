"""A project's own indicators, end to end: the project file, ``lci run``, ``lci validate`` and
``lci indicators --config``, on a copy of the sample project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from indicators import CatalogueError, load_catalogue
from indicators.catalogue.definitions import KINDS
from indicators.catalogue.project import read_project_catalogue
from pipelines.cli.commands import app
from pipelines.config import ConfigError, bundled_sample_config, load_config
from pipelines.run import RunFailed, effective_catalogue, run
from pipelines.validating.contracts import SCHEMAS
from tests.small_project import write_small_project

runner = CliRunner()
WIDE = {"COLUMNS": "220"}
SURVEY_COLUMNS = SCHEMAS["survey_responses"].columns

OWN_SECTION = """
indicators:
  drop: [MAN03, LNK]
  files: [indicators/ours.yaml]
  domains:
    - code: VAN
      label: {en: Our own indicators, fr: Nos indicateurs}
      description: {en: What our council follows, fr: Ce que suit notre conseil}
  override:
    LL01:
      min_n: 50
      target: {value: 70, source: "Council learning plan 2030"}
      label: {en: Adults in learning (council plan), fr: Adultes en formation (plan du conseil)}
  define:
    - id: VAN01
      domain: VAN
      label: {en: Adult education enrolments, fr: Inscriptions en formation des adultes}
      description:
        en: Enrolments in publicly supported adult education per 1,000 residents aged 25-64.
        fr: Inscriptions en formation des adultes pour 1 000 habitants de 25 à 64 ans.
      unit: {en: "per 1,000 residents 25-64", fr: "pour 1 000 habitants de 25-64 ans"}
      direction: higher_is_better
      kflc: [B6]
      source: {en: GRETA and municipal courses, fr: GRETA et cours municipaux}
      computation:
        kind: admin_ratio
        numerator: {measure: adult_education_enrolments}
        denominator: {population: residents, age_groups: ["25-34", "35-44", "45-54", "55-64"]}
        scale: 1000
"""
OWN_FILE = """\
domain: LL
indicators:
  - id: LL20
    label: {en: Adults intending to train, fr: Adultes ayant l'intention de se former}
    description:
      en: Adults aged 18-69 who intend to take part in learning in the next 12 months.
      fr: Adultes de 18 à 69 ans qui ont l'intention de se former dans les 12 prochains mois.
    unit: {en: "% of adults 18-69", fr: "% des 18-69 ans"}
    direction: higher_is_better
    kflc: [B6]
    source: {en: Local adult education survey, fr: Enquête locale sur la formation des adultes}
    computation:
      kind: survey_proportion
      condition: intends_to_train = 1
      population: age BETWEEN 18 AND 69
"""


def sample_copy(root: Path, section: str = OWN_SECTION, own_file: str = OWN_FILE) -> Path:
    """The sample project copied into ``root``, with an indicators section and file."""
    shutil.copytree(bundled_sample_config().parent, root)
    config = root / "lci.yaml"
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")
    (root / "indicators").mkdir()
    (root / "indicators" / "ours.yaml").write_text(own_file, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> tuple[Path, Path, str]:
    """``lci run`` on the sample project with its own indicators: (project file, out, output)."""
    config = sample_copy(tmp_path_factory.mktemp("own") / "project")
    out = tmp_path_factory.mktemp("own-run")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    return config, out, result.output


def values(out: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_run_computes_the_projects_own_indicators_and_not_the_dropped_ones(own_run):
    _, out, _ = own_run
    ids = {i for (i,) in values(out, "SELECT DISTINCT indicator_id FROM indicator_values")}
    assert {"VAN01", "LL20", "LL01", "MAN01"} <= ids
    assert "MAN03" not in ids and not {i for i in ids if i.startswith("LNK")}
    counted = dict(values(out, "SELECT indicator_id, count(value) FROM indicator_values "
                               "WHERE indicator_id IN ('VAN01', 'LL20') GROUP BY ALL"))
    assert counted["VAN01"] > 0 and counted["LL20"] > 0


def test_the_own_ratio_is_the_ratio_of_the_sums_it_defines(own_run):
    _, out, _ = own_run
    (numerator, denominator, value), = values(out, """
        SELECT numerator, denominator, value FROM indicator_values
        WHERE indicator_id = 'VAN01' AND territory_code = '56260' AND year = 2024
          AND breakdown = 'total'""")
    enrolments, = values(out, "SELECT sum(value) FROM admin_measures WHERE territory_code = "
                              "'56260' AND year = 2024 AND measure_id = "
                              "'adult_education_enrolments'")[0]
    residents, = values(out, "SELECT sum(population) FROM population WHERE territory_code = "
                             "'56260' AND year = 2024 AND age_group IN ('25-34', '35-44', "
                             "'45-54', '55-64')")[0]
    assert (numerator, denominator) == (enrolments, residents)
    assert value == pytest.approx(1000 * enrolments / residents)


def test_the_overridden_min_n_decides_what_is_suppressed(own_run):
    _, out, _ = own_run
    rows = values(out, "SELECT n_unweighted, status, coalesce(status_reason LIKE "
                       "'complementary suppression%', FALSE) FROM indicator_values "
                       "WHERE indicator_id = 'LL01' AND n_unweighted < 100")
    assert all(status == "suppressed" for n, status, _ in rows if n < 50)
    assert any(30 <= n < 50 for n, _, _ in rows)  # published under the built-in min_n of 30
    # Above the overridden min_n only a complement (protecting a cell below it) is withheld.
    assert all(status != "suppressed" or complement for n, status, complement in rows
               if n >= 50)


def test_the_report_shows_the_own_indicators_and_the_changes(own_run):
    _, out, _ = own_run
    html = (out / "public" / "2024" / "report.html").read_text(encoding="utf-8")
    for shown in ("Adult education enrolments", "Adults intending to train",
                  "Our own indicators", "Adults in learning (council plan)",
                  "Council learning plan 2030"):
        assert shown in html, shown
    shipped = load_catalogue()
    for dropped in ("MAN03", *(i.id for i in shipped.in_domain("LNK"))):
        assert shipped.get(dropped).label("en") not in html, dropped
    assert (out / "public" / "2024" / "tables" / "VAN.html").is_file()
    assert not (out / "public" / "2024" / "tables" / "LNK.html").exists()


def test_the_manifest_records_the_projects_catalogue(own_run):
    config, out, _ = own_run
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    effective = effective_catalogue(load_config(config))
    assert manifest["catalogue_sha256"] == effective.sha256 != load_catalogue().sha256


def test_the_run_notes_codebook_measures_no_indicator_reads(own_run):
    _, _, output = own_run
    said = " ".join(output.split())
    assert "the codebook declares measures no indicator in use reads: craft_businesses, " \
           "learning_events, school_employer_agreements" in said  # MAN03, LNK06 dropped
    assert "adult_education_enrolments" not in said.split("reads:")[1].split("(")[0]


def test_a_plain_project_keeps_the_built_in_catalogue_and_is_told_of_unused_measures(
        tmp_path: Path):
    config = load_config(bundled_sample_config())
    assert effective_catalogue(config).sha256 == load_catalogue().sha256
    from pipelines.run import VALIDATION_STAGES

    context = run(config, tmp_path / "out", stages=VALIDATION_STAGES)
    assert any("no indicator in use reads: adult_education_enrolments, learning_events" in note
               for note in context.notes)


def test_indicators_with_config_shows_the_effective_catalogue(own_run):
    config, _, _ = own_run
    result = runner.invoke(app, ["indicators", "--config", str(config)], env=WIDE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"{len(load_catalogue()) - 5 + 2} indicators, 2 of the project's own" in \
        result.output  # MAN03 and the four LNK dropped, VAN01 and LL20 added
    assert any("VAN01" in line and "project: lci.yaml" in line for line in lines)
    assert any("LL20" in line and "project: indicators/ours.yaml" in line for line in lines)
    assert any("LL01" in line and "built-in, changed: label, target, min_n" in line
               for line in lines)
    assert any("LL04" in line and "built-in" in line for line in lines)
    assert "MAN03" not in result.output and "LNK01" not in result.output
    assert "Our own indicators" in result.output
    french = runner.invoke(app, ["indicators", "--config", str(config), "--lang", "fr"],
                           env=WIDE)
    assert "intégré, modifié\u00a0: label, target, min_n" in french.output
    assert "Nos indicateurs" in french.output


def test_indicators_without_config_is_the_built_in_catalogue():
    result = runner.invoke(app, ["indicators"], env=WIDE)
    assert result.exit_code == 0
    assert "MAN03" in result.output and "defined in" not in result.output


# --- mistakes -------------------------------------------------------------------------------

def test_mistakes_in_the_section_name_the_line_and_the_field(tmp_path: Path):
    section = OWN_SECTION.replace("drop: [MAN03, LNK]", "drop: [MAN03, LNK, LL02]").replace(
        "      min_n: 50", "      min_n: 50\n      targt: 3").replace(
        "kind: admin_ratio", "kind: ratio")
    config = sample_copy(tmp_path / "project", section)
    with pytest.raises(ConfigError) as error:
        load_config(config)
    problems = {p.field: p for p in error.value.problems}
    assert "no built-in indicator or domain 'LL02'" in problems["indicators.drop[2]"].message.en
    assert "did you mean 'target'" in problems["indicators.override.LL01.targt"].message.en
    kind = problems["indicators.define[0].computation"]
    assert kind.message.en == f"kind 'ratio' does not exist; valid kinds: {', '.join(KINDS)}"
    assert {"admin_ratio", "commuting", "survey_proportion"} <= set(KINDS)
    text = config.read_text(encoding="utf-8").splitlines()
    assert "drop: [MAN03, LNK, LL02]" in text[problems["indicators.drop[2]"].row - 1]
    assert "computation:" in text[kind.row - 1]
    assert str(config) in str(error.value)


def test_an_unknown_column_stops_lci_validate_before_anything_is_written(tmp_path: Path):
    config = sample_copy(tmp_path / "project",
                         own_file=OWN_FILE.replace("intends_to_train = 1", "plans_to_train = 1"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["validate", "--config", str(config), "--out", str(out)],
                           env=WIDE)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{config.parent / 'indicators' / 'ours.yaml'}, indicator LL20: field " \
           f"'computation.condition'" in said
    assert "plans_to_train" in said and "Traceback" not in said
    assert [p.name for p in tmp_path.iterdir()] == ["project"]  # no output, no failed run


def test_an_own_measure_missing_from_the_codebook_stops_the_run_before_computing(
        tmp_path: Path):
    config = write_small_project(tmp_path / "project")
    config.write_text(config.read_text(encoding="utf-8") + """
validation: {max_rejected_share: 0.9}
indicators:
  define:
    - id: MED20
      domain: MED
      label: {en: Loans per resident, fr: Prêts par habitant}
      description: {en: Library loans per resident, fr: Prêts de bibliothèque par habitant}
      unit: {en: loans per resident, fr: prêts par habitant}
      direction: higher_is_better
      kflc: [B2]
      source: {en: Libraries, fr: Bibliothèques}
      computation:
        kind: admin_ratio
        numerator: {measure: library_loans}
        denominator: {population: residents}
""", encoding="utf-8")
    with pytest.raises(RunFailed) as error:
        run(load_config(config), tmp_path / "out")
    assert str(error.value).startswith(
        f"{config}, indicator MED20: field 'computation.numerator.measure': 'library_loans' is "
        f"not a measure of the codebook (admin_codebook: library_active_borrowers, "
        f"schools_total)")
    result = runner.invoke(app, ["validate", "--config", str(config), "--out",
                                 str(tmp_path / "out2")], env=WIDE)
    assert result.exit_code == 1 and "'library_loans' is not a measure of the codebook" in \
        " ".join(result.output.split())


def test_the_catalogue_can_be_read_again_from_the_project_file_alone(tmp_path: Path):
    config = sample_copy(tmp_path / "project")
    again = read_project_catalogue(config, survey_columns=SURVEY_COLUMNS)
    assert again == effective_catalogue(load_config(config))
    assert read_project_catalogue(bundled_sample_config()) == load_catalogue()
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("years: [2023, 2024]", "years: &y [2023, 2024]\nalso: *y")
                      .replace("min_n: 50", "min_n: 0"), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"lci\.yaml: indicators: field "
                                             r"'override\.LL01\.min_n': Input should be "
                                             r"greater than or equal to 1"):
        read_project_catalogue(config)
