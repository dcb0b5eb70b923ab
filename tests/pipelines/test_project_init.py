"""`lci init DIR [FILE …]`: from a newcomer's files to a first `lci validate`, as specified.

Without files it writes a commented project file that loads and codebooks with the contract's
columns. Given the sample's own files (copied elsewhere, as a city would hand them over), it
proposes what the sample project declares: the same tables, reading options, column mappings
and recodes, every guess marked for the user to check; and `lci validate` then passes. It
never overwrites a file, never touches the user's files, and says in one line each why a file
was not proposed.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli.commands import app
from pipelines.config import bundled_sample_config, load_config
from pipelines.project_init import GUESSED, InitError, start_project
from pipelines.validating.contracts import SCHEMAS

runner = CliRunner()
SAMPLE = bundled_sample_config().parent


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def incoming(tmp_path: Path) -> Path:
    """The sample's raw and reference files, in a folder of their own (as a city sends them)."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    for part in ("raw", "reference"):
        for path in (SAMPLE / part).iterdir():
            shutil.copyfile(path, folder / path.name)
    return folder


def _init(*args: str | Path):  # noqa: ANN202 (typer's Result)
    return runner.invoke(app, ["init", *(str(a) for a in args)])


# --- without files -------------------------------------------------------------------------

def test_init_on_a_new_folder_writes_a_commented_project_file_that_loads(tmp_path):
    project = tmp_path / "my project"
    result = _init(project)
    assert result.exit_code == 0, result.output
    config = load_config(project / "lci.yaml")
    assert config.name == "my project"
    assert {s.table for s in config.sources} == {"territories", "admin_codebook"}
    for source in config.sources:
        assert config.path_of(source).is_file()
    text = (project / "lci.yaml").read_text(encoding="utf-8")
    for section in ("name:", "years:", "sources:", "report:", "validation:", "database:",
                    "# waivers:", "# data_roots:", "header_row", "decimal", "encoding",
                    "recode", "missing_codes"):
        assert section in text
    assert "une entrée par fichier" in text  # comments in French too
    assert "lci validate --config" in result.output


def test_the_codebook_templates_carry_the_contract_columns(tmp_path):
    assert _init(tmp_path / "p").exit_code == 0
    for table in ("territories", "territory_groups", "admin_codebook"):
        header = (tmp_path / "p" / "reference" / f"{table}.csv").read_text(encoding="utf-8")
        assert header == ",".join(SCHEMAS[table].columns) + "\n"


def test_a_folder_of_files_is_proposed_in_place_when_no_file_is_given(tmp_path, incoming):
    result = _init(incoming)
    assert result.exit_code == 0, result.output
    config = load_config(incoming / "lci.yaml")
    assert {s.table for s in config.sources} == set(SCHEMAS)
    assert not (incoming / "raw").exists()  # read where they are, nothing copied
    assert "already in" in result.output


# --- given the sample's files --------------------------------------------------------------

@pytest.fixture()
def proposed(tmp_path, incoming) -> tuple[Path, str, dict[str, str]]:
    before = _digest(incoming)
    project = tmp_path / "city"
    result = _init(project, incoming)
    assert result.exit_code == 0, result.output
    return project, result.output, before


def test_each_sample_file_feeds_the_table_the_sample_project_gives_it(proposed):
    project, _, _ = proposed
    sample = {Path(s.path).name: s for s in load_config(bundled_sample_config()).sources}
    config = load_config(project / "lci.yaml")
    assert len(config.sources) == len(sample)
    for source in config.sources:
        expected = sample[Path(source.path).name]
        assert source.table == expected.table, source.name
        assert source.format == expected.format, source.name
        mapping = source.columns or {c: c for c in SCHEMAS[source.table].columns}
        wanted = expected.columns or {c: c for c in SCHEMAS[expected.table].columns}
        assert mapping == wanted, source.name
        assert source.recode == expected.recode, source.name


