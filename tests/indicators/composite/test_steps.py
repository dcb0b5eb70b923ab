"""Each step of the composite index on the ASEM data, against its definition and COINr.

Data: ``tests/data/asem`` (COINr's example: 51 countries,
49 indicators, 8 pillars, 2 sub-indices, 1 index). Every expected value says where it comes from:

* **published** — output printed in COINr's documentation (COINr 1.1.14 on CRAN);
* **COINr test** — a case from COINr's own ``tests/testthat`` files;
* **by hand** — arithmetic on values read from the CSV, written out in the comment;
* **independent** — recomputed in this file with plain pandas / numpy / scipy from the textual
  definition, not with the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from indicators.composite.aggregate import rank_descending
from indicators.composite.build import build_composite
from indicators.composite.data import read_coinr
from indicators.composite.hierarchy import CompositeError
from indicators.composite.preprocess import kurtosis, passes, skewness, treat_column
from indicators.composite.specification import (
    Aggregate,
    CompositeSpec,
    Denominate,
    DistanceToTarget,
    Goalposts,
    Impute,
    MinMax,
    PercentRank,
    Rank,
    Screen,
    Treat,
    ZScore,
)
from tests.reference_data import asem_files

DATA, META = asem_files()


@pytest.fixture(scope="module")
def asem():
    return read_coinr(DATA, META)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The CSV read with plain pandas, for independent expectations."""
    return pd.read_csv(DATA, dtype={"uCode": str}).set_index("uCode")


@pytest.fixture(scope="module")
def meta() -> pd.DataFrame:
    return pd.read_csv(META)


# --- reading COINr files --------------------------------------------------------------------

def test_asem_reads_as_51_units_49_indicators_8_pillars_2_sub_indices(asem):
    tree = asem.hierarchy
    assert len(asem.units) == 51 and len(tree.indicators) == 49
    levels = [tree.node(code).level for code in tree.aggregates]
    assert levels.count(2) == 8 and levels.count(3) == 2 and tree.root == "Index"
    assert tree.children("Conn") == ("Physical", "ConEcFin", "Political", "Instit", "P2P")
    assert tree.node("CO2").direction == -1 and tree.node("LPI").direction == 1
    assert list(asem.groups.columns) == ["GDP_group", "GDPpc_group", "Pop_group",
                                         "EurAsia_group"]
    assert list(asem.denominators.columns) == ["Area", "Energy", "GDP", "Population"]


# --- the whole chain against COINr's published results ---------------------------------------

# published: COINr vignette "Presenting Results" (COINr 1.1.14), output of
#   coin <- build_example_coin(quietly = TRUE)
#   get_results(coin, dset = "Aggregated", tab_type = "Aggs")   # first six rows, 2 decimals
# build_example_coin runs Denominate → Impute(i_mean_grp, EurAsia_group) → Screen(byNA, 0.9)
# → Treat (defaults) → Normalise(minmax 0–100) → Aggregate(a_amean). Screening comes after
# imputation there, so it removes nothing and is left out here.
PUBLISHED = {  # uCode: (Rank, Index, Conn, Sust, Physical, ConEcFin, Political, Instit, P2P,
    #                      Environ, Social, SusEcFin)
    "CHE": (1, 68.38, 62.79, 73.98, 63.41, 32.87, 74.78, 85.94, 56.93, 77.21, 87.85, 56.88),
    "NLD": (2, 64.82, 61.94, 67.70, 64.87, 46.62, 84.55, 71.74, 41.92, 58.73, 86.58, 57.78),
    "DNK": (3, 64.80, 57.10, 72.51, 50.52, 30.43, 78.13, 75.35, 51.04, 69.83, 86.40, 61.29),
    "NOR": (4, 64.47, 57.44, 71.50, 58.18, 25.70, 80.03, 89.46, 33.80, 70.90, 87.00, 56.59),
    "BEL": (5, 63.54, 63.99, 63.09, 71.97, 48.22, 80.84, 75.60, 43.32, 53.01, 86.17, None),
    "SWE": (6, 63.00, 53.87, 72.12, 51.51, 23.87, 80.98, 74.51, 38.50, 66.37, None, None),
}
COLUMNS = ("Rank", "Index", "Conn", "Sust", "Physical", "ConEcFin", "Political", "Instit",
           "P2P", "Environ", "Social", "SusEcFin")


