"""Calibrated weights, and estimates on them, agree with R's survey::calibrate.

Reference numbers from tests/r/make_calibration_golden.R (see tests/calibration_golden.py for
the exact R calls): calibrated weights, estimates and standard errors to a relative 1e-9,
interval bounds to 1e-7. Margins that cannot calibrate the design are refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from indicators.survey import SurveyDesign, survey_mean, survey_query
from indicators.survey.calibration import CalibrationError, Margin, calibrate
from tests.calibration_golden import CALIBRATIONS, CASES, NOT_CONVERGING, POPULATIONS
from tests.indicators.survey.test_against_r import load_api, run_call

EST_TOL = 1e-9
CI_TOL = 1e-7
CLUS1 = SurveyDesign(source="apiclus1", weights="pw", psu=("dnum",), fpc=("fpc",))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    load_api(connection)
    for name, pop in POPULATIONS.items():
        columns = list(zip(*pop["rows"], strict=True))
        connection.register(f"{name}_rows", pa.table(dict(zip(pop["columns"], columns,
                                                              strict=True))))
        connection.execute(f'CREATE TABLE {name} AS SELECT * FROM "{name}_rows"').fetchall()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def calibrated(con: duckdb.DuckDBPyConnection) -> dict[str, SurveyDesign]:
    return {name: calibrated_design(con, spec) for name, spec in CALIBRATIONS.items()}


def calibrated_design(con: duckdb.DuckDBPyConnection, spec: dict,
                      **changes: object) -> SurveyDesign:
    design = dict(spec["design"])
    for key in ("psu", "fpc"):
        design[key] = tuple(design.get(key, ()))
    margins = [Margin(tuple(m["variables"]), m["population"]) for m in spec["margins"]]
    options = {"by": tuple(spec["by"]), "calfun": spec["calfun"],
               "bounds": tuple(spec["bounds"]) if spec["bounds"] else None} | changes
    return calibrate(con, SurveyDesign(**design), margins, **options)


def close(actual: float, expected: float, tol: float) -> bool:
    return math.isclose(actual, expected, rel_tol=tol, abs_tol=tol * 1e-6)


@pytest.mark.parametrize("name", CALIBRATIONS)
def test_calibrated_weights_match_r(con: duckdb.DuckDBPyConnection,
                                    calibrated: dict[str, SurveyDesign], name: str) -> None:
    design = calibrated[name]
    rows = con.sql(f'SELECT "{CALIBRATIONS[name]["id"]}", _cal_weight FROM ({design.source}) '
                   f"ORDER BY 1").fetchall()
    expected = CALIBRATIONS[name]["weights"]
    assert len(rows) == len(expected)
    bad = [(i, w, r) for (i, w), (j, r) in zip(rows, expected, strict=True)
           if i != j or not close(w, r, EST_TOL)]
    assert not bad, f"{name}: {len(bad)} weights differ from R's, first {bad[0]}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_estimates_match_r(con: duckdb.DuckDBPyConnection, calibrated: dict[str, SurveyDesign],
                           case: dict) -> None:
    got = run_call(con, calibrated[case["calibration"]], case["call"])
    assert [e.by for e in got] == [r["by"] for r in case["expected"]]
    for estimate, want in zip(got, case["expected"], strict=True):
        for field, tol in (("estimate", EST_TOL), ("se", EST_TOL), ("ci_low", CI_TOL),
                           ("ci_high", CI_TOL)):
            assert close(getattr(estimate, field), want[field], tol), (
                f"{case['r']} {want['by']}: {field} {getattr(estimate, field)!r}, "
                f"R {want[field]!r}")
        if want.get("deff") is not None:
            assert close(estimate.deff, want["deff"], EST_TOL), (case["r"], want["by"])


def test_calibrated_totals_equal_the_margins(con: duckdb.DuckDBPyConnection,
                                             calibrated: dict[str, SurveyDesign]) -> None:
    source = calibrated["clus1_raking"].source
    got = dict(con.sql(f'SELECT "sch.wide", sum(_cal_weight) FROM ({source}) GROUP BY 1'
                       ).fetchall())
    want = {row[0]: row[1] for row in POPULATIONS["pop_sch_wide"]["rows"]}
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-7 * (1 + want[k]) for k in want)


def test_bounds_hold_the_calibration_factors(con: duckdb.DuckDBPyConnection,
                                             calibrated: dict[str, SurveyDesign]) -> None:
    for name in ("clus1_bounded", "clus1_raking_bounded"):
        low, high = CALIBRATIONS[name]["bounds"]
        lo, hi = con.sql(f"SELECT min(_cal_weight / pw), max(_cal_weight / pw) "
                         f"FROM ({calibrated[name].source})").fetchall()[0]
        assert low - 1e-12 <= lo and hi <= high + 1e-12, name
        assert math.isclose(hi, high), f"{name}: the upper bound should bind, max g {hi}"


def test_not_converging_names_the_margin(con: duckdb.DuckDBPyConnection) -> None:
    # R: NOT_CONVERGING["r"] warns "Failed to converge" and stops with "Calibration failed".
    with pytest.raises(CalibrationError, match=r"did not converge in 50 iterations: margin "
                                               r"'(stype|sch\.wide)', category"):
        calibrated_design(con, CALIBRATIONS["clus1_bounded"], bounds=(0.9, 1.1))
    assert "Failed to converge" in NOT_CONVERGING["r_warning"]


def test_a_category_without_respondents_is_named(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE pop_extra AS SELECT * FROM pop_stype "
                "UNION ALL SELECT 'K', 100.0").fetchall()
    with pytest.raises(CalibrationError, match="no respondent is in stype='K' in the design, "
                                               "whose population is 100"):
        calibrate(con, CLUS1, [Margin(("stype",), "pop_extra")])


def test_a_category_the_population_lacks_is_named(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE pop_no_m AS SELECT * FROM pop_stype WHERE stype <> 'M'"
                ).fetchall()
    with pytest.raises(CalibrationError, match="respondents are in stype='M' in the design, a "
                                               "category the population of margin 'stype'"):
        calibrate(con, CLUS1, [Margin(("stype",), "pop_no_m")])


def test_margins_that_disagree_are_refused(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE pop_sw_more AS SELECT \"sch.wide\", total + 10 AS total "
                "FROM pop_sch_wide").fetchall()
    with pytest.raises(CalibrationError, match="margins disagree on the population of the "
                                               "design: stype sums to 6194, sch.wide to 6214"):
        calibrate(con, CLUS1, [Margin(("stype",), "pop_stype"),
                               Margin(("sch.wide",), "pop_sw_more")])


def test_calibration_needs_sampling_units(con: duckdb.DuckDBPyConnection) -> None:
    design = SurveyDesign(source="apistrat", strata="stype", weights="pw")
    with pytest.raises(CalibrationError, match="give a respondent identifier as psu"):
        calibrate(con, design, [Margin(("sch.wide",), "pop_sch_wide")])


def test_the_uncalibrated_design_is_untouched(con: duckdb.DuckDBPyConnection,
                                              calibrated: dict[str, SurveyDesign]) -> None:
    before = survey_query(con, CLUS1, "mean", "api00", by=("stype",))
    assert "calibration" not in before and "_c" not in before.split("AS _h")[0]
    plain = survey_mean(con, CLUS1, "api00")[0]
    weighted = survey_mean(con, calibrated["clus1_linear"], "api00")[0]
    assert plain.estimate != weighted.estimate and plain.se != weighted.se
    # One stage: residual sums per stratum; two stages: a residual per unit.
    assert "calibrated_strata" in survey_query(con, calibrated["clus1_linear"], "mean", "api00")
    assert "calibrated_strata" not in survey_query(con, calibrated["clus2_linear"], "mean",
                                                   "api00")


def test_the_same_calibration_writes_the_same_sql(con: duckdb.DuckDBPyConnection) -> None:
    margins = [Margin(("stype",), "pop_stype")]
    first = calibrate(con, CLUS1, margins)
    again = calibrate(con, CLUS1, margins)
    assert survey_query(con, first, "mean", "api00") == survey_query(con, again, "mean", "api00")
    # The same numbers, to the last bits that parallel sums may order differently.
    (one,), (two,) = survey_mean(con, first, "api00"), survey_mean(con, again, "api00")
    for field in ("estimate", "se", "ci_low", "ci_high", "deff"):
        assert getattr(one, field) == pytest.approx(getattr(two, field), rel=1e-12), field
