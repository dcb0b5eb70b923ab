"""``lci composite`` on the ASEM data (COINr's example), with each option, and its errors.

The command is registered here as ``pipelines/cli.py`` registers it, so these tests run with or
without the rest of the command line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from indicators.composite.build import build_composite
from indicators.composite.data import read_coinr
from indicators.composite.specification import CompositeSpec, Treat
from pipelines.cli.composite import composite_command
from tests.reference_data import asem_files

DATA, META = asem_files()
AGGREGATES = ["Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social",
              "SusEcFin", "Conn", "Sust", "Index"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("composite")(composite_command)


@app.command("version")
def _version() -> None:  # a second command keeps "composite" as a sub-command, as in lci
    """Unused."""


runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["composite", str(DATA), "--meta", str(META), *args])


def results(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "results.csv"
    result = invoke(*args, "--out", str(out))
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype={"uCode": str})


@pytest.fixture(scope="module")
def indicators() -> list[str]:
    meta = pd.read_csv(META)
    return list(meta.loc[meta["Type"] == "Indicator", "iCode"])


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype={"uCode": str}).set_index("uCode")


def test_without_out_a_readable_table_is_printed():
    result = invoke()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Composite index — 51 units, 49 indicators" in lines[0]
    header = next(line for line in lines if "uCode" in line)
    assert all(word in header for word in ("Rank", "uCode", "uName", "Index", "Conn", "Sust"))
    first = next(line for line in lines if "DEU" in line)
    assert "│    1 │ DEU" in first and "Germany" in first and "75.23" in first
    assert "normalisation minmax [0, 100] · aggregation amean · outlier treatment none" \
        in " ".join(result.output.split())
    assert "--out RESULTS.csv" in result.output


def test_results_have_ucode_every_normalised_indicator_every_aggregate_and_rank(
        tmp_path, indicators):
    frame = results(tmp_path)
    assert list(frame.columns) == ["uCode", *indicators, *AGGREGATES, "Rank"]
    assert len(frame) == 51 and frame["uCode"].tolist()[:3] == ["AUT", "BEL", "BGR"]
    assert frame["Rank"].dtype.kind == "i" and sorted(frame["Rank"]) == list(range(1, 52))
    expected = build_composite(read_coinr(DATA, META)).to_frame()
    assert np.allclose(frame[AGGREGATES], expected[AGGREGATES])
    assert frame[indicators].min().min() == 0 and frame[indicators].max().max() == 100


def test_zscore(tmp_path, indicators):
    frame = results(tmp_path, "--normalise", "zscore")
    assert np.allclose(frame[indicators].mean(), 0, atol=1e-9)
    assert np.allclose(frame[indicators].std(ddof=1), 1)


def test_rank_and_percentile_rank(tmp_path, indicators, raw):
    ranks = results(tmp_path, "--normalise", "rank")
    assert ranks["LPI"].tolist() == raw["LPI"].rank(method="min").tolist()
    pranks = results(tmp_path, "--normalise", "prank")
    assert pranks[indicators].min().min() == 0 and pranks[indicators].max().max() == 1


def test_distance_to_target_uses_metas_targets(tmp_path, raw):
    frame = results(tmp_path, "--normalise", "target", "--range", "0,1")
    # COINr n_dist2targ with iMeta's Target 4.11803135 for LPI: (x − min) / (targ − min)
    lpi = raw["LPI"]
    assert np.allclose(frame["LPI"], (lpi - lpi.min()) / (4.11803135 - lpi.min()))
    scaled = results(tmp_path, "--normalise", "target")  # default range 0–100
    assert np.allclose(scaled["LPI"], frame["LPI"] * 100)


def test_range_sets_the_min_max_scale(tmp_path, indicators):
    frame = results(tmp_path, "--range", "1,100")
    assert frame[indicators].min().min() == 1 and frame[indicators].max().max() == 100


@pytest.mark.parametrize("method", ["gmean", "hmean"])
def test_geometric_and_harmonic_means_on_a_positive_range(tmp_path, method):
    frame = results(tmp_path, "--aggregate", method, "--range", "1,100")
    arithmetic = results(tmp_path, "--range", "1,100")
    physical = ["LPI", "Flights", "Ship", "Bord", "Elec", "Gas", "ConSpeed", "Cov4G"]
    values = frame.loc[frame["uCode"] == "FRA", physical].to_numpy().ravel()
    expected = (np.exp(np.log(values).mean()) if method == "gmean"
                else len(values) / np.sum(1 / values))
    assert frame.loc[frame["uCode"] == "FRA", "Physical"].item() == pytest.approx(expected)
    assert (frame["Index"] <= arithmetic["Index"] + 1e-9).all()  # AM ≥ GM ≥ HM


def test_weights_file_overrides_metas_weights(tmp_path):
    weights = tmp_path / "weights.csv"
    weights.write_text("iCode,Weight\nConn,0\nSust,1\n", encoding="utf-8")
    frame = results(tmp_path, "--weights", str(weights))
    assert np.allclose(frame["Index"], frame["Sust"])


def test_treat_applies_coinrs_default_treatment(tmp_path):
    frame = results(tmp_path, "--treat")
    expected = build_composite(read_coinr(DATA, META), CompositeSpec(treat=Treat())).to_frame()
    assert np.allclose(frame["Index"], expected["Index"])
    untreated = results(tmp_path)
    assert not np.allclose(frame["Flights"], untreated["Flights"])
    printed = invoke("--treat").output
    assert "Outliers treated in 18 indicators" in printed


# --- errors: one message, exit status 2, no traceback ---------------------------------------

def _meta_with(tmp_path: Path, change) -> Path:
    meta = pd.read_csv(META, dtype=str)
    change(meta)
    path = tmp_path / "meta.csv"
    meta.to_csv(path, index=False)
    return path


def _refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_parent_that_does_not_exist(tmp_path):
    def orphan(m: pd.DataFrame) -> None:
        m.loc[m["iCode"] == "Physical", "Parent"] = "Nowhere"

    meta = _meta_with(tmp_path, orphan)
    result = runner.invoke(app, ["composite", str(DATA), "--meta", str(meta)])
    _refused(result, "parent 'Nowhere' of 'Physical' does not exist")


def test_a_cycle(tmp_path):
    def cycle(m: pd.DataFrame) -> None:
        m.loc[m["iCode"] == "Conn", "Parent"] = "Physical"

    result = runner.invoke(app, ["composite", str(DATA), "--meta",
                                 str(_meta_with(tmp_path, cycle))])
    _refused(result, "cycle in the hierarchy")


def test_an_indicator_missing_from_data(tmp_path):
    data = pd.read_csv(DATA, dtype=str).drop(columns="LPI")
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    result = runner.invoke(app, ["composite", str(path), "--meta", str(META)])
    _refused(result, "missing from data.csv: ['LPI']")


@pytest.mark.parametrize("args, message", [
    (("--aggregate", "gmean"), "the geometric mean needs values above 0"),
    (("--normalise", "zscore", "--range", "0,1"), "--range applies to minmax and target"),
    (("--range", "100,0"), "U must exceed L"),
    (("--range", "a,b"), "two numbers L,U"),
])
def test_options_that_cannot_be_honoured(args, message):
    _refused(invoke(*args), message)


def test_unknown_codes_in_the_weights_file(tmp_path):
    weights = tmp_path / "weights.csv"
    weights.write_text("iCode,Weight\nNope,2\n", encoding="utf-8")
    _refused(invoke("--weights", str(weights)), "weights given for codes not in the hierarchy")


def test_missing_files(tmp_path):
    result = runner.invoke(app, ["composite", str(tmp_path / "none.csv"), "--meta", str(META)])
    _refused(result, "DATA file not found")


def test_codes_from_the_files_print_literally_never_as_markup(tmp_path):
    data = pd.read_csv(DATA, dtype=str).drop(columns="LPI")
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    meta = pd.read_csv(META, dtype=str)
    meta.loc[meta["iCode"] == "LPI", "iCode"] = "[red]LPI[/red]"
    meta_path = tmp_path / "meta.csv"
    meta.to_csv(meta_path, index=False)
    result = runner.invoke(app, ["composite", str(path), "--meta", str(meta_path)])
    _refused(result, "['[red]LPI[/red]']")