def test_the_coinr_example_index_matches_its_published_results(asem):
    spec = CompositeSpec(denominate=Denominate(),
                         impute=Impute(method="group_mean", group="EurAsia_group"),
                         treat=Treat(), normalise=MinMax(), aggregate=Aggregate())
    frame = build_composite(asem, spec).to_frame().set_index("uCode")
    for unit, expected in PUBLISHED.items():
        for column, value in zip(COLUMNS, expected, strict=True):
            if value is not None:
                assert frame.loc[unit, column] == pytest.approx(value, abs=0.005), (unit, column)


# --- denomination ---------------------------------------------------------------------------

def test_denomination_divides_by_the_declared_denominator(asem):
    result = build_composite(asem, CompositeSpec(denominate=Denominate()))
    # by hand: AUT Flights 29.01725 (thousand seats) ÷ Population 8735.453 (thousands)
    assert result.values.loc["AUT", "Flights"] == pytest.approx(0.0033217796489775635)
    assert result.values.loc["AUT", "LPI"] == pytest.approx(4.097985)  # no denominator
    effect = next(e for e in result.log if e.step == "denominate").effect
    assert len(effect["denominated"]) == 17 and effect["denominated"]["Goods"] == "GDP"


def test_a_scale_factor_divides_the_denominator_first(asem):
    spec = Denominate(by={"Flights": "Population"}, scale={"Flights": 1000})
    result = build_composite(asem, CompositeSpec(denominate=spec))
    # by hand: 29.01725 ÷ (8735.453 ÷ 1000), as COINr's ScaleFactor
    assert result.values.loc["AUT", "Flights"] == pytest.approx(3.3217796489775635)


# --- screening ------------------------------------------------------------------------------

def test_screening_drops_units_below_the_availability_threshold(asem, raw, meta):
    result = build_composite(asem, CompositeSpec(screen=Screen(unit_min_availability=0.9)))
    indicators = list(meta.loc[meta["Type"] == "Indicator", "iCode"])
    # independent: share of the 49 indicators present per row, kept when ≥ 0.9 (COINr byNA)
    available = raw[indicators].notna().mean(axis=1)
    expected = sorted(available.index[available < 0.9])
    assert expected == ["BGD", "BRN", "KHM", "LAO", "MMR"]  # 6, 10, 6, 8, 8 values missing
    assert sorted(set(asem.units) - set(result.normalised.index)) == expected
    effect = next(e for e in result.log if e.step == "screen").effect
    assert sorted(effect["removed_units"]) == expected


def test_screening_drops_indicators_below_coverage_and_says_so(asem):
    # ConSpeed is missing for 8 of 51 units (coverage 84.3 %); at 0.85 only it goes
    result = build_composite(asem, CompositeSpec(screen=Screen(indicator_min_coverage=0.85)))
    assert "ConSpeed" not in result.normalised.columns
    assert "ConSpeed" not in result.hierarchy.indicators
    assert next(e for e in result.log if e.step == "screen").effect["removed_indicators"] == [
        "ConSpeed"]


# --- imputation -----------------------------------------------------------------------------

def test_group_mean_imputation_uses_the_units_group(asem, raw):
    spec = CompositeSpec(impute=Impute(method="group_mean", group="EurAsia_group"))
    result = build_composite(asem, spec)
    # independent: mean ConSpeed of the 13 Asian units with a value = 12.915384615…
    asia = raw.loc[raw["EurAsia_group"] == "Asia", "ConSpeed"].mean()
    assert asia == pytest.approx(12.915384615384616)
    for unit in ("BGD", "KHM", "PAK"):  # Asian, ConSpeed missing
        assert result.values.loc[unit, "ConSpeed"] == pytest.approx(asia)
        assert result.imputed.loc[unit, "ConSpeed"]
    assert not result.imputed.loc["AUT"].any()


