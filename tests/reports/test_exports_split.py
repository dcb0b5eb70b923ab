"""A domain with more rows than a worksheet holds continues on further sheets, and says so."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook

from indicators import load_catalogue
from reports import _exports, write_exports
from tests.reports_fixtures import build_warehouse


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _rows(book: CalamineWorkbook, name: str) -> list[list]:
    return book.get_sheet_by_name(name).to_python()


def test_a_domain_longer_than_a_sheet_continues_on_numbered_sheets(catalogue, tmp_path,
                                                                   monkeypatch):
    con = build_warehouse(catalogue)
    whole = CalamineWorkbook.from_path(str(write_exports(con, catalogue, tmp_path / "a")[1]))
    ll = _rows(whole, "LL")
    monkeypatch.setattr(_exports, "SHEET_ROWS", 1 + len(ll[1:]) // 3 + 1)
    split = CalamineWorkbook.from_path(str(write_exports(con, catalogue, tmp_path / "b")[1]))
    parts = [n for n in split.sheet_names if n == "LL" or n.startswith("LL (")]
    assert parts == ["LL", "LL (2)", "LL (3)"]
    assert all(_rows(split, n)[0] == ll[0] for n in parts)  # each with the header
    assert [r for n in parts for r in _rows(split, n)[1:]] == ll[1:]  # every row, in order
    readme = " ".join(str(c) for r in _rows(split, "Read me") for c in r)
    assert "the sheets" in readme and "LL (2), LL (3)" in readme
    assert "continue the domain" not in " ".join(
        str(c) for r in _rows(whole, "Read me") for c in r)
