"""Long stages show how far they are on a terminal, and stay quiet in a log."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from pipelines.cli.commands import _run_or_exit, app
from pipelines.config import load_config
from pipelines.run import run
from tests.pipelines.test_project_contracts import _project


def test_the_run_reports_sources_loaded_and_indicators_computed(tmp_path):
    seen: list[tuple[str, int, int, str]] = []
    config = load_config(_project(tmp_path / "project"))
    context = run(config, tmp_path / "out", on_progress=lambda *step: seen.append(step))
    ingest = [s for s in seen if s[0] == "ingest"]
    assert ingest[-1][1:3] == (len(config.sources), len(config.sources))
    assert [s[1] for s in ingest] == sorted(s[1] for s in ingest)
    computed = [s for s in seen if s[0] == "indicators"]
    assert [s[1] for s in computed] == list(range(1, len(context.catalogue) + 1))
    assert computed[-1][3] == context.catalogue.indicators[-1].id


def test_a_terminal_sees_counts_and_time_left(tmp_path):
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=120)
    _run_or_exit(load_config(_project(tmp_path / "project")), tmp_path / "out",
                 announce=terminal)
    shown = buffer.getvalue()
    assert "indicators computed" in shown and "sources loaded" in shown
    assert "left" in shown


def test_a_log_gets_the_stage_lines_alone(tmp_path):
    config = _project(tmp_path / "project")
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "▸" in result.output
    assert "indicators computed" not in result.output and "\x1b[" not in result.output