@pytest.mark.parametrize("method", ["mean", "median"])
def test_mean_and_median_imputation_use_the_column(asem, raw, method):
    result = build_composite(asem, CompositeSpec(impute=Impute(method=method)))
    expected = getattr(raw["Pat"], method)()  # independent: pandas skips NaN
    missing = raw.index[raw["Pat"].isna()]
    assert len(missing) == 6
    assert np.allclose(result.values.loc[missing, "Pat"], expected)


def test_previous_year_imputation_fills_and_flags(asem):
    previous = pd.DataFrame(7.0, index=asem.units, columns=asem.hierarchy.indicators)
    data = type(asem)(hierarchy=asem.hierarchy, values=asem.values, previous=previous)
    result = build_composite(data, CompositeSpec(impute=Impute(method="previous_year")))
    assert (result.values.loc[result.imputed["Pat"], "Pat"] == 7.0).all()
    assert result.imputed["Pat"].sum() == 6
    cells = next(e for e in result.log if e.step == "impute").effect["imputed_cells"]
    assert {"unit": "BGD", "indicator": "ConSpeed"} in cells


def test_previous_year_imputation_without_previous_values_is_an_error(asem):
    with pytest.raises(CompositeError, match="no previous values"):
        build_composite(asem, CompositeSpec(impute=Impute(method="previous_year")))


# --- outlier treatment ----------------------------------------------------------------------

@pytest.mark.parametrize("code", ["Flights", "Goods", "Services", "LPI", "CO2", "TertGrad"])
def test_skewness_and_kurtosis_are_excel_skew_and_kurt(raw, code):
    x = raw[code].to_numpy(dtype=float)
    present = x[~np.isnan(x)]
    # independent: scipy's bias-corrected estimators equal Excel's SKEW and KURT
    assert skewness(x) == pytest.approx(stats.skew(present, bias=False))
    assert kurtosis(x) == pytest.approx(stats.kurtosis(present, fisher=True, bias=False))


def test_skew_kurtosis_by_hand_on_flights(raw):
    # independent (scipy, bias=False) on the 51 Flights values: skew 2.1033, kurt 4.5089,
    # so |skew| ≥ 2 and kurt ≥ 3.5: Flights fails the check
    x = raw["Flights"].to_numpy(dtype=float)
    assert skewness(x) == pytest.approx(2.103287194051549)
    assert kurtosis(x) == pytest.approx(4.508879369700655)
    assert not passes(x, Treat())


def test_one_outlier_is_winsorised_to_the_next_value():
    # COINr test (test-treat.R, "treat_num"): x = c(1:10, 100) fails; 100 becomes 10; passes
    x = np.r_[np.arange(1.0, 11.0), 100.0]
    assert not passes(x, Treat())
    treated, record = treat_column(x, Treat())
    assert treated[-1] == 10.0 and np.array_equal(treated[:10], x[:10])
    assert record.high == (10,) and not record.logged and passes(treated, Treat())


def test_when_winsorising_is_not_enough_the_original_values_are_logged():
    # COINr test: x = c(1:20, 100, 200) with winmax = 1 still fails after one point, so f2
    # applies to the ORIGINAL x; with COINr's default f2 (log_CT):
    # log(x − min + 0.01 (max − min)) = log(x − 1 + 1.99)
    x = np.r_[np.arange(1.0, 21.0), 100.0, 200.0]
    treated, record = treat_column(x, Treat(max_winsorised=1))
    assert record.logged and record.high == ()
    assert np.allclose(treated, np.log(x - 1 + 1.99))


