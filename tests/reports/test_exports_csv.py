"""``exports.csv: spreadsheet`` writes the CSV as the run language's spreadsheet opens it:
French ``;``, decimal comma and a byte-order mark; English ``,``, point and a byte-order mark.
``standard`` stays for programs: comma, point, no byte-order mark."""

from __future__ import annotations

import csv
import io

import pytest

from indicators import Catalogue, load_catalogue
from reports import write_csv
from reports._exports import FLOATS, VALUE_COLUMNS
from tests.reports_fixtures import THOUSANDS, YEAR, build_warehouse

BOM = b"\xef\xbb\xbf"
NUMBERS = [4 + n for n, name in enumerate(VALUE_COLUMNS) if name in FLOATS]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def con(catalogue):
    return build_warehouse(catalogue)


def _rows(path, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().removeprefix(BOM).decode("utf-8"),
                                       newline=""), delimiter=delimiter))


def test_a_french_spreadsheet_csv_has_a_bom_semicolons_and_decimal_commas(con, catalogue,
                                                                         tmp_path):
    path = write_csv(con, catalogue, tmp_path / "fr.csv", "fr", "spreadsheet")
    standard = _rows(write_csv(con, catalogue, tmp_path / "std.csv", "fr"), ",")
    raw = path.read_bytes()
    assert raw.startswith(BOM) and raw[3:].split(b"\n")[0].count(b";") == 18
    rows = _rows(path, ";")
    assert len(rows) == len(standard) and all(len(r) == 19 for r in rows)
    for french, plain in zip(rows[1:], standard[1:], strict=True):
        for n in NUMBERS:
            assert "." not in french[n]
            assert french[n].replace(",", ".") == plain[n]
    thousands = next(r for r in rows if (r[0], r[4], r[7], r[8]) ==
                     (THOUSANDS[0], THOUSANDS[1], str(YEAR), "Ensemble"))
    assert thousands[9] == "1234,4"  # no thousands separator: Excel reads it as a number


def test_an_english_spreadsheet_csv_has_a_bom_commas_and_points(con, catalogue, tmp_path):
    path = write_csv(con, catalogue, tmp_path / "en.csv", "en", "spreadsheet")
    standard = write_csv(con, catalogue, tmp_path / "std.csv", "en")
    assert path.read_bytes().startswith(BOM)
    rows, plain = _rows(path, ","), _rows(standard, ",")
    assert rows[0][:3] == ["Indicator", "Domain", "Label"]
    assert [[r[n] for n in NUMBERS] for r in rows[1:]] == [[r[n] for n in NUMBERS]
                                                            for r in plain[1:]]


def test_the_standard_csv_has_no_bom_and_commas(con, catalogue, tmp_path):
    for lang, first in (("en", b"indicator_id,domain,label_en,"),
                        ("fr", b"code_indicateur,domaine,libelle,")):
        raw = write_csv(con, catalogue, tmp_path / f"{lang}.csv", lang).read_bytes()
        assert raw.startswith(first)
        assert b";" not in raw.split(b"\n")[0]


def test_spreadsheet_csv_text_that_would_run_as_a_formula_starts_with_a_quote(
        con, catalogue, tmp_path):
    con.execute("UPDATE indicator_values SET territory_name = '=1+2;x' "
                "WHERE territory_code = '56003'")
    con.execute("UPDATE indicator_values SET value = -value WHERE value IS NOT NULL")
    rows = _rows(write_csv(con, catalogue, tmp_path / "fr.csv", "fr", "spreadsheet"), ";")
    names = {r[6] for r in rows[1:] if r[4] == "56003"}
    assert names == {"'=1+2;x"}  # quoted, and the ';' inside the cell kept
    values = [r[9] for r in rows[1:] if r[9] not in ("", "0")]
    assert values and all(v.startswith("-") and float(v.replace(",", ".")) < 0
                          for v in values)  # numbers stay numbers, never prefixed


@pytest.mark.parametrize("style", ["standard", "spreadsheet"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_two_writes_give_the_same_bytes(con, catalogue, tmp_path, lang, style):
    first = write_csv(con, catalogue, tmp_path / "a.csv", lang, style)
    second = write_csv(con, catalogue, tmp_path / "b.csv", lang, style)
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob(".*partial"))  # replaced in one step, nothing left over
