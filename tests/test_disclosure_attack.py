"""Spec: no output of the sample run lets an attacker recalculate a suppressed cell.

The attacker reads what is published — every file that carries numbers — and the published
membership of territories, and sets up the linear system that official statistics tools test
(tau-Argus, sdcTable): each aggregate cell is the sum of its member communes' cells, each
total the sum of a breakdown's categories, wherever the published unweighted n add up; the
published numerators and denominators (a value times its denominator where the numerator is
not published) are known. A suppressed cell is recalculated when it lies in the row space of
the system: a rank test (NumPy), written here apart from the module that protects the cells.
The same attack recovers cells, exactly, from the table before complementary suppression.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from indicators import compute_indicator_values, load_catalogue
from indicators.compute import publication
from pipelines.config import bundled_sample_config, load_config
from pipelines.ingest import ingest

KEY = ["indicator_id", "territory_code", "territory_level", "year", "breakdown"]
YEAR = 2024  # the sample report's year: its folder holds the exports


@pytest.fixture(scope="module")
def published(sample_run) -> Path:
    return sample_run("en").out / "public"


@pytest.fixture(scope="module")
def membership(published) -> tuple[pd.DataFrame, str]:
    """The published territory membership and the base level (communes)."""
    published = published / "published"
    members = pd.read_parquet(published / "territory_members.parquet")
    levels = pd.read_parquet(published / "territory_levels.parquet")
    return members, str(levels.sort_values("ordinal")["level"].iloc[0])


def _number(text: object) -> float:
    return float(text) if text not in ("", None) else np.nan


def from_parquet(public: Path) -> pd.DataFrame:
    table = pd.read_parquet(public / "published" / "indicator_values.parquet")
    return table[[*KEY, "n_unweighted", "numerator", "denominator", "value"]]


def from_csv(public: Path) -> pd.DataFrame:
    table = pd.read_csv(public / str(YEAR) / "indicators.csv",
                        dtype={"territory_code": str})
    return table[[*KEY, "n_unweighted", "numerator", "denominator", "value"]]


def from_workbook(public: Path) -> pd.DataFrame:
    rows = CalamineWorkbook.from_path(str(public / str(YEAR) / "indicators.xlsx")
                                      ).get_sheet_by_name("Data").to_python()
    header = rows[0]
    names = {"Indicator": "indicator_id", "Territory code": "territory_code",
             "Level": "territory_level", "Year": "year", "Breakdown": "breakdown",
             "Respondents (unweighted)": "n_unweighted", "Numerator": "numerator",
             "Denominator": "denominator", "Value": "value"}
    table = pd.DataFrame(rows[1:], columns=header)[list(names)].rename(columns=names)
    for column in ("n_unweighted", "numerator", "denominator", "value"):
        table[column] = table[column].map(_number)
    table["year"] = table["year"].astype(int)
    table["territory_code"] = table["territory_code"].astype(str)
    return table


def from_sdmx(public: Path) -> pd.DataFrame:
    """Values alone: the SDMX-CSV sends no numerator, denominator nor n."""
    with (public / str(YEAR) / "indicators.sdmx.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    breakdowns = {"_T": "total", "SEX_F": "sex=F", "SEX_M": "sex=M"}
    return pd.DataFrame({
        "indicator_id": [r["INDICATOR"] for r in rows],
        "territory_code": [r["REF_AREA"] for r in rows],
        "territory_level": [r["TERRITORY_LEVEL"] for r in rows],
        "year": [int(r["TIME_PERIOD"]) for r in rows],
        "breakdown": [breakdowns[r["BREAKDOWN"]] for r in rows],
        "n_unweighted": np.nan, "numerator": np.nan, "denominator": np.nan,
        "value": [_number(r["OBS_VALUE"]) for r in rows]})


OUTPUTS = {"parquet": from_parquet, "csv": from_csv, "xlsx": from_workbook, "sdmx": from_sdmx}


def combined(public: Path) -> pd.DataFrame:
    """What every output tells of each cell, taken together (the first number known wins)."""
    tables = [read(public) for read in OUTPUTS.values()]
    stacked = pd.concat(tables, ignore_index=True)
    return stacked.groupby(KEY, as_index=False, sort=True).agg(
        {c: "first" for c in ("n_unweighted", "numerator", "denominator", "value")})


def known_numerators(table: pd.DataFrame) -> pd.Series:
    """The published numerator, or the value times the denominator over the indicator's
    scale (read off the cells that publish all three)."""
    full = table.dropna(subset=["numerator", "denominator", "value"])
    full = full[full["numerator"] != 0]
    scale = (full["value"] * full["denominator"] / full["numerator"]).groupby(
        full["indicator_id"]).median()
    derived = table["value"] * table["denominator"] / table["indicator_id"].map(scale)
    return table["numerator"].fillna(derived)


def _relations(cells: pd.DataFrame, members: pd.DataFrame, base: str,
               year: int) -> list[tuple[int, list[int]]]:
    """(whole, parts) index lists of the exact additive relations among one part's cells."""
    index = {(t, lv, b): i for i, (t, lv, b) in enumerate(
        zip(cells["territory_code"], cells["territory_level"], cells["breakdown"],
            strict=True))}
    n = cells["n_unweighted"].to_numpy()
    relations = []
    valid = members[(members["valid_from"].isna() | (members["valid_from"] <= year))
                    & (members["valid_to"].isna() | (members["valid_to"] >= year))]
    communes = defaultdict(list)
    for code, level, commune in zip(valid["territory_code"], valid["territory_level"],
                                    valid["commune_code"], strict=True):
        if level != base:
            communes[(code, level)].append(commune)
    categories = defaultdict(list)
    for (code, level, breakdown), i in index.items():
        if breakdown != "total":
            categories[(code, level, breakdown.split("=")[0])].append(i)
    for (code, level, breakdown), whole in index.items():
        parts = [index[(c, base, breakdown)] for c in communes.get((code, level), [])
                 if (c, base, breakdown) in index]
        if parts and n[parts].sum() == n[whole]:
            relations.append((whole, parts))
    for (code, level, _), parts in categories.items():
        whole = index.get((code, level, "total"))
        if whole is not None and n[parts].sum() == n[whole]:
            relations.append((whole, parts))
    return relations


