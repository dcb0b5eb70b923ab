"""Shared fixtures: the sample project ingested and computed once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from indicators import compute_indicator_values, load_catalogue
from pipelines.config import bundled_sample_config, load_config
from pipelines.ingest import ingest


@pytest.fixture(scope="session")
def sample_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse holding the validated sample data and its indicator values."""
    con = duckdb.connect()
    result = ingest(con, load_config(bundled_sample_config()))
    assert result.clean, result
    compute_indicator_values(con, load_catalogue())
    yield con
    con.close()
