"""Specification of the sample data set in data/sample (see data/README.md)."""

from __future__ import annotations

import csv
import importlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "data" / "sample"
CITIES = ("63113", "78361", "34172", "91228", "56260")
EVRY = "91228"
OUTSIDE = "99999"


def _sample_data_module():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("pipelines.sample_data")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("sample")
    paths = _sample_data_module().generate_sample_project(out, seed=2024)
    return out, paths


@pytest.fixture(scope="module")
def out_dir(generated: tuple[Path, list[Path]]) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def survey(out_dir: Path) -> pd.DataFrame:
    return pq.read_table(out_dir / "raw" / "aes_survey.parquet").to_pandas()


@pytest.fixture(scope="module")
def population(out_dir: Path) -> pd.DataFrame:
    rows = CalamineWorkbook.from_path(out_dir / "raw" / "population.xlsx")
    values = rows.get_sheet_by_name("Population").to_python()
    assert values[2] == ["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"]
    df = pd.DataFrame(values[3:], columns=values[2])
    return df.astype({"ANNEE": int, "POP": int})


@pytest.fixture(scope="module")
def commuting(out_dir: Path) -> pd.DataFrame:
    return pd.read_csv(
        out_dir / "raw" / "commuting.csv",
        sep=";",
        dtype={"COMMUNE_RESIDENCE": str, "COMMUNE_TRAVAIL": str},
    )


def _relative_files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for sub in ("raw", "reference")
        for p in (root / sub).rglob("*")
        if p.is_file()
    )


def test_regeneration_is_byte_identical_to_committed_files(generated) -> None:
    out, paths = generated
    files = _relative_files(out)
    assert sorted(p.relative_to(out).as_posix() for p in paths) == files
    assert _relative_files(COMMITTED) == files
    changed = [f for f in files if (out / f).read_bytes() != (COMMITTED / f).read_bytes()]
    assert not changed, f"regenerate with `python -m pipelines.sample_data data/sample`: {changed}"


def test_survey_weights_sum_to_population_18_69(survey, population) -> None:
    adults = population[
        population.TRANCHE_AGE.isin(["18-24", "25-34", "35-44", "45-54", "55-64", "65-69"])
    ]
    target = adults.groupby(["CODGEO", "ANNEE"]).POP.sum()
    sums = survey.groupby(["COM", "ANNEE"]).POIDS.sum()
    assert set(sums.index) == set(target.index)
    for key, total in target.items():
        assert sums[key] == pytest.approx(total, rel=1e-12, abs=1e-6)
    assert (survey.POIDS > 0).all()


def test_cities_have_at_least_1500_respondents_per_year(survey) -> None:
    counts = survey.groupby(["COM", "ANNEE"]).size()
    for city in CITIES:
        for year in (2023, 2024):
            assert 1500 <= counts[(city, year)] <= 2400
    # small cells exist so that suppression (n < 30) and flagging (n < 100) are exercised
    assert counts.min() < 30
    assert ((counts >= 30) & (counts < 100)).any()


def test_survey_design_every_stratum_has_at_least_two_psus(survey) -> None:
    psus = survey.groupby("STRATE").GRAPPE.nunique()
    assert psus.min() >= 2
    # a stratum belongs to one commune and one year
    assert (survey.groupby("STRATE")[["COM", "ANNEE"]].nunique() == 1).all().all()
    assert not survey.duplicated(["ANNEE", "IDENT"]).any()


def test_survey_codes_and_items(survey) -> None:
    assert survey.AGE.between(18, 69).all()
    assert set(survey.SEXE) == {"1", "2"}
    assert survey.ISCED.between(0, 8).all()
    items = [
        "FED12",
        "NFE12",
        "GOJT12",
        "INF12",
        "DIGSKILL",
        "BENEVOLAT",
        "BIBLIO",
        "ENVIRO",
        "ATELIER",
        "INTENTION",
        "BESOIN",
    ]
    for item in items:
        assert set(survey[item].dropna().unique()) <= {0, 1}
    assert survey[items].isna().any().any()


