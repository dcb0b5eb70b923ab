"""The run's own settings can never become SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, DatabaseSettings, load_config
from pipelines.run import RunFailed, _connect, run
from tests.small_project import write_small_project


def test_a_memory_limit_written_as_sql_runs_nothing(tmp_path: Path):
    config_file = write_small_project(tmp_path / "project")
    target = tmp_path / "written.csv"
    hostile = f"1GB'; COPY (SELECT 42) TO '{target}'; --"
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + f'database: {{memory_limit: "{hostile}"}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="database.memory_limit"):
        load_config(config_file)  # refused when the project file is read
    clean = load_config(write_small_project(tmp_path / "clean"))
    slipped = clean.model_copy(update={"database": DatabaseSettings.model_construct(
        memory_limit=hostile, threads=None)})  # had it got past the project file
    with pytest.raises(RunFailed, match="database settings .* refused by DuckDB"):
        run(slipped, tmp_path / "out")
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "project"]  # nothing left


def test_database_settings_reach_duckdb(tmp_path: Path):
    config_file = write_small_project(tmp_path / "project")
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + "database: {memory_limit: 700MB, threads: 1}\n", encoding="utf-8")
    con = _connect(tmp_path / "warehouse.duckdb", load_config(config_file))
    try:
        limit, threads = con.execute("SELECT current_setting('memory_limit'), "
                                     "current_setting('threads')").fetchall()[0]
    finally:
        con.close()
    assert threads == 1
    assert limit.startswith("667") or limit.startswith("700")  # DuckDB shows MiB or MB


def _project(tmp_path: Path) -> Path:
    config_file = write_small_project(tmp_path / "project")
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    return config_file


def test_a_folder_holding_a_warehouse_file_is_not_taken_for_a_run(tmp_path: Path):
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "warehouse.duckdb").write_bytes(b"")
    (documents / "letter.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(RunFailed, match="holds no previous LCI run"):
        run(load_config(_project(tmp_path)), documents)
    assert (documents / "letter.txt").read_text(encoding="utf-8") == "keep me"


def test_a_previous_run_with_a_file_added_by_hand_is_not_replaced(tmp_path: Path):
    config = load_config(_project(tmp_path))
    out = tmp_path / "out"
    run(config, out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RunFailed, match=r"holds files that no LCI run wrote \(notes.txt\)"):
        run(config, out)
    assert (out / "notes.txt").is_file()
    (out / "notes.txt").unlink()
    run(config, out)  # the run's own files alone: replaced


def test_the_project_folder_and_the_root_are_never_an_output(tmp_path: Path):
    config = load_config(_project(tmp_path))
    before = sorted(tmp_path.rglob("*"))
    for out in (tmp_path / "project", tmp_path, Path("/")):
        with pytest.raises(RunFailed, match="project itself|cannot be an output folder"):
            run(config, out)
    assert sorted(tmp_path.rglob("*")) == before


def test_an_output_path_with_an_apostrophe_is_a_path_not_sql(tmp_path: Path):
    out = tmp_path / "l'output'; SELECT 1; --"
    run(load_config(_project(tmp_path)), out)
    assert (out / "restricted" / "quarantine.csv").read_text(encoding="utf-8").startswith(
        "file,row,column")
    assert (out / "restricted" / "validated" / "admin_measures.parquet").is_file()
    assert (out / "public" / "manifest.sig").is_file()
