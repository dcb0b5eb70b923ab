"""Properties every design-based estimator must have, on generated stratified samples.

Scale-free weights, additive domain totals, proportions and their intervals inside [0, 1],
and results that do not depend on the order of the rows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.survey.estimators import (
    Estimate,
    SurveyDesign,
    SurveyDesignError,
    compare_domains,
    survey_mean,
    survey_proportion,
    survey_total,
)

SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_names = itertools.count()


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@st.composite
def samples(draw) -> tuple[pd.DataFrame, bool]:
    """A stratified sample, clustered or not: 1-3 strata of 2-4 PSUs of 1-4 rows."""
    rows = []
    for h in range(draw(st.integers(1, 3))):
        for p in range(draw(st.integers(2, 4))):
            for _ in range(draw(st.integers(1, 4))):
                rows.append(
                    {
                        "stratum": f"s{h}",
                        "psu": f"{h}.{p}",
                        "w": draw(st.floats(0.5, 50, allow_nan=False)),
                        "y": draw(st.floats(-100, 100, allow_nan=False, allow_subnormal=False)),
                        "dom": draw(st.sampled_from(["a", "b", "c"])),
                        "flag": draw(st.booleans()),
                    }
                )
    return pd.DataFrame(rows), draw(st.booleans())


def load(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> str:
    name = f"sample_{next(_names)}"
    con.register("_frame", frame)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM _frame")
    con.unregister("_frame")
    return name


def design(table: str, clustered: bool, weights: str = "w") -> SurveyDesign:
    psu = ("psu",) if clustered else ()
    return SurveyDesign(table, weights=weights, strata="stratum", psu=psu, lonely_psu="adjust")


def close(a: float, b: float, scale: float = 1.0) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


def same(first: list[Estimate], second: list[Estimate], scale: float = 1.0) -> None:
    assert [e.by for e in first] == [e.by for e in second]
    for a, b in zip(first, second, strict=True):
        assert close(a.estimate, b.estimate, scale), (a, b)
        assert close(a.se, b.se, scale), (a, b)
        assert close(a.ci_low, b.ci_low, scale) and close(a.ci_high, b.ci_high, scale), (a, b)


@SETTINGS
@given(sample=samples(), factor=st.floats(0.01, 1000))
def test_scaling_weights_leaves_means_and_proportions(con, sample, factor) -> None:
    frame, clustered = sample
    frame = frame.assign(w2=frame["w"] * factor)
    table = load(con, frame)
    by = ("dom",)
    same(
        survey_mean(con, design(table, clustered), "y", by=by),
        survey_mean(con, design(table, clustered, "w2"), "y", by=by),
        scale=100,
    )
    same(
        survey_proportion(con, design(table, clustered), "flag", by=by, ci="beta"),
        survey_proportion(con, design(table, clustered, "w2"), "flag", by=by, ci="beta"),
    )


@SETTINGS
@given(sample=samples())
def test_domain_totals_add_up(con, sample) -> None:
    frame, clustered = sample
    table = load(con, frame)
    d = design(table, clustered)
    (overall,) = survey_total(con, d, "y")
    parts = survey_total(con, d, "y", by=("dom",))
    scale = float((frame["w"] * frame["y"].abs()).sum()) + 1
    assert math.isclose(sum(e.estimate for e in parts), overall.estimate, abs_tol=1e-9 * scale)
    assert sum(e.n for e in parts) == overall.n == len(frame)
    # A domain is the same estimate as the subpopulation of its rows.
    for e in parts:
        (sub,) = survey_total(con, d, "y", where=f"dom = '{e.by['dom']}'")
        assert close(sub.estimate, e.estimate, scale) and close(sub.se, e.se, scale)


@SETTINGS
@given(sample=samples(), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportions_and_intervals_inside_unit_interval(con, sample, level) -> None:
    frame, clustered = sample
    table = load(con, frame)
    d = design(table, clustered)
    for ci in ("logit", "beta", "asin"):
        for e in survey_proportion(con, d, "flag", by=("dom",), ci=ci, level=level):
            assert 0 <= e.estimate <= 1
            if ci in ("logit", "beta"):
                bounds_defined = e.df > 0 and not math.isnan(e.se)
                if bounds_defined:
                    assert 0 <= e.ci_low <= e.estimate + 1e-12, e
                    assert e.estimate - 1e-12 <= e.ci_high <= 1, e


@SETTINGS
@given(sample=samples(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(con, sample, seed) -> None:
    frame, clustered = sample
    table = load(con, frame)
    shuffled = load(con, frame.sample(frac=1, random_state=seed).reset_index(drop=True))
    same(
        survey_mean(con, design(table, clustered), "y", by=("dom", "flag")),
        survey_mean(con, design(shuffled, clustered), "y", by=("dom", "flag")),
        scale=100,
    )
    same(
        survey_total(con, design(table, clustered), "y", by=("dom",)),
        survey_total(con, design(shuffled, clustered), "y", by=("dom",)),
        scale=float((frame["w"] * frame["y"].abs()).sum()) + 1,
    )
    doms = sorted(frame["dom"].unique())
    if len(doms) >= 2:
        first, second = {"dom": doms[0]}, {"dom": doms[1]}
        a = compare_domains(
            con, design(table, clustered), "mean", "y", by=("dom",), first=first, second=second
        )
        b = compare_domains(
            con, design(shuffled, clustered), "mean", "y", by=("dom",), first=first, second=second
        )
        assert close(a.difference, b.difference, 100) and close(a.se, b.se, 100)


@SETTINGS
@given(sample=samples(), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=5))
def test_zero_weight_rows_change_no_estimate(con, sample, picks) -> None:
    """Copies of rows with weight 0, in PSUs they already belong to, change only counts.

    Estimates, standard errors, intervals, degrees of freedom and design effects stay;
    the rows count in ``n`` (as in R, where they stay in the design).
    """
    frame, _ = sample
    extra = frame.iloc[[p % len(frame) for p in picks]].assign(w=0.0)
    table = load(con, frame)
    padded = load(con, pd.concat([frame, extra], ignore_index=True))
    scale = float((frame["w"] * frame["y"].abs()).sum()) + 1
    for fn, variable in ((survey_mean, "y"), (survey_total, "y"), (survey_proportion, "flag")):
        before = fn(con, design(table, True), variable, by=("dom",))
        after = fn(con, design(padded, True), variable, by=("dom",))
        same(before, after, scale)
        for a, b in zip(before, after, strict=True):
            assert a.df == b.df
            assert (a.deff is None) == (b.deff is None)
            assert a.deff is None or close(a.deff, b.deff, 100), (a, b)
        added = extra["dom"].value_counts()
        assert [b.n - a.n for a, b in zip(before, after, strict=True)] == [
            int(added.get(e.by["dom"], 0)) for e in before
        ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({1: "NULL", 4: "NULL", 7: "-2.0"}, "has 2 NULL values"),
        ({2: "-1.0", 9: "'-inf'"}, "has 2 negative values"),
        ({3: "'inf'", 5: "'nan'"}, "has 2 non-finite values"),
    ],
)
def test_invalid_weights_are_counted_even_outside_the_estimate(con, bad, message) -> None:
    """Every row of the design is checked, also those outside ``where`` and the domains."""
    name = f"weights_{next(_names)}"
    con.execute(
        f"CREATE TABLE {name} AS SELECT i, 's' || (i % 2) AS stratum, 'p' || (i % 6) AS psu, "
        "CAST(1 + i AS DOUBLE) AS w, i * 1.5 AS y, CASE WHEN i < 20 THEN 'a' END AS dom "
        "FROM range(24) t(i)"
    )
    for i, value in bad.items():
        con.execute(f"UPDATE {name} SET w = CAST({value} AS DOUBLE) WHERE i = {i}")
    outside = f"i NOT IN ({', '.join(map(str, bad))})"
    for clustered in (False, True):
        with pytest.raises(SurveyDesignError, match=f"weights column 'w' {message}"):
            survey_mean(con, design(name, clustered), "y", by=("dom",), where=outside)


def test_domain_keys_keep_the_types_duckdb_gives(con) -> None:
    """Domain values come back as the Python objects DuckDB's fetchall() gives for them."""
    name = f"keys_{next(_names)}"
    con.execute(
        f"CREATE TABLE {name} AS SELECT i, CAST(1 + i AS DOUBLE) AS w, i * 1.5 AS y, "
        "CAST(i % 2 AS INTEGER) AS k_int, DATE '2024-01-01' + CAST(i % 2 AS INTEGER) AS k_date, "
        "i % 2 = 0 AS k_bool, CAST(i % 2 AS DECIMAL(4, 1)) AS k_dec, "
        "CAST(i % 2 AS HUGEINT) AS k_huge, "
        "CAST('5e3b9d0e-6d5f-4b8e-9c0f-6f0b2b9a0a1' || (i % 2) AS UUID) AS k_uuid, "
        "INTERVAL 1 MONTH * (i % 2) AS k_interval FROM range(12) t(i)"
    )
    keys = ("k_int", "k_date", "k_bool", "k_dec", "k_huge", "k_uuid", "k_interval")
    expected = con.execute(f"SELECT DISTINCT {', '.join(keys)} FROM {name} ORDER BY ALL").fetchall()
    got = survey_mean(con, SurveyDesign(name, weights="w"), "y", by=keys)
    assert [tuple(e.by[k] for k in keys) for e in got] == expected
    for e, row in zip(got, expected, strict=True):
        assert [type(e.by[k]) for k in keys] == [type(v) for v in row]
