"""The output folder: only LCI's own outputs are replaced, one run at a time, never half.

The swap is attacked by fault injection: a run is stopped after each of its steps, in this
process and, for real, by killing a run in another process; the next start must always find
(or put back) one complete output, and remove nothing LCI did not write.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines.publishing import output_folder
from pipelines.publishing.output_folder import (
    MARKER,
    OutputFolderError,
    check_contents,
    check_location,
    is_complete,
    output_lock,
    read_marker,
    recover,
    start_building,
    swap_into_place,
)

PROJECT = "/projects/vannes/lci.yaml"
ROOT = Path(__file__).resolve().parents[3]


class Killed(BaseException):
    """Stands for the process being killed: nothing after it runs, no cleanup."""


def _complete_output(out_dir: Path, run_id: str, text: str) -> None:
    building = start_building(out_dir, PROJECT, run_id)
    (building / "report.html").write_text(text, encoding="utf-8")
    (building / "tables").mkdir()
    (building / "tables" / "LL.html").write_text(text, encoding="utf-8")
    output_folder.write_marker(building, PROJECT, run_id, complete=True)
    building.rename(out_dir)


def _siblings(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


# ------------------------------------------------------------------------------ where


@pytest.mark.parametrize("where", ["/", "home"])
def test_the_root_and_the_home_folder_are_never_an_output(where: str):
    out = Path("/") if where == "/" else Path.home().resolve()
    with pytest.raises(OutputFolderError, match="cannot be an output folder"):
        check_location(out, None)


def test_the_project_folder_and_the_folders_holding_it_are_never_an_output(tmp_path: Path):
    project = tmp_path / "city" / "project"
    project.mkdir(parents=True)
    for out in (project, project.parent, tmp_path):
        with pytest.raises(OutputFolderError, match="holds the project itself"):
            check_location(out, project)


def test_an_output_inside_the_folder_of_the_sources_is_refused(tmp_path: Path):
    raw = tmp_path / "project" / "raw"
    raw.mkdir(parents=True)
    with pytest.raises(OutputFolderError, match="inside the folder of the project's data"):
        check_location(raw / "output", tmp_path / "project", (raw,))
    check_location(tmp_path / "project" / "output", tmp_path / "project", (raw,))  # allowed


def test_a_file_is_not_an_output_folder(tmp_path: Path):
    (tmp_path / "out").write_text("a file", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        check_location(tmp_path / "out", None)


# ------------------------------------------------------------------------------ what


def test_a_folder_without_lci_marker_is_never_replaced(tmp_path: Path):
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "warehouse.duckdb").write_bytes(b"")
    (documents / "letter.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="holds no previous LCI run"):
        check_contents(documents, PROJECT)


def test_a_marker_of_another_project_or_of_an_unfinished_run_is_refused(tmp_path: Path):
    out = tmp_path / "out"
    _complete_output(out, "a", "old")
    with pytest.raises(OutputFolderError, match="output of another project"):
        check_contents(out, "/projects/other/lci.yaml")
    output_folder.write_marker(out, PROJECT, "a", complete=False)
    with pytest.raises(OutputFolderError, match="unfinished LCI output"):
        check_contents(out, PROJECT)


def test_a_file_added_to_an_output_by_hand_keeps_the_output_from_being_replaced(tmp_path):
    out = tmp_path / "out"
    _complete_output(out, "a", "old")
    check_contents(out, PROJECT)
    (out / "tables" / "my notes.docx").write_bytes(b"mine")
    with pytest.raises(OutputFolderError, match=r"no LCI run wrote \(tables/my notes.docx\)"):
        check_contents(out, PROJECT)


def test_every_refusal_is_said_in_french_too(tmp_path: Path):
    out = tmp_path / "out"
    _complete_output(out, "a", "old")
    for name in ("1.docx", "2.docx", "3.docx", "4.docx", "5.docx"):
        (out / name).write_bytes(b"mine")
    with pytest.raises(OutputFolderError) as refused:
        check_contents(out, PROJECT)
    assert "1.docx, 2.docx, 3.docx and 2 more" in str(refused.value)
    assert refused.value.french == (
        f"{out} contient des fichiers qu'aucune exécution d'LCI n'a écrits (1.docx, 2.docx, "
        f"3.docx et 2 autres) : déplacez-les, ou choisissez un autre dossier de sortie (--out)")
    with output_lock(out), pytest.raises(OutputFolderError) as busy, output_lock(out):
        pass
    assert re.search(r"\(processus \d+, démarré le \d{4}-\d\d-\d\d [\d:]+ UTC\) : attendez",
                     busy.value.french), busy.value.french


def test_a_complete_output_lists_every_file_it_holds(tmp_path: Path):
    out = tmp_path / "out"
    _complete_output(out, "a", "old")
    assert read_marker(out)["files"] == ["report.html", "tables/LL.html"]
    assert is_complete(out)
    (out / "tables" / "LL.html").unlink()
    assert not is_complete(out)


# ------------------------------------------------------------------------------ one at a time


def test_a_second_run_into_the_same_folder_stops_with_a_message(tmp_path: Path):
    out = tmp_path / "out"
    with (output_lock(out),
          pytest.raises(OutputFolderError, match=r"is writing .*\(process \d+"),
          output_lock(out)):
        pass
    with output_lock(out):  # released: the next run may go
        pass
    assert _siblings(tmp_path) == []  # the lock file goes with the run


def test_a_second_run_in_another_process_stops_while_the_first_holds_the_folder(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from pipelines.publishing.output_folder import output_lock, OutputFolderError
        try:
            with output_lock(Path({str(out)!r})):
                print("held")
        except OutputFolderError as error:
            print(error)
    """)
    with output_lock(out):
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                                text=True, check=True)
    assert "another LCI run is writing" in result.stdout


