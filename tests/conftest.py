"""Shared fixtures: the sample project ingested and computed once per test session, and a
signing key for every run of the tests (never the per-user key in the real home: the
session's key is in a temporary folder named by ``LCI_SIGNING_KEY``, and ``XDG_CONFIG_HOME``
points at another temporary folder, for the tests of the per-user key)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from indicators import compute_indicator_values, load_catalogue
from pipelines.config import bundled_sample_config, load_config
from pipelines.ingest import ingest
from pipelines.publishing import publication
from pipelines.publishing.signing import write_key_pair
from tests import printing  # noqa: F401 - holds the real wants_pdf before the session patches it

# A pytest-xdist worker starts with COLUMNS=80, which the commands' consoles would keep as
# their width from the moment they are imported; without it they read the width when they
# print, as a person's terminal gives it (and as ``wide_console`` sets it).
os.environ.pop("COLUMNS", None)


@dataclass(frozen=True)
class SampleRun:
    """The sample project run by ``lci run`` as a person types it: its folder and console."""

    out: Path
    console: str


@pytest.fixture(scope="session")
def sample_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse holding the validated sample data and its indicator values."""
    con = duckdb.connect()
    result = ingest(con, load_config(bundled_sample_config()))
    assert result.clean, result
    compute_indicator_values(con, load_catalogue())
    yield con
    con.close()


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory) -> Iterator[Path]:
    """The session's signing key (its public key is beside it, ``.pub``)."""
    folder = tmp_path_factory.mktemp("keys")
    key, _ = write_key_pair(folder / "publisher.pem")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LCI_SIGNING_KEY", str(key))
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
        yield key


@pytest.fixture(scope="session", autouse=True)
def wide_console() -> Iterator[None]:
    """The commands print as on a 200-column terminal, whatever runs the tests (a pipe is 80
    wide; a worker's temporary paths are longer): a message is read whole, not as wrapped."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "200")
        yield


@pytest.fixture(scope="session", autouse=True)
def html_only_publication() -> Iterator[None]:
    """Runs in the tests write every HTML page but print no PDF: printing the sample's report
    and profiles takes minutes, and the tests of the PDFs ask for it (``tests.printing``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publication, "wants_pdf", lambda settings: False)
        yield


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, signing_key) -> Iterator[Callable[[str], SampleRun]]:
    """``lci run --lang LANG`` on the sample project, once per language for the whole session
    (a full run is the tests' costliest step). Tests only read these folders: a test that
    changes a bundle changes a copy, and the session checks at its end that nothing changed."""
    from typer.testing import CliRunner

    from pipelines.cli.commands import app

    runs: dict[str, SampleRun] = {}
    hashes: dict[str, dict[str, str]] = {}

    def of(lang: str) -> SampleRun:
        if lang not in runs:
            out = tmp_path_factory.mktemp(f"sample-run-{lang}") / "out"
            result = CliRunner().invoke(app, ["run", "--config", str(bundled_sample_config()),
                                              "--out", str(out), "--lang", lang],
                                        env={"COLUMNS": "200"})
            assert result.exit_code == 0, result.output
            runs[lang] = SampleRun(out, result.output)
            hashes[lang] = _hashes(out)
        return runs[lang]

    yield of
    for lang, run in runs.items():
        assert _hashes(run.out) == hashes[lang], f"a test wrote into the shared {lang} run"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Two workers share the tests a file at a time (a file's fixtures are made once), and
    the notebooks go to one worker together: they share the warehouse in ``output/``, which
    the first one builds."""
    from xdist.scheduler import LoadFileScheduling

    class FilesAndNotebooks(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "notebooks" if scope.startswith("notebooks/") else scope

    return FilesAndNotebooks(config, log)
