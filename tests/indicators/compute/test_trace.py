"""``trace_cell``: the records behind a published cell reproduce its numerator, denominator
and n, for every kind of indicator and every level of territory."""

from __future__ import annotations

import pytest

from indicators import load_catalogue
from indicators.compute.trace import TraceError, trace_cell

CATALOGUE = load_catalogue()


def _cells(con, indicator_id: str) -> list[tuple]:
    """Published cells with their parts shown: one territory of each level, both years."""
    return con.execute("""
        SELECT territory_code, year, breakdown FROM indicator_values
        WHERE indicator_id = $1 AND numerator IS NOT NULL AND denominator IS NOT NULL
          AND territory_code IN (SELECT min(territory_code) FROM indicator_values
                                 WHERE indicator_id = $1 AND numerator IS NOT NULL
                                 GROUP BY territory_level
                                 UNION SELECT '34172')
        ORDER BY ALL""", [indicator_id]).fetchall()


@pytest.mark.parametrize("indicator", list(CATALOGUE), ids=lambda i: i.id)
def test_the_records_reproduce_every_published_cell(sample_warehouse, indicator):
    cells = _cells(sample_warehouse, indicator.id)
    assert cells, f"{indicator.id}: no published cell to trace"
    for territory, year, breakdown in cells:
        trace = trace_cell(sample_warehouse, CATALOGUE, indicator.id, territory, year, breakdown)
        assert trace.records.num_rows > 0
        assert trace.reproduces, (territory, year, breakdown, trace.checks)
        assert {"source_file", "source_row"} <= set(trace.records.column_names)


def test_a_survey_trace_lists_respondents_with_file_row_and_weight(sample_warehouse):
    trace = trace_cell(sample_warehouse, CATALOGUE, "LL01", "34172", 2024, "sex=F")
    rows = trace.records.to_pylist()
    assert all(r["source_file"] == "raw/aes_survey.parquet" for r in rows)
    assert all(r["weight"] > 0 for r in rows)
    assert trace.n == trace.published["n_unweighted"] == sum(r["counted"] for r in rows)
    names = [name for name, *_ in trace.checks]
    assert names == ["numerator", "denominator", "n"]


def test_a_forged_published_number_is_not_reproduced(sample_warehouse):
    trace = trace_cell(sample_warehouse, CATALOGUE, "MED04", "34172", 2024)
    assert trace.reproduces
    forged = dict(trace.published, numerator=trace.published["numerator"] + 1)
    assert not type(trace)(**{**trace.__dict__, "published": forged}).reproduces


def test_an_unknown_cell_says_what_exists(sample_warehouse):
    with pytest.raises(TraceError, match="its breakdowns there: sex=F, sex=M, total"):
        trace_cell(sample_warehouse, CATALOGUE, "LL01", "34172", 2024, "sex=X")
    with pytest.raises(TraceError, match="no indicator 'ZZ99'"):
        trace_cell(sample_warehouse, CATALOGUE, "ZZ99", "34172", 2024)
    with pytest.raises(TraceError, match="column=value"):
        trace_cell(sample_warehouse, CATALOGUE, "LL01", "34172", 2024, "sex")