def test_tied_extremes_are_winsorised_together():
    # by hand: the two 100s are tied maxima; one step moves both to 10 (2 points counted)
    x = np.r_[np.arange(1.0, 21.0), 100.0, 100.0]
    treated, record = treat_column(x, Treat())
    assert record.high == (20, 21) and treated[20] == treated[21] == 20.0


def test_negative_skew_winsorises_the_lowest_values():
    x = -np.r_[np.arange(1.0, 11.0), 100.0]
    treated, record = treat_column(x, Treat())
    assert record.low == (10,) and treated[-1] == -10.0


def _reference_treat(x: np.ndarray) -> tuple[tuple[int, ...], bool]:
    """The issue's words, literally: returns (winsorised positions, log-transformed)."""
    def fails(v):
        v = v[~np.isnan(v)]
        return abs(stats.skew(v, bias=False)) >= 2 and stats.kurtosis(v, bias=False) >= 3.5

    if not fails(x):
        return (), False
    y, points = x.copy(), set()
    while fails(y) and len(points) < 5:
        side = np.nanmax if stats.skew(y[~np.isnan(y)], bias=False) >= 0 else np.nanmin
        extreme = np.flatnonzero(y == side(y))
        y[extreme] = side(np.delete(y, extreme))
        points |= set(extreme.tolist())
    return (tuple(sorted(points)), False) if not fails(y) else ((), True)


def test_treatment_of_every_asem_indicator_matches_the_definition(asem, raw):
    result = build_composite(asem, CompositeSpec(treat=Treat()))
    treated = next(e for e in result.log if e.step == "treat").effect["treated"]
    units = list(raw.index)
    for code in asem.hierarchy.indicators:
        points, logged = _reference_treat(raw[code].to_numpy(dtype=float))
        if not points and not logged:
            assert code not in treated, code
            continue
        record = treated[code]
        assert record["log_transformed"] == logged, code
        got = sorted(units.index(u) for u in record["winsorised_high"] + record["winsorised_low"])
        assert tuple(got) == points, code
    # raw ASEM (no denomination): 18 indicators fail and winsorising fixes every one of them
    assert sorted(treated) == ["Bord", "CostImpEx", "CultGood", "CultServ", "Elec", "FDI",
                               "FemLab", "Flights", "Forest", "Gas", "Goods", "NGOs", "Pat",
                               "Poverty", "Research", "StMob", "Tariff", "Tourist"]
    assert not any(record["log_transformed"] for record in treated.values())


# --- normalisation --------------------------------------------------------------------------

def test_min_max_follows_direction_onto_the_range(asem, raw):
    result = build_composite(asem, CompositeSpec(normalise=MinMax(lower=1, upper=10)))
    lpi, co2 = raw["LPI"], raw["CO2"]
    # by hand: LPI ranges 2.067254 (LAO) – 4.225967 (DEU); direction +1
    assert np.allclose(result.normalised["LPI"],
                       (lpi - 2.067254) / (4.225967 - 2.067254) * 9 + 1)
    # CO2 direction −1: (max − x) / (max − min), so the lowest emitter scores 10
    assert np.allclose(result.normalised["CO2"],
                       (co2.max() - co2) / (co2.max() - co2.min()) * 9 + 1)
    assert result.normalised.min().min() == 1 and result.normalised.max().max() == 10


def test_z_scores_use_the_sample_standard_deviation(asem, raw):
    result = build_composite(asem, CompositeSpec(normalise=ZScore(mean=5, sd=2)))
    for code in ("LPI", "Pat"):  # Pat has 6 missing values: moments over the units present
        z = result.normalised[code]
        assert z.mean() == pytest.approx(5) and z.std(ddof=1) == pytest.approx(2)
    assert np.allclose(result.normalised["CO2"],
                       -(raw["CO2"] - raw["CO2"].mean()) / raw["CO2"].std(ddof=1) * 2 + 5)