def _employment(commuting: pd.DataFrame, code: str, year: int) -> tuple[float, float]:
    flows = commuting[commuting["ANNEE"] == year]
    employed = flows.loc[flows["COMMUNE_RESIDENCE"] == code, "IPONDI"].sum()
    local = flows[flows["COMMUNE_TRAVAIL"] == code]
    eci = 100 * local["IPONDI"].sum() / employed
    qualified = local[local["QUALIFICATION"].isin(["cadre", "intermediaire"])]
    residents = qualified.loc[qualified["COMMUNE_RESIDENCE"] == code, "IPONDI"].sum()
    return eci, residents / qualified["IPONDI"].sum()


def test_evry_is_an_employment_pole_whose_qualified_jobs_go_to_non_residents(commuting) -> None:
    assert set(commuting.QUALIFICATION) == {"cadre", "intermediaire", "autre"}
    assert not (
        (commuting.COMMUNE_RESIDENCE == OUTSIDE) & (commuting.COMMUNE_TRAVAIL == OUTSIDE)
    ).any()
    for year in (2023, 2024):
        eci, residents_share = _employment(commuting, EVRY, year)
        assert eci > 100
        assert residents_share < 0.5


def test_admin_measures_is_a_french_office_csv(out_dir: Path) -> None:
    raw = (out_dir / "raw" / "admin_measures.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == ["code_commune", "annee", "indicateur", "valeur", "source"]
    values = [r[3] for r in rows[1:]]
    assert all("." not in v for v in values)
    assert any("," in v for v in values)
    spending = [r[3] for r in rows[1:] if r[2] == "lll_spending_eur"]
    assert all("," in v and len(v.split(",")[1]) == 2 for v in spending)
    assert any("é" in r[4] for r in rows[1:])


def test_admin_values_within_codebook_ranges(out_dir: Path) -> None:
    codebook = pd.read_csv(out_dir / "reference" / "admin_codebook.csv").set_index("measure_id")
    admin = pd.read_csv(
        out_dir / "raw" / "admin_measures.csv",
        sep=";",
        decimal=",",
        encoding="cp1252",
        dtype={"code_commune": str},
    )
    assert set(admin.indicateur) == set(codebook.index)
    bounds = codebook.loc[admin.indicateur]
    assert (admin.valeur.to_numpy() >= bounds.min_value.to_numpy()).all()
    assert (admin.valeur.to_numpy() <= bounds.max_value.to_numpy()).all()
    assert not admin.duplicated(["code_commune", "annee", "indicateur"]).any()


def test_population_totals_and_year_change(population) -> None:
    totals = population.groupby(["CODGEO", "ANNEE"]).POP.sum().unstack()
    assert totals.loc["63113", 2023] == pytest.approx(147_300, rel=0.01)
    assert totals.loc["56087", 2023] == pytest.approx(600, rel=0.01)
    change = totals[2024] / totals[2023] - 1
    assert np.abs(change).max() <= 0.01


def test_all_commune_codes_are_five_character_strings(
    out_dir, survey, population, commuting
) -> None:
    territories = pd.read_csv(out_dir / "reference" / "territories.csv", dtype=str)
    admin = pd.read_csv(
        out_dir / "raw" / "admin_measures.csv", sep=";", encoding="cp1252", dtype=str
    )
    columns = [
        territories.loc[territories.level == "COM", "territory_code"],
        admin.code_commune,
        survey.COM,
        population.CODGEO,
        commuting.COMMUNE_RESIDENCE,
        commuting.COMMUNE_TRAVAIL,
    ]
    for column in columns:
        assert all(isinstance(code, str) and len(code) == 5 and code.isdigit() for code in column)
    communes = set(territories.loc[territories.level == "COM", "territory_code"])
    assert set(survey.COM) | set(population.CODGEO) | set(admin.code_commune) <= communes
