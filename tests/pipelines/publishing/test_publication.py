"""A year's publication: what `lci run` writes in `public/<year>/`, and what `lci audit`
re-renders from the published values, byte for byte, PDFs included."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.cli.commands import render_reports
from pipelines.config import ReportSettings, load_config
from pipelines.publishing.audit import audit as audit_bundles
from pipelines.publishing.publication import profile_codes
from pipelines.run import run
from tests.printing import pdfs_printed
from tests.small_project import write_small_project

YEAR = 2024


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    root = tmp_path_factory.mktemp("printed")
    out = root / "out"
    config = write_small_project(root / "project")
    config.write_text(config.read_text(encoding="utf-8")
                      + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    with pdfs_printed():
        run(load_config(config), out, year=YEAR)
    return out


def values(codes: list[tuple[str, str]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE indicator_values (territory_level VARCHAR, territory_code VARCHAR,"
                " year INTEGER, value DOUBLE)")
    con.executemany("INSERT INTO indicator_values VALUES (?, ?, ?, 1.0)",
                    [(level, code, YEAR) for level, code in codes])
    return con


def test_the_report_territories_get_a_profile_each_in_their_order():
    settings = ReportSettings(territories=("2A004", "REG:84", "01053"))
    assert profile_codes(values([("COM", "01053")]), YEAR, settings) == [
        "2A004", "REG:84", "01053"]


def test_without_report_territories_every_territory_with_a_value_gets_one_when_few():
    con = values([("COM", "01053"), ("REG", "84"), ("COM", "2A004")])
    assert profile_codes(con, YEAR, ReportSettings()) == ["COM:01053", "COM:2A004", "REG:84"]
    assert profile_codes(con, YEAR + 1, ReportSettings()) == []


def test_a_national_project_without_report_territories_gets_no_profile_in_its_run():
    con = values([("COM", f"{n:05d}") for n in range(1, 12)])
    assert profile_codes(con, YEAR, ReportSettings(rows_per_level=10)) == []
    assert len(profile_codes(con, YEAR, ReportSettings(rows_per_level=11))) == 11


def test_the_run_prints_the_report_and_every_profile_to_pdf(printed):
    year_dir = printed / "public" / str(YEAR)
    assert (year_dir / "report.pdf").read_bytes().startswith(b"%PDF-")
    pages = sorted(p.stem for p in (year_dir / "profiles").glob("*.html"))
    assert pages and pages == sorted(p.stem for p in (year_dir / "profiles").glob("*.pdf"))


def test_the_audit_re_renders_every_page_and_pdf_identically(printed):
    with pdfs_printed():
        findings = audit_bundles(printed, render=render_reports)
    assert [f for f in findings if not f.ok] == []
    checked = {f.subject for f in findings if f.ok}
    assert any(s.endswith(f"{YEAR}/report.pdf") for s in checked)
    assert any("/profiles/" in s and s.endswith(".pdf") for s in checked)


def test_a_highlighted_territory_that_does_not_exist_stops_the_run_naming_the_setting(tmp_path):
    from pipelines.config import bundled_sample_config
    from pipelines.run import RunFailed

    config = load_config(bundled_sample_config())
    report = config.report.model_copy(update={"highlight": ("63113", "99999")})
    with pytest.raises(RunFailed) as raised:
        run(config.model_copy(update={"report": report}), tmp_path / "out")
    assert "report.highlight[1] = '99999': no territory or group has this code" in str(
        raised.value)