def attack(table: pd.DataFrame, members: pd.DataFrame, base: str
           ) -> dict[tuple, tuple[float, float]]:
    """Every suppressed cell whose numerator or denominator the published cells determine,
    with the numerator and denominator recovered (NaN where not determined)."""
    table = table.assign(numerator=known_numerators(table))
    recovered = {}
    for (indicator, year), cells in table.groupby(["indicator_id", "year"], sort=True):
        cells = cells.reset_index(drop=True)
        relations = _relations(cells, members, base, int(year))
        if not relations:
            continue
        a = np.zeros((len(relations), len(cells)))
        for row, (whole, parts) in enumerate(relations):
            a[row, whole], a[row, parts] = 1.0, -1.0
        found = {}
        for column in ("numerator", "denominator"):
            x = cells[column].to_numpy(dtype=float)
            unknown = np.flatnonzero(np.isnan(x))
            known = np.flatnonzero(~np.isnan(x))
            if not len(unknown):
                continue
            a_u = a[:, unknown]
            rank = np.linalg.matrix_rank(a_u)
            solution = np.linalg.lstsq(a_u, -a[:, known] @ x[known], rcond=None)[0]
            for j, cell in enumerate(unknown.tolist()):
                unit = np.zeros((1, len(unknown)))
                unit[0, j] = 1.0
                if np.linalg.matrix_rank(np.vstack([a_u, unit])) == rank:
                    found.setdefault(cell, {})[column] = solution[j]
        for cell, parts in found.items():
            key = (indicator, *cells.loc[cell, ["territory_code", "territory_level"]], year,
                   cells.loc[cell, "breakdown"])
            recovered[key] = (parts.get("numerator", np.nan), parts.get("denominator", np.nan))
    return recovered


@pytest.fixture(scope="module")
def primary_only():
    """The sample's published table with primary suppression alone, and the true raw
    numerators and denominators of its cells."""
    con = duckdb.connect()
    assert ingest(con, load_config(bundled_sample_config())).clean
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publication, "complementary_suppression", lambda con: 0)
        compute_indicator_values(con, load_catalogue())
    table = con.execute(f"SELECT {', '.join(KEY)}, n_unweighted, numerator, denominator, value "
                        "FROM indicator_values").df()
    truth = {tuple(r[:5]): (r[5], r[6]) for r in con.execute(
        f"SELECT {', '.join(KEY)}, numerator, denominator FROM _raw_values").fetchall()}
    members = con.execute("SELECT * FROM territory_members").df()
    con.close()
    return table, truth, members


def test_the_attack_recovers_suppressed_cells_before_complementary_suppression(primary_only):
    table, truth, members = primary_only
    recovered = attack(table, members, "COM")
    suppressed = table["numerator"].isna().sum()
    assert len(recovered) >= suppressed // 4, (len(recovered), suppressed)  # about a half
    for key, (numerator, denominator) in recovered.items():
        assert numerator == pytest.approx(truth[key][0], rel=1e-8, abs=1e-6), key
        assert denominator == pytest.approx(truth[key][1], rel=1e-8, abs=1e-6), key


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_no_output_lets_a_suppressed_cell_be_recalculated(published, membership, output):
    members, base = membership
    table = OUTPUTS[output](published)
    withheld = table["value"].isna() & table["n_unweighted"].notna()
    assert output == "sdmx" or withheld.any()  # the attack has cells to go after
    assert attack(table, members, base) == {}


def test_all_the_outputs_together_let_no_suppressed_cell_be_recalculated(published,
                                                                         membership):
    members, base = membership
    table = combined(published)
    assert table["numerator"].isna().any()
    assert attack(table, members, base) == {}


def test_a_suppressed_cell_shows_no_number_in_any_output(published):
    parquet = from_parquet(published).set_index(KEY)
    suppressed = pd.read_parquet(published / "published" / "indicator_values.parquet"
                                 ).query("status == 'suppressed'").set_index(KEY).index
    assert len(suppressed)
    for output, read in OUTPUTS.items():
        table = read(published).set_index(KEY)
        shown = table.loc[table.index.intersection(suppressed),
                          ["numerator", "denominator", "value"]]
        assert shown.isna().all().all(), output
    assert parquet.loc[suppressed, "n_unweighted"].notna().all()