def test_the_reading_options_are_detected(proposed):
    project, _, _ = proposed
    by_table = {s.table: s.options for s in load_config(project / "lci.yaml").sources}
    measures = by_table["admin_measures"]  # Windows-1252, ';', decimal comma
    assert (measures.encoding, measures.delimiter, measures.decimal) == ("cp1252", ";", ",")
    population = by_table["population"]  # Excel, a title above the header on row 3
    assert (population.sheet, population.header_row) == ("Population", 3)
    assert by_table["commuting"].delimiter == ";"
    assert by_table["population_totals"].encoding == "utf-8-sig"  # a byte-order mark


def test_the_years_come_from_the_files(proposed):
    project, _, _ = proposed
    assert load_config(project / "lci.yaml").years == (2023, 2024)


def test_every_guess_is_marked_for_the_user_to_check(proposed):
    project, _, _ = proposed
    lines = (project / "lci.yaml").read_text(encoding="utf-8").splitlines()
    assert any(line.strip().startswith("territory_code: \"CODGEO\"") and GUESSED in line
               for line in lines)
    assert any(line.strip().startswith("table: population ") and GUESSED in line
               for line in lines)
    assert any(line.strip().startswith("sex: {\"1\": \"M\", \"2\": \"F\"}") and GUESSED in line
               for line in lines)
    # a column named as in the contract is no guess
    assert any(line.strip() == "measure_id: \"measure_id\"" for line in lines)


def test_files_from_elsewhere_are_copied_into_the_project_and_left_untouched(
        proposed, incoming):
    project, output, before = proposed
    assert _digest(incoming) == before
    assert (project / "raw" / "population.xlsx").read_bytes() == \
        (incoming / "population.xlsx").read_bytes()
    assert (project / "reference" / "territories.csv").is_file()
    assert "copied" in output
    config = load_config(project / "lci.yaml")
    for source in config.sources:
        assert config.path_of(source).is_relative_to(project.resolve())


