"""``lci profile CODE…`` writes the territory profiles of a previous run and prints their
paths; bad input is one message in the chosen language, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.config import bundled_sample_config, load_config
from pipelines.run import WAREHOUSE_NAME, run, stage_indicators, stage_ingest

runner = CliRunner()


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    """The sample project run up to its indicators and index, in a folder of its own."""
    out = tmp_path_factory.mktemp("profile-command") / "output"
    run(load_config(bundled_sample_config()), out,
        stages=(("ingest", stage_ingest), ("indicators", stage_indicators)))
    return out


def test_profiles_are_written_beside_the_output_folder_and_their_paths_printed(output: Path):
    before = sorted(p.relative_to(output) for p in output.rglob("*"))
    result = runner.invoke(app, ["profile", "91174", "56260", "--out", str(output)],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    written = [output.parent / "profiles" / f"{code}.html" for code in ("91174", "56260")]
    assert result.stdout.splitlines() == [f"Profile: {path}" for path in written]
    assert all(path.is_file() for path in written)
    assert '<html lang="en">' in written[0].read_text(encoding="utf-8")
    assert sorted(p.relative_to(output) for p in output.rglob("*")) == before  # run untouched


def test_the_language_year_and_folder_can_be_chosen(output: Path, tmp_path: Path):
    result = runner.invoke(app, ["profile", "REG:11", "--lang", "fr", "--year", "2023",
                                 "--out", str(output), "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "profiles" / "11.html").read_text(encoding="utf-8")
    assert result.stdout.strip() == f"Portrait : {tmp_path / 'profiles' / '11.html'}"
    assert '<html lang="fr">' in page and "Île-de-France" in page and "2023" in page


def test_the_project_file_gives_the_references_and_the_contact(output: Path, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(bundled_sample_config().parent, project)
    settings = yaml.safe_load((project / "lci.yaml").read_text(encoding="utf-8"))
    settings["report"]["references"] = ["DEP"]
    settings["report"]["contact"] = "Learning city office, learning@example.org"
    (project / "lci.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True),
                                      encoding="utf-8")
    result = runner.invoke(app, ["profile", "91174", "--out", str(output), "--to",
                                 str(tmp_path), "--project", str(project / "lci.yaml")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "profiles" / "91174.html").read_text(encoding="utf-8")
    assert "Compared with: Essonne (départements)." in page
    assert "Contact: Learning city office, learning@example.org" in page


def test_pdf_prints_each_profile_to_an_a4_pdf_beside_it(output: Path, tmp_path: Path):
    result = runner.invoke(app, ["profile", "56260", "--pdf", "--out", str(output), "--to",
                                 str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    html, pdf = tmp_path / "profiles" / "56260.html", tmp_path / "profiles" / "56260.pdf"
    assert result.stdout.splitlines() == [f"Profile: {html}", f"PDF: {pdf}"]
    assert pdf.read_bytes().startswith(b"%PDF")
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
    first = document[0].get_textpage().get_text_range()
    assert "Key figures 2024" in first and "Learning-city index" in first  # on page one
    document.close()


def test_an_unknown_code_names_the_nearest_ones_in_english_and_french(output: Path,
                                                                      tmp_path: Path):
    for lang, expected in (("en", "Error: '5626': no territory or group has this code in the "
                                  "warehouse; did you mean 56260 (Vannes)"),
                           ("fr", "Erreur : « 5626 » : aucun territoire ni groupe n'a ce code "
                                  "dans l'entrepôt ; vouliez-vous dire 56260 (Vannes)")):
        result = runner.invoke(app, ["profile", "5626", "--lang", lang, "--out", str(output),
                                     "--to", str(tmp_path)], terminal_width=200)
        assert result.exit_code == 2
        assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "profiles").exists()


def test_a_year_without_values_is_one_message_listing_the_years(output: Path):
    result = runner.invoke(app, ["profile", "91174", "--year", "2019", "--out", str(output)],
                           terminal_width=200)
    assert result.exit_code == 2
    assert "no indicator value for 2019 in the warehouse; its years: 2023, 2024" in result.output


def test_without_a_run_it_says_to_run_first(tmp_path: Path):
    result = runner.invoke(app, ["profile", "91174", "--out", str(tmp_path / "none")],
                           terminal_width=200)
    assert result.exit_code == 2
    assert f"no {WAREHOUSE_NAME}" in result.output and "lci run" in result.output
    assert "Traceback" not in result.output