# ------------------------------------------------------------------------------ never half

STEPS = ["marked complete", "exchanged", "journal written", "old output moved aside",
         "new output in place", "old output removed"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "journal"])
@pytest.mark.parametrize("step", STEPS)
def test_a_run_killed_at_any_step_of_the_swap_leaves_a_complete_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, exchange: bool):
    out = tmp_path / "out"
    _complete_output(out, "old", "old report")
    if not exchange:
        monkeypatch.setattr(output_folder, "_exchange", lambda a, b: False)

    def kill(taken: str) -> None:
        if taken == step:
            raise Killed

    monkeypatch.setattr(output_folder, "after_step", kill)
    building = start_building(out, PROJECT, "new")
    (building / "report.html").write_text("new report", encoding="utf-8")
    with contextlib.suppress(Killed):
        swap_into_place(building, out, PROJECT, "new")
    monkeypatch.setattr(output_folder, "after_step", lambda taken: None)
    recover(out, PROJECT)
    assert is_complete(out)
    assert read_marker(out)["run_id"] in ("old", "new")
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text == f"{read_marker(out)['run_id']} report"
    assert _siblings(tmp_path) == ["out"]


def test_a_run_killed_while_its_output_was_moved_aside_is_put_back_and_said(tmp_path: Path):
    out = tmp_path / "out"
    _complete_output(out, "old", "old report")
    out.rename(output_folder.previous_folder(out))  # killed right after moving it aside
    notes = recover(out, PROJECT)
    assert (out / "report.html").read_text(encoding="utf-8") == "old report"
    assert any("put back in place" in n.en for n in notes)
    assert any("remise en place" in n.fr for n in notes)


def test_recovery_removes_nothing_that_lci_did_not_write(tmp_path: Path):
    out = tmp_path / "out"
    stranger = output_folder.building_folder(out)
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("years of work", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="was not written by LCI"):
        recover(out, PROJECT)
    assert (stranger / "thesis.tex").is_file()


def test_a_leftover_marked_for_another_project_is_not_removed(tmp_path: Path):
    out = tmp_path / "out"
    stranger = start_building(out, "/projects/other/lci.yaml", "x")
    (stranger / "precious.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="belongs to another project"):
        recover(out, PROJECT)
    assert (stranger / "precious.txt").is_file()


def test_files_added_to_a_kept_failed_run_are_never_removed(tmp_path: Path):
    out = tmp_path / "out"
    building = start_building(out, PROJECT, "failed-run")
    (building / "quarantine.csv").write_text("rows", encoding="utf-8")
    failed = output_folder.keep_failed(building, out, PROJECT, "failed-run")
    (failed / "mine").mkdir()
    (failed / "mine" / "important.txt").write_text("notes", encoding="utf-8")
    building = start_building(out, PROJECT, "new")  # a later run succeeds
    swap_into_place(building, out, PROJECT, "new")
    assert (failed / "mine" / "important.txt").is_file()  # the failed run's folder stays
    again = start_building(out, PROJECT, "failed-again")
    with pytest.raises(OutputFolderError, match="LCI did not write .*important.txt"):
        output_folder.keep_failed(again, out, PROJECT, "failed-again")
    assert (failed / "mine" / "important.txt").is_file()
    assert not again.exists()  # this run's own folder, removed


def test_a_removal_interrupted_half_way_is_finished_by_the_next_start(tmp_path: Path):
    out = tmp_path / "out"
    _complete_output(out, "new", "new report")
    leftover = output_folder.previous_folder(out)
    _complete_output(leftover, "old", "old report")
    (leftover / "report.html").unlink()  # killed while removing it: the marker is last to go
    assert (leftover / MARKER).is_file()
    recover(out, PROJECT)
    assert _siblings(tmp_path) == ["out"]


KILLED_RUN = """
import os, sys
from pathlib import Path
from pipelines.config import load_config
from pipelines.publishing import output_folder
from pipelines.run import run

step = sys.argv[3]
def kill(taken):
    if taken == step:
        os._exit(137)
output_folder.after_step = kill
run(load_config(Path(sys.argv[1])), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("step", ["marked complete", "exchanged", "old output removed"])
def test_a_real_run_killed_during_its_swap_is_complete_at_the_next_start(tmp_path, step):
    from pipelines.config import load_config
    from pipelines.run import run
    from tests.small_project import write_small_project

    config_file = write_small_project(tmp_path / "project")
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    out = tmp_path / "out"
    run(load_config(config_file), out)
    first = read_marker(out)["run_id"]
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(config_file), str(out), step],
                            cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    context = run(load_config(config_file), out)  # the next start recovers, then runs
    assert is_complete(out)
    assert read_marker(out)["run_id"] not in (first,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "project"]
    if step != "old output removed":
        assert any("interrupted" in note for note in context.notes)


def _held(lock: Path) -> bool:
    try:
        return lock.read_text(encoding="utf-8").startswith("process")
    except OSError:
        return False


def test_two_real_runs_into_one_folder_one_runs_and_the_other_is_told(tmp_path: Path):
    import time

    from pipelines.config import load_config
    from pipelines.run import RunFailed, run
    from tests.small_project import write_small_project

    config_file = write_small_project(tmp_path / "project")
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(config_file), str(out),
                              "never"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not _held(output_folder.lock_file(out)) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the first run holds the lock (its holder is written)
        with pytest.raises(RunFailed, match="another LCI run is writing"):
            run(load_config(config_file), out)
    finally:
        assert first.wait(timeout=300) == 0
    assert is_complete(out)
    assert (out / "warehouse.duckdb").is_file()