def test_lci_validate_then_passes_on_the_proposed_project(proposed, tmp_path):
    project, _, _ = proposed
    result = runner.invoke(app, ["validate", "--config", str(project / "lci.yaml"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "All rows passed validation" in result.output


def test_renamed_columns_and_a_title_above_the_header_are_still_recognised(tmp_path):
    incoming = tmp_path / "in"
    incoming.mkdir()
    rows = (SAMPLE / "raw" / "populations_legales.csv").read_text(
        encoding="utf-8-sig").splitlines()[1:]
    (incoming / "légales.csv").write_text(
        "Populations légales\n\ncode_insee;annee;population municipale\n"
        + "\n".join(r.replace(",", ";") for r in rows) + "\n", encoding="cp1252")
    assert _init(tmp_path / "p", incoming / "légales.csv").exit_code == 0
    (source,) = [s for s in load_config(tmp_path / "p" / "lci.yaml").sources
                 if s.table == "population_totals"]
    assert source.columns == {"territory_code": "code_insee", "year": "annee",
                              "population": "population municipale"}
    assert (source.options.header_row, source.options.delimiter) == (3, ";")
    assert source.options.encoding == "cp1252"


def test_an_excel_file_named_csv_is_read_as_excel(tmp_path):
    disguised = tmp_path / "population.csv"
    shutil.copyfile(SAMPLE / "raw" / "population.xlsx", disguised)
    result = _init(tmp_path / "p", disguised)
    assert result.exit_code == 0, result.output
    (source,) = [s for s in load_config(tmp_path / "p" / "lci.yaml").sources
                 if s.table == "population"]
    assert source.format == "xlsx"


# --- what it refuses, and what it cannot read ------------------------------------------------

def test_an_existing_project_file_is_never_overwritten(tmp_path, incoming):
    project = tmp_path / "p"
    project.mkdir()
    (project / "lci.yaml").write_text("name: mine\n", encoding="utf-8")
    result = _init(project, incoming)
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "Traceback" not in result.output
    assert (project / "lci.yaml").read_text(encoding="utf-8") == "name: mine\n"
    assert sorted(p.name for p in project.iterdir()) == ["lci.yaml"]  # nothing else written


def test_a_file_it_would_write_that_exists_stops_everything(tmp_path, incoming):
    project = tmp_path / "p"
    (project / "raw").mkdir(parents=True)
    (project / "raw" / "commuting.csv").write_text("not the same\n", encoding="utf-8")
    result = _init(project, incoming)
    assert result.exit_code == 2
    assert "commuting.csv" in result.output
    assert not (project / "lci.yaml").exists()
    assert sorted(p.name for p in (project / "raw").iterdir()) == ["commuting.csv"]
    assert not (project / "reference").exists()


def test_an_identical_copy_already_there_is_used_as_it_is(tmp_path, incoming):
    project = tmp_path / "p"
    (project / "raw").mkdir(parents=True)
    shutil.copyfile(incoming / "commuting.csv", project / "raw" / "commuting.csv")
    assert _init(project, incoming / "commuting.csv").exit_code == 0
    (source,) = [s for s in load_config(project / "lci.yaml").sources if s.table == "commuting"]
    assert source.path.as_posix() == "raw/commuting.csv"


def test_a_failed_write_leaves_nothing_half_written(tmp_path, incoming, monkeypatch):
    import pipelines.project_init as init

    calls = []
    copy = shutil.copyfile

    def failing_copy(source, target, **options):  # noqa: ANN001, ANN003, ANN202
        calls.append(source)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return copy(source, target, **options)

    monkeypatch.setattr(init.shutil, "copyfile", failing_copy)
    project = tmp_path / "p"
    with pytest.raises(InitError, match="No space left"):
        start_project(project, [incoming])
    assert [p for p in project.rglob("*") if p.is_file()] == []


def test_unreadable_files_are_named_one_line_each_and_the_others_still_proposed(tmp_path,
                                                                                  incoming):
    (incoming / "scan.csv").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3 binary")
    (incoming / "empty.csv").write_bytes(b"")
    (incoming / "notes.md").write_text("# what the office sent\n", encoding="utf-8")
    result = _init(tmp_path / "p", incoming, tmp_path / "nowhere.xlsx")
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "scan.csv: not read: not a CSV, Excel (.xlsx) or Parquet file: this is a PDF " \
           "document" in output
    assert "empty.csv: not read: the file is empty" in output
    assert "nowhere.xlsx: not read: file not found" in output
    assert "notes.md: not read: not named as a data file" in output
    assert not (tmp_path / "p" / "raw" / "notes.md").exists()
    config = load_config(tmp_path / "p" / "lci.yaml")
    assert {s.table for s in config.sources} == set(SCHEMAS)


def test_a_file_whose_columns_match_no_contract_is_left_for_the_user(tmp_path):
    odd = tmp_path / "budget.csv"
    odd.write_text("poste;montant_ht;tva\nlivres;1200;240\n", encoding="utf-8")
    result = _init(tmp_path / "p", odd)
    assert result.exit_code == 0, result.output
    assert "match no contract table" in " ".join(result.output.split())
    text = (tmp_path / "p" / "lci.yaml").read_text(encoding="utf-8")
    assert "#   path: \"raw/budget.csv\"" in text
    assert "poste, montant_ht, tva" in text
    config = load_config(tmp_path / "p" / "lci.yaml")  # loads: the block is commented out
    assert "budget" not in {s.name for s in config.sources}
    assert (tmp_path / "p" / "raw" / "budget.csv").is_file()


def test_a_file_named_like_a_data_root_stays_a_file_of_the_project(tmp_path, incoming):
    project = tmp_path / "p"
    project.mkdir()
    shutil.copyfile(incoming / "commuting.csv", project / "insee:flows.csv")
    assert _init(project).exit_code == 0
    config = load_config(project / "lci.yaml")
    (source,) = config.sources[:1]
    assert source.table == "commuting"
    assert config.path_of(source).read_bytes() == (project / "insee:flows.csv").read_bytes()


def test_the_project_folder_cannot_be_a_file(tmp_path):
    file = tmp_path / "lci.txt"
    file.write_text("x", encoding="utf-8")
    result = _init(file)
    assert result.exit_code == 2
    assert "is a file, not a folder" in " ".join(result.output.split())


# --- how it speaks -----------------------------------------------------------------------------

def test_file_names_are_printed_literally(tmp_path, incoming):
    odd = tmp_path / "[red]pop[bold] :smile:.csv"
    shutil.copyfile(incoming / "populations_legales.csv", odd)
    result = _init(tmp_path / "p", odd)
    assert result.exit_code == 0, result.output
    assert "[red]pop[bold] :smile:.csv" in result.output


def test_messages_in_french(tmp_path, incoming):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), str(incoming), "--lang", "fr"])
    assert result.exit_code == 0, result.output
    assert "Écrit :" in result.output
    assert "Ensuite : lci validate --config" in " ".join(result.output.split())
    again = runner.invoke(app, ["init", str(tmp_path / "p"), "--lang", "fr"])
    assert again.exit_code == 2
    assert "existe déjà" in again.output