def test_ranks_and_percentile_ranks_are_coinr_n_rank_and_n_prank(asem, raw):
    ranks = build_composite(asem, CompositeSpec(normalise=Rank())).normalised
    pranks = build_composite(asem, CompositeSpec(normalise=PercentRank())).normalised
    # independent: pandas rank "min" (R's ties.method = "min"), NaN kept
    expected = raw["TIRcon"].rank(method="min")
    assert np.allclose(ranks["TIRcon"], expected)
    assert ranks["CO2"].loc[raw["CO2"].idxmin()] == 51  # lowest emissions: best, rank 51
    assert np.allclose(pranks["Pat"].dropna(), (raw["Pat"].rank(method="min").dropna() - 1) / 44)
    assert pranks["Pat"].isna().sum() == 6


def test_distance_to_target_is_coinr_n_dist2targ(asem, raw, meta):
    result = build_composite(asem, CompositeSpec(normalise=DistanceToTarget(lower=0, upper=1)))
    target = meta.set_index("iCode")["Target"]
    # COINr test (test-normalise.R, "dist2targ_coin"), on the raw data:
    #   LPI (direction 1):  (x − min) / (targ − min);  CO2 (−1): (max − x) / (max − targ)
    lpi, co2 = raw["LPI"], raw["CO2"]
    assert np.allclose(result.normalised["LPI"], (lpi - lpi.min()) / (target["LPI"] - lpi.min()))
    assert np.allclose(result.normalised["CO2"], (co2.max() - co2) / (co2.max() - target["CO2"]))


def test_distance_to_target_examples_and_cap():
    from indicators.composite.normalise import normalise_array

    # COINr test "dist2targ": x = c(0, 5, 11), targ 10 → 0, 0.5, 1.1 (capped: 1)
    x = np.array([[0.0], [5.0], [11.0]])
    spec = DistanceToTarget(targets={"x": 10}, lower=0, upper=1)
    assert np.allclose(normalise_array(x, np.array([1.0]), spec, ["x"]).ravel(), [0, 0.5, 1.1])
    capped = spec.model_copy(update={"cap": True})
    assert np.allclose(normalise_array(x, np.array([1.0]), capped, ["x"]).ravel(), [0, 0.5, 1])
    # reversed: x = c(-1, 1, 10), targ 0, direction -1 → 1.1, 0.9, 0
    x = np.array([[-1.0], [1.0], [10.0]])
    spec = DistanceToTarget(targets={"x": 0}, lower=0, upper=1)
    assert np.allclose(normalise_array(x, np.array([-1.0]), spec, ["x"]).ravel(), [1.1, 0.9, 0])


def test_goalposts_match_coinr_examples():
    from indicators.composite.normalise import normalise_array

    # COINr test "n_funcs": n_goalposts(1, c(0, 10, 1)) = 0.1; 11 → 1; -1 → 0;
    # direction −1: 1 → 0.9, −1 → 1, 11 → 0
    x = np.array([[1.0], [11.0], [-1.0]])
    spec = Goalposts(posts={"x": (0.0, 10.0)}, lower=0, upper=1)
    assert np.allclose(normalise_array(x, np.array([1.0]), spec, ["x"]).ravel(), [0.1, 1, 0])
    assert np.allclose(normalise_array(x, np.array([-1.0]), spec, ["x"]).ravel(), [0.9, 0, 1])


def test_a_flat_indicator_cannot_be_min_maxed(asem):
    values = asem.values.copy()
    values["LPI"] = 3.0
    data = type(asem)(hierarchy=asem.hierarchy, values=values)
    with pytest.raises(CompositeError, match=r"undefined for \['LPI'\]"):
        build_composite(data)


def test_distance_to_target_needs_every_target(asem):
    spec = CompositeSpec(normalise=DistanceToTarget(targets={"LPI": 4.0}))
    with pytest.raises(CompositeError, match="needs a target for every indicator"):
        build_composite(asem, spec)


# --- aggregation ----------------------------------------------------------------------------

