"""A data sheet with more rows than a worksheet holds continues on further sheets, and says so."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook

from indicators import load_catalogue
from reports import _spreadsheet, write_exports
from tests.reports_fixtures import build_warehouse


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _rows(book: CalamineWorkbook, name: str) -> list[list]:
    return book.get_sheet_by_name(name).to_python()


def _readme(book: CalamineWorkbook, name: str = "Read me") -> str:
    return " ".join(str(c) for r in _rows(book, name) for c in r)


@pytest.mark.parametrize(("lang", "data", "readme", "says"), [
    ("en", "Data", "Read me", "continue the sheet Data"),
    ("fr", "Données", "Lisez-moi", "prolongent la feuille Données"),
])
def test_a_data_sheet_longer_than_a_sheet_continues_on_numbered_sheets(
        catalogue, tmp_path, monkeypatch, lang, data, readme, says):
    con = build_warehouse(catalogue)
    whole = CalamineWorkbook.from_path(
        str(write_exports(con, catalogue, tmp_path / "a", lang)[1]))
    rows = _rows(whole, data)
    monkeypatch.setattr(_spreadsheet, "SHEET_ROWS", 1 + len(rows[1:]) // 3 + 1)
    split = CalamineWorkbook.from_path(
        str(write_exports(con, catalogue, tmp_path / "b", lang)[1]))
    parts = [n for n in split.sheet_names if n == data or n.startswith(f"{data} (")]
    assert parts == [data, f"{data} (2)", f"{data} (3)"]
    assert split.sheet_names[-3:] == parts  # after the domain sheets
    assert all(_rows(split, n)[0] == rows[0] for n in parts)  # each with the header
    assert [r for n in parts for r in _rows(split, n)[1:]] == rows[1:]  # every row, in order
    assert says in _readme(split, readme)
    assert f"{data} (2), {data} (3)" in _readme(split, readme)
    assert says not in _readme(whole, readme)
