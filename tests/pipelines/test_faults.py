"""Faults of the machine end in one message and leave the previous output as it was.

A full disk, a read-only folder, a database that cannot write, a damaged warehouse left by
an earlier run, an output path that is not a folder: the run stops with a sentence saying
where and what to do (never a traceback), and the output folder still holds the last
complete run.
"""

from __future__ import annotations

import errno
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from pipelines.config import load_config
from pipelines.publishing import publication
from pipelines.publishing.output_folder import is_complete, read_marker
from pipelines.run import RunFailed, run
from tests.small_project import write_small_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config_file = write_small_project(tmp_path / "project")
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    return config_file


@pytest.fixture
def previous_output(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    run(load_config(project), out)
    return out


def _fail_reports_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(publication, "write_report", broken)


@pytest.mark.parametrize(("error", "said"), [
    (OSError(errno.ENOSPC, "No space left on device", "report.html"), "the disk is full"),
    (OSError(errno.EROFS, "Read-only file system", "report.html"), "read-only"),
    (PermissionError(errno.EACCES, "Permission denied", "report.html"), "permission denied"),
    (duckdb.IOException("IO Error: No space left on device"), "database could not go on"),
])
def test_a_fault_of_the_machine_is_one_message_and_the_previous_output_stays(
        project, previous_output, monkeypatch, error, said):
    before = read_marker(previous_output)
    _fail_reports_with(monkeypatch, error)
    with pytest.raises(RunFailed, match=said):
        run(load_config(project), previous_output)
    assert read_marker(previous_output) == before
    assert is_complete(previous_output)


def test_a_damaged_warehouse_of_an_earlier_run_is_said_and_the_run_goes_on(
        project, previous_output):
    (previous_output / "warehouse.duckdb").write_bytes(b"")  # e.g. a copy cut short
    context = run(load_config(project), previous_output)
    assert any("cannot be read" in note for note in context.notes)
    assert is_complete(previous_output)


def test_the_command_says_what_is_wrong_without_a_traceback(project, tmp_path):
    runner = CliRunner()
    afile = tmp_path / "a file"
    afile.write_text("not a folder", encoding="utf-8")
    for out, said in ((Path("/"), "cannot be an output folder"),
                      (afile, "is a file, not a folder"),
                      (project.parent, "holds the project itself")):
        result = runner.invoke(app, ["run", "--config", str(project), "--out", str(out)])
        assert result.exit_code != 0
        assert said in " ".join(result.output.split())  # wrapped where the path falls
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_report_territory_the_project_does_not_have_is_said_before_any_computation(
        project, tmp_path):
    project.write_text(project.read_text(encoding="utf-8")
                       + 'report: {territories: ["99999", "01053", "ZZ"]}\n', encoding="utf-8")
    stages: list[str] = []
    with pytest.raises(RunFailed, match=r"report.territories\[0\] = '99999', "
                                        r"report.territories\[2\] = 'ZZ': no territory") as error:
        run(load_config(project), tmp_path / "out", on_stage=lambda name: stages.append(name))
    assert "aucun territoire ni groupe" in error.value.french
    assert stages == ["ingest"]

