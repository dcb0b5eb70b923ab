"""The run's own settings can never become SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import load_config
from pipelines.run import RunFailed, _connect, run
from tests.small_project import write_small_project


def test_a_memory_limit_written_as_sql_runs_nothing(tmp_path: Path):
    config_file = write_small_project(tmp_path / "project")
    target = tmp_path / "written.csv"
    hostile = f"1GB'; COPY (SELECT 42) TO '{target}'; --"
    config_file.write_text(config_file.read_text(encoding="utf-8")
                           + f'database: {{memory_limit: "{hostile}"}}\n', encoding="utf-8")
    with pytest.raises(RunFailed, match="database settings .* refused by DuckDB"):
        run(load_config(config_file), tmp_path / "out")
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # nothing left behind


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
