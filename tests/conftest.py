"""Shared fixtures: the sample project ingested and computed once per test session, and a
signing key for every run of the tests (never the per-user key in the real home: the
session's key is in a temporary folder named by ``LCI_SIGNING_KEY``, and ``XDG_CONFIG_HOME``
points at another temporary folder, for the tests of the per-user key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from indicators import compute_indicator_values, load_catalogue
from pipelines.config import bundled_sample_config, load_config
from pipelines.ingest import ingest
from pipelines.publishing import publication
from pipelines.publishing.signing import write_key_pair
from tests import printing  # noqa: F401 - holds the real wants_pdf before the session patches it


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
def html_only_publication() -> Iterator[None]:
    """Runs in the tests write every HTML page but print no PDF: printing the sample's report
    and profiles takes minutes, and the tests of the PDFs ask for it (``tests.printing``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publication, "wants_pdf", lambda settings: False)
        yield