def test_the_written_file_is_plain_yaml(proposed):
    project, _, _ = proposed
    data = yaml.safe_load((project / "lci.yaml").read_text(encoding="utf-8"))
    assert isinstance(data["sources"], list)


def test_a_decimal_comma_under_dot_thousands_is_detected(tmp_path):
    measures = tmp_path / "mesures.csv"
    measures.write_text("code_commune;annee;indicateur;valeur\n"
                        "56260;2024;library_active_users;1.234,5\n"
                        "56243;2024;library_active_users;987,25\n", encoding="utf-8")
    assert _init(tmp_path / "p", measures).exit_code == 0
    (source,) = [s for s in load_config(tmp_path / "p" / "lci.yaml").sources
                 if s.table == "admin_measures"]
    assert (source.options.decimal, source.options.thousands) == (",", ".")
    assert source.columns == {"territory_code": "code_commune", "year": "annee",
                              "measure_id": "indicateur", "value": "valeur"}


def test_a_codebook_no_source_needs_yet_is_left_commented_out(tmp_path, incoming):
    assert _init(tmp_path / "p", incoming / "populations_legales.csv").exit_code == 0
    config = load_config(tmp_path / "p" / "lci.yaml")
    assert {s.table for s in config.sources} == {"population_totals", "territories"}
    text = (tmp_path / "p" / "lci.yaml").read_text(encoding="utf-8")
    assert "  # - name: admin_codebook" in text
    assert (tmp_path / "p" / "reference" / "admin_codebook.csv").is_file()


def test_the_help_of_init_loads_only_what_typer_needs():
    from tests.pipelines.cli.test_startup import BY_TYPER, invoking, loaded_after

    assert loaded_after(invoking("init", "--help")) == BY_TYPER


def test_init_can_be_run_again_once_the_project_file_is_removed(tmp_path, incoming):
    project = tmp_path / "p"
    first = incoming / "populations_legales.csv"
    assert _init(project, first).exit_code == 0
    (project / "lci.yaml").unlink()
    again = _init(project, first)  # the same copy and untouched templates are kept
    assert again.exit_code == 0, again.output
    assert load_config(project / "lci.yaml").sources[0].table == "population_totals"
    (project / "lci.yaml").unlink()
    (project / "reference" / "territories.csv").write_text(
        (SAMPLE / "reference" / "territories.csv").read_text(encoding="utf-8"),
        encoding="utf-8")
    filled = _init(project, first)  # a codebook filled in is never overwritten
    assert filled.exit_code == 2
    assert "territories.csv" in filled.output


def test_a_parquet_file_with_lists_is_proposed_from_its_single_value_columns(tmp_path):
    import duckdb

    flows = tmp_path / "totals.parquet"
    duckdb.execute("COPY (SELECT '56260' AS COM, 2024 AS ANNEE, 54000.0 AS PMUN, [1, 2] AS "
                   "tags) TO ? (FORMAT parquet)", [str(flows)])
    assert _init(tmp_path / "p", flows).exit_code == 0
    (source,) = [s for s in load_config(tmp_path / "p" / "lci.yaml").sources
                 if s.table == "population_totals"]
    assert source.columns == {"territory_code": "COM", "year": "ANNEE", "population": "PMUN"}
    assert "# not used / non utilisées: tags" in \
        (tmp_path / "p" / "lci.yaml").read_text(encoding="utf-8")