def test_a_missing_indicator_weight_goes_to_its_siblings_only(asem):
    result = build_composite(asem)
    n = result.normalised
    physical = [c for c in asem.hierarchy.children("Physical")]
    # by hand: BGD lacks ConSpeed, so Physical is the mean of the 7 other indicators
    assert np.isnan(n.loc["BGD", "ConSpeed"])
    assert result.aggregates.loc["BGD", "Physical"] == pytest.approx(
        n.loc["BGD", physical].drop("ConSpeed").mean())
    # and the sub-index keeps equal weights for its 5 pillars
    conn = asem.hierarchy.children("Conn")
    assert result.aggregates.loc["BGD", "Conn"] == pytest.approx(
        result.aggregates.loc["BGD", list(conn)].mean())


def test_weights_are_relative_within_their_parent(asem):
    result = build_composite(asem, CompositeSpec(weights={"Conn": 3.0, "Sust": 1.0}))
    a = result.aggregates
    assert np.allclose(a["Index"], 0.75 * a["Conn"] + 0.25 * a["Sust"])
    log_weights = next(e for e in result.log if e.step == "weights").choice
    assert log_weights["Conn"] == 3.0 and log_weights["LPI"] == 1.0


def test_geometric_and_harmonic_means_by_hand(asem):
    spec = CompositeSpec(normalise=MinMax(lower=1, upper=100))
    n = build_composite(asem, spec).normalised
    children = list(asem.hierarchy.children("Political"))  # Embs, IGOs, UNVote: all present
    g = build_composite(asem, spec.model_copy(update={"aggregate": Aggregate(method="gmean")}))
    h = build_composite(asem, spec.model_copy(update={"aggregate": Aggregate(method="hmean")}))
    values = n.loc["FRA", children].to_numpy()
    assert g.aggregates.loc["FRA", "Political"] == pytest.approx(stats.gmean(values))
    assert h.aggregates.loc["FRA", "Political"] == pytest.approx(stats.hmean(values))


def test_the_geometric_mean_refuses_zero_rather_than_patching_it(asem):
    with pytest.raises(CompositeError, match="geometric mean needs values above 0"):
        build_composite(asem, CompositeSpec(aggregate=Aggregate(method="gmean")))


def test_a_minimum_share_of_children_makes_thin_aggregates_missing(asem):
    # BRN lacks 10 indicators; in Social it has 5 of 9 (share 0.556)
    result = build_composite(asem, CompositeSpec(aggregate=Aggregate(min_share=0.6)))
    social = list(asem.hierarchy.children("Social"))
    share = asem.values.loc["BRN", social].notna().mean()
    assert share < 0.6 and np.isnan(result.aggregates.loc["BRN", "Social"])
    full = build_composite(asem)
    complete = asem.values[social].notna().all(axis=1)
    assert np.allclose(result.aggregates.loc[complete, "Social"],
                       full.aggregates.loc[complete, "Social"])


# --- ranks and the log ----------------------------------------------------------------------

def test_ties_share_the_best_rank_and_missing_stays_missing():
    ranks = rank_descending(np.array([50.0, 70.0, 70.0, np.nan, 10.0]))
    assert ranks[:3].tolist() == [3.0, 1.0, 1.0] and np.isnan(ranks[3]) and ranks[4] == 4.0


def test_the_log_replays_to_the_same_result(asem):
    from indicators.composite.build import log_from_json, replay

    spec = CompositeSpec(denominate=Denominate(), screen=Screen(unit_min_availability=0.9),
                         impute=Impute(method="median"), treat=Treat(),
                         normalise=DistanceToTarget(cap=True), weights={"Sust": 2.0})
    first = build_composite(asem, spec)
    stored = [(e.step, e.choice_json(), e.effect_json()) for e in first.log]
    again = replay(asem, log_from_json(stored))
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame())
    assert [e.step for e in first.log] == ["weights", "hierarchy", "denominate", "screen",
                                           "impute", "treat", "normalise", "aggregate", "rank"]
