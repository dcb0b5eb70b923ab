"""``indicators.sdmx.csv``: the published values in SDMX-CSV, statuses from the SDMX
cross-domain code lists (CL_OBS_STATUS, CL_CONF_STATUS); a suppressed cell is confidential
and has no value, a missing one is not sent."""

from __future__ import annotations

import csv
import re

import pytest

from indicators import Catalogue, load_catalogue
from reports._sdmx import COLUMNS, DATAFLOW, unit_code, write_sdmx
from tests.reports_fixtures import LOW_RELIABILITY, MISSING, SUPPRESSED, YEAR, build_warehouse


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def con(catalogue):
    return build_warehouse(catalogue)


@pytest.fixture(scope="module")
def rows(con, catalogue, tmp_path_factory) -> list[dict[str, str]]:
    path = write_sdmx(con, catalogue, tmp_path_factory.mktemp("sdmx") / "indicators.sdmx.csv")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _row(rows, cell: tuple[str, str], breakdown: str = "_T") -> dict[str, str] | None:
    found = [r for r in rows if (r["INDICATOR"], r["REF_AREA"], r["TIME_PERIOD"],
                                 r["BREAKDOWN"]) == (*cell, str(YEAR), breakdown)]
    assert len(found) <= 1
    return found[0] if found else None


def test_the_columns_are_the_dataflow_the_dimensions_the_value_and_the_attributes(rows):
    assert list(rows[0]) == list(COLUMNS) == [
        "DATAFLOW", "INDICATOR", "TERRITORY_LEVEL", "REF_AREA", "BREAKDOWN", "TIME_PERIOD",
        "OBS_VALUE", "UNIT_MEASURE", "DECIMALS", "OBS_STATUS", "CONF_STATUS", "CI_LOWER",
        "CI_UPPER"]
    assert {r["DATAFLOW"] for r in rows} == {DATAFLOW} == {"LCI:LCI_INDICATORS(1.0)"}


def test_published_values_are_free_and_flagged_ones_of_low_reliability(con, rows):
    published = con.execute("SELECT count(*) FROM indicator_values "
                            "WHERE status IN ('ok', 'low_reliability')").fetchone()[0]
    suppressed = con.execute("SELECT count(*) FROM indicator_values "
                             "WHERE status = 'suppressed'").fetchone()[0]
    assert len(rows) == published + suppressed
    ok = _row(rows, ("LL01", "56260"))
    assert (ok["OBS_STATUS"], ok["CONF_STATUS"]) == ("A", "F") and float(ok["OBS_VALUE"])
    low = _row(rows, LOW_RELIABILITY)
    assert (low["OBS_STATUS"], low["CONF_STATUS"]) == ("U", "F") and float(low["OBS_VALUE"])


def test_a_suppressed_cell_is_confidential_with_no_value_and_a_missing_one_is_not_sent(rows):
    suppressed = _row(rows, SUPPRESSED)
    assert (suppressed["OBS_STATUS"], suppressed["CONF_STATUS"]) == ("Q", "C")
    assert suppressed["OBS_VALUE"] == suppressed["CI_LOWER"] == suppressed["CI_UPPER"] == ""
    assert _row(rows, MISSING) is None


def test_codes_are_sdmx_identifiers(catalogue, rows):
    identifier = re.compile(r"[A-Za-z0-9_@$-]+")
    for column in ("INDICATOR", "TERRITORY_LEVEL", "REF_AREA", "BREAKDOWN", "UNIT_MEASURE"):
        assert all(identifier.fullmatch(r[column]) for r in rows), column
    assert {r["BREAKDOWN"] for r in rows} >= {"_T", "SEX_F", "SEX_M"}
    units = {i.unit.en: unit_code(i) for i in catalogue}
    assert len(set(units.values())) == len(units)  # one code per unit
    assert unit_code(catalogue.get("LL01")) == "PC_OF_ADULTS_25_64"
