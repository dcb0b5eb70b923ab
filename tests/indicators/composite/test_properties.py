"""Properties that hold for any data, checked on generated cases (hypothesis), plus the
Monte Carlo analysis: reproducible, sensitivity estimators right on a known function, and rank
intervals that contain the published rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.composite.aggregate import aggregate_array, compile_plan
from indicators.composite.build import build_composite
from indicators.composite.data import CompositeData, SamplingError
from indicators.composite.hierarchy import CompositeError, Hierarchy, Node
from indicators.composite.normalise import normalise_array
from indicators.composite.specification import (
    Aggregate,
    CompositeSpec,
    MinMax,
    Rank,
    Uncertainty,
    ZScore,
)
from indicators.composite.uncertainty import _indices, analyse_uncertainty

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def matrices(draw, min_units=3, max_units=12, max_columns=6, missing=True):
    n = draw(st.integers(min_units, max_units))
    m = draw(st.integers(1, max_columns))
    cells = st.one_of(finite, st.just(np.nan)) if missing else finite
    x = np.array(draw(st.lists(st.lists(cells, min_size=m, max_size=m), min_size=n,
                               max_size=n)), dtype=float)
    for j in range(m):  # each column: at least two distinct values, as min-max requires
        x[0, j], x[1, j] = -1e6 - j, 1e6 + j
    return x


@st.composite
def trees(draw):
    """Two-level trees (indicators → parents → index) with random weights and missing cells."""
    parents = draw(st.integers(1, 4))
    nodes, codes = [], []
    for p in range(parents):
        for c in range(draw(st.integers(1, 4))):
            code = f"I{p}{c}"
            nodes.append(Node(code, 1, f"P{p}", draw(st.floats(0.1, 10)), 1))
            codes.append(code)
        nodes.append(Node(f"P{p}", 2, "INDEX", draw(st.floats(0.1, 10))))
    nodes.append(Node("INDEX", 3, None))
    return Hierarchy(tuple(nodes)), codes


@FAST
@given(matrices(), st.floats(-100, 100), st.floats(0.5, 200), st.lists(
    st.sampled_from([1.0, -1.0]), min_size=6, max_size=6))
def test_min_max_output_stays_within_its_range(x, lower, width, directions):
    spec = MinMax(lower=lower, upper=lower + width)
    d = np.array(directions[:x.shape[1]])
    y = normalise_array(x, d, spec, [f"c{j}" for j in range(x.shape[1])])
    present = y[~np.isnan(y)]
    assert (present >= lower - 1e-9).all() and (present <= lower + width + 1e-9).all()
    assert np.array_equal(np.isnan(y), np.isnan(x))  # missing stays missing, nothing else


@FAST
@given(trees(), st.data())
def test_an_arithmetic_aggregate_lies_between_its_childrens_min_and_max(tree, data):
    hierarchy, codes = tree
    n = data.draw(st.integers(1, 8))
    cells = st.one_of(st.floats(0, 100), st.just(np.nan))
    x = np.array(data.draw(st.lists(st.lists(cells, min_size=len(codes), max_size=len(codes)),
                                    min_size=n, max_size=n)), dtype=float)
    plan = compile_plan(hierarchy)
    scores = aggregate_array(x, plan, plan.weights(hierarchy.weights()), Aggregate())
    column = {code: k for k, code in enumerate(plan.codes)}
    for parent in hierarchy.aggregates:
        children = scores[:, [column[c] for c in hierarchy.children(parent)]]
        value = scores[:, column[parent]]
        some = ~np.isnan(children).all(axis=1)
        assert np.array_equal(np.isnan(value), ~some)  # missing only when every child is
        assert (value[some] >= np.nanmin(children[some], axis=1) - 1e-9).all()
        assert (value[some] <= np.nanmax(children[some], axis=1) + 1e-9).all()


@st.composite
def small_data(draw):
    units = draw(st.integers(4, 9))
    codes = ["A1", "A2", "B1", "B2", "B3"]
    nodes = (Node("A1", 1, "A"), Node("A2", 1, "A", direction=-1), Node("B1", 1, "B"),
             Node("B2", 1, "B"), Node("B3", 1, "B"), Node("A", 2, "I"), Node("B", 2, "I"),
             Node("I", 3, None))
    values = np.array(draw(st.lists(st.lists(st.floats(1, 99), min_size=5, max_size=5),
                                    min_size=units, max_size=units)))
    values[0], values[1] = 0.5, 99.5  # every indicator has two distinct values
    frame = pd.DataFrame(values, index=[f"u{i}" for i in range(units)], columns=codes)
    return CompositeData(hierarchy=Hierarchy(nodes), values=frame)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_data(), st.integers(0, 10_000))
def test_rank_intervals_contain_the_published_rank(data, seed):
    """With discrete alternatives that include the nominal choices, the nominal combination is
    drawn in about 1/4 of the runs, so its rank lies between the 5th and 95th percentiles."""
    uncertainty = Uncertainty(normalise=(MinMax(lower=1, upper=100), Rank()),
                              aggregate=(Aggregate(), Aggregate(method="gmean")),
                              draws=100, seed=seed)
    result = analyse_uncertainty(data, CompositeSpec(normalise=MinMax(lower=1, upper=100)),
                                 uncertainty)
    r = result.ranks
    assert (r["rank_p05"] <= r["rank"]).all() and (r["rank"] <= r["rank_p95"]).all()
    assert (r["rank_p05"] <= r["median_rank"]).all()
    assert (r["median_rank"] <= r["rank_p95"]).all()


# --- Monte Carlo specifics ------------------------------------------------------------------

def test_sensitivity_estimators_on_a_known_linear_function():
    """COINr's SA_estimate example: y = x1 + 2 x2 + 3 x3 with uniform inputs. Analytically
    Sᵢ = aᵢ² / Σ a² = 1/14, 4/14, 9/14 and, with no interaction, STᵢ = Sᵢ."""
    rng = np.random.default_rng(7)
    n, a = 20_000, np.array([1.0, 2.0, 3.0])
    xa, xb = rng.random((n, 3)), rng.random((n, 3))
    y = [xa @ a, xb @ a]
    for i in range(3):
        mixed = xa.copy()
        mixed[:, i] = xb[:, i]
        y.append(mixed @ a)
    table = _indices(np.concatenate(y), n, ["x1", "x2", "x3"])
    assert np.allclose(table["first_order_index"], a**2 / 14, atol=0.03)
    assert np.allclose(table["total_order_index"], a**2 / 14, atol=0.03)


def _survey_data() -> CompositeData:
    rng = np.random.default_rng(3)
    units = [f"c{i:02d}" for i in range(12)]
    nodes = (Node("S1", 1, "D1"), Node("S2", 1, "D1", direction=-1), Node("A1", 1, "D2"),
             Node("A2", 1, "D2"), Node("D1", 2, "X"), Node("D2", 2, "X"), Node("X", 3, None))
    values = pd.DataFrame({"S1": rng.uniform(20, 80, 12), "S2": rng.uniform(5, 30, 12),
                           "A1": rng.uniform(0, 10, 12), "A2": rng.uniform(100, 900, 12)},
                          index=units)
    values.iloc[3, 0] = np.nan
    se = pd.DataFrame({"S1": 4.0, "S2": 2.0, "A1": np.nan, "A2": np.nan}, index=units)
    return CompositeData(hierarchy=Hierarchy(nodes), values=values,
                         sampling=SamplingError(se=se, logit=frozenset({"S1", "S2"})))


def test_monte_carlo_is_reproducible_and_seed_dependent():
    data = _survey_data()
    u = Uncertainty(normalise=(MinMax(), ZScore()), weight_noise=0.2, sampling=True, draws=50,
                    seed=11)
    first = analyse_uncertainty(data, None, u)
    second = analyse_uncertainty(data, None, u)
    pd.testing.assert_frame_equal(first.ranks, second.ranks)
    pd.testing.assert_frame_equal(first.sensitivity, second.sensitivity)
    other = analyse_uncertainty(data, None, u.model_copy(update={"seed": 12}))
    assert not first.sensitivity.equals(other.sensitivity)
    assert first.runs == 50 * (3 + 2)
    assert list(first.sensitivity["choice"]) == ["normalise", "weights", "sampling"]
    assert first.log.effect == {"runs": 250, "factors": ["normalise", "weights", "sampling"]}


def test_sampling_draws_keep_percentages_within_0_and_100():
    data = _survey_data()
    u = Uncertainty(sampling=True, draws=200, seed=1, sensitivity=False)
    result = analyse_uncertainty(data, None, u)
    assert result.runs == 200
    assert (result.ranks["rank_p05"] <= result.ranks["rank_p95"]).all()
    from indicators.composite.uncertainty import _factors, _Model

    model = _Model(data, result.nominal)
    (factor,) = _factors(model, u)
    run: dict = {}
    factor.apply(run, np.full(factor.draw(np.random.default_rng(0), 1).shape[1], 40.0))
    drawn = run["values"]
    assert np.nanmax(drawn[:, :2]) < 100 and np.nanmin(drawn[:, :2]) > 0  # z = 40: far tails
    assert np.array_equal(drawn[:, 2:], model.base[:, 2:])  # administrative values untouched
    assert np.isnan(drawn[3, 0])  # a missing value stays missing


def test_sampling_uncertainty_without_standard_errors_is_an_error():
    data = _survey_data()
    bare = CompositeData(hierarchy=data.hierarchy, values=data.values)
    with pytest.raises(CompositeError, match="no standard errors"):
        analyse_uncertainty(bare, None, Uncertainty(sampling=True, weight_noise=0.1))


def test_one_alternative_is_not_an_uncertainty():
    with pytest.raises(ValueError, match="at least two alternatives"):
        Uncertainty(normalise=(MinMax(),))


def test_sensitivity_needs_two_uncertain_choices():
    with pytest.raises(CompositeError, match="at least two uncertain choices"):
        analyse_uncertainty(_survey_data(), None, Uncertainty(weight_noise=0.2))


@pytest.mark.parametrize("problem, nodes", [
    ("does not exist", (Node("a", 1, "ghost"), Node("r", 2, None), Node("b", 1, "r"))),
    ("cycle in the hierarchy", (Node("a", 1, "p"), Node("p", 2, "q"), Node("q", 3, "p"),
                                Node("r", 2, None))),
    ("exactly one index", (Node("a", 1, "p"), Node("p", 2, None), Node("b", 1, "q"),
                           Node("q", 2, None))),
    ("exactly one level above", (Node("a", 1, "r"), Node("b", 1, "p"), Node("p", 2, "r"),
                                 Node("r", 4, None))),
    ("appears twice", (Node("a", 1, "r"), Node("a", 1, "r"), Node("r", 2, None))),
    ("direction", (Node("a", 1, "r", direction=0), Node("r", 2, None))),
])
def test_bad_hierarchies_are_refused_with_the_reason(problem, nodes):
    with pytest.raises(CompositeError, match=problem):
        Hierarchy(nodes)


def test_nominal_results_do_not_depend_on_the_analysis():
    data = _survey_data()
    nominal = build_composite(data)
    analysed = analyse_uncertainty(data, None, Uncertainty(weight_noise=0.3, sampling=True,
                                                           draws=20))
    pd.testing.assert_frame_equal(nominal.to_frame(), analysed.nominal.to_frame())
    assert np.array_equal(analysed.ranks["rank"], nominal.ranks)


def test_monte_carlo_in_batches_gives_the_numbers_of_one_whole_draw(monkeypatch):
    """Memory stays bounded at national scale: draws are made batch by batch from the
    generator's saved state, and the results are those of drawing everything at once."""
    import indicators.composite.uncertainty as module

    data = _survey_data()
    u = Uncertainty(normalise=(MinMax(), ZScore()), weight_noise=0.2, sampling=True, draws=60,
                    seed=5)
    whole = analyse_uncertainty(data, None, u)
    monkeypatch.setattr(module, "_BATCH_NUMBERS", 25)  # a few runs per batch
    monkeypatch.setattr(module, "_QUANTILE_UNITS", 5)
    batched = analyse_uncertainty(data, None, u)
    pd.testing.assert_frame_equal(whole.ranks, batched.ranks, check_exact=True)
    pd.testing.assert_frame_equal(whole.sensitivity, batched.sensitivity, check_exact=True)
    assert batched.runs == whole.runs == 60 * 5
