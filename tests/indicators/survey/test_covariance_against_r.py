"""Changes over a panel of PSUs and gaps between nested domains agree with R's survey.

R's answer: the two estimates as domains of one design (``svyby(..., covmat = TRUE)``), then
``svycontrast``; the calls are in tests/r/covariance_checks.R, run with R 4.2.2 and survey
4.1.1, whose printed figures are the golden values below.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import duckdb
import pytest

from indicators.survey import SurveyDesign
from indicators.survey.covariance import Pairs
from indicators.survey.results import prepare, run_domains

# dp <- svydesign(id = ~pp, strata = ~stype, weights = ~pw, data = panel, nest = TRUE)
# svycontrast(svyby(~high, ~year + stype, dp, svymean, covmat = TRUE), 2000.s - 1999.s)
PANEL = {"E": (0.04658721560130008, 0.02739960064175026),
         "H": (-0.027472527472527472, 0.030554421949376586),
         "M": (0.020000000000000018, 0.021405524520553401)}
# The same with strata and PSUs taken within year (di): independent samples.
INDEPENDENT = {"E": 0.15846341631755659, "H": 0.08701345214938698, "M": 0.21779458734872181}
# g <- svydesign(id = ~dnum, weights = ~pw, data = st)  # E rows, then all rows, stacked
# svycontrast(svyby(~high, ~dom, g, svymean, covmat = TRUE), c(ALL = -1, E = 1))
GAP = (0.076313801057837249, 0.028136844393674296)
# The sample, LL01 (formal or non-formal learning, ages 25-64), in percent:
# svycontrast(svyby(~y, ~year, subset(d, keep), svymean, covmat = TRUE), c(-100, 100))
SAMPLE_CHANGES = {("COM", "34172"): (0.82536702974947218, 2.2262045680806888, 56),
                  ("DEP", "34"): (0.4365029616315681, 1.9745893164299706, 72)}
# svycontrast(svyby(~y, ~dom, subset(g, keep), svymean, covmat = TRUE), c(COM = 100, DEP = -100))
SAMPLE_GAP = (0.82781184978643552, 0.38945460345307742)
SAMPLE_EXPORT = """
COPY (SELECT year, stratum, psu, weight, territory_code AS commune,
             CAST(formal_12m = 1 OR nonformal_12m = 1 AS INTEGER) AS y,
             age BETWEEN 25 AND 64 AS pop
      FROM survey_responses ORDER BY source_file, source_row) TO 'sample.csv' (HEADER)
"""
"""What tests/r/covariance_checks.R reads for the sample cases (run on the sample warehouse)."""


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("CREATE TABLE api AS SELECT * FROM read_csv('tests/data/api/apiclus2.csv', "
                "nullstr = 'NA')")
    con.execute("""
        CREATE TABLE panel AS
        SELECT *, year || '/' || stype AS h, year || '/' || stype || '/' || dnum AS p,
               stype || '/' || dnum AS pp
        FROM (SELECT *, 1999 AS year, api99 AS api FROM api
              UNION ALL SELECT *, 2000 AS year, api00 AS api FROM api)""")
    con.execute("CREATE TABLE link AS SELECT DISTINCT h AS _h, p AS _p, pp AS link_p FROM panel")
    yield con
    con.close()


CHANGES = Pairs("SELECT a._domain AS _first, b._domain AS _second FROM domains a "
                "JOIN domains b ON b._d1 = a._d1 AND a._d0 = 2000 AND b._d0 = 1999",
                link="link")


def _changes(con: duckdb.DuckDBPyConnection, pairs: Pairs) -> dict[str, tuple[float, float]]:
    design = SurveyDesign("panel", weights="pw", strata="h", psu=("p",))
    prep = prepare(con, design, "proportion", "api > 700", None, by=("year", "stype"),
                   where=None)
    res = run_domains(con, prep, na_rm=False, pairs=pairs)
    found = {}
    for p in res.pairs or ():
        variance = res.variance[p.first] + res.variance[p.second] - 2 * p.covariance
        found[res.by[p.first]["stype"]] = (res.estimate[p.first] - res.estimate[p.second],
                                           math.sqrt(variance))
    return found


def test_a_change_over_the_same_psus_takes_their_covariance(con):
    found = _changes(con, CHANGES)
    for stype, (change, se) in PANEL.items():
        assert found[stype][0] == pytest.approx(change, rel=1e-11, abs=1e-15)
        assert found[stype][1] == pytest.approx(se, rel=1e-11)


def test_without_linked_psus_the_years_are_independent_samples(con):
    found = _changes(con, Pairs(CHANGES.sql))  # each year's units only themselves
    for stype, se in INDEPENDENT.items():
        assert found[stype][1] == pytest.approx(se, rel=1e-11)


def test_a_stratum_whose_psus_were_replaced_adds_no_covariance(con):
    """One PSU of stratum E recoded in 2000: E is then two samples, H and M stay a panel."""
    con.execute("CREATE OR REPLACE TEMP TABLE link2 AS SELECT _h, _p, CASE WHEN _h = '2000/E' "
                "AND _p = (SELECT min(_p) FROM link WHERE _h = '2000/E') THEN 'new' "
                "ELSE link_p END AS link_p FROM link")
    found = _changes(con, Pairs(CHANGES.sql, link="link2"))
    assert found["E"][1] == pytest.approx(INDEPENDENT["E"], rel=1e-11)
    assert found["H"][1] == pytest.approx(PANEL["H"][1], rel=1e-11)


def test_a_gap_between_nested_domains_takes_their_covariance(con):
    con.execute("CREATE OR REPLACE TABLE stacked AS SELECT *, 'E' AS dom FROM api "
                "WHERE stype = 'E' UNION ALL SELECT *, 'ALL' AS dom FROM api")
    design = SurveyDesign("stacked", weights="pw", psu=("dnum",))
    prep = prepare(con, design, "proportion", "api00 > 700", None, by=("dom",), where=None)
    pairs = Pairs("SELECT a._domain AS _first, b._domain AS _second FROM domains a, domains b "
                  "WHERE a._d0 = 'E' AND b._d0 = 'ALL'")
    res = run_domains(con, prep, na_rm=False, pairs=pairs)
    (p,) = res.pairs
    se = math.sqrt(res.variance[p.first] + res.variance[p.second] - 2 * p.covariance)
    assert res.estimate[p.first] - res.estimate[p.second] == pytest.approx(GAP[0], rel=1e-11)
    assert se == pytest.approx(GAP[1], rel=1e-11)


def test_the_sample_changes_agree_with_r(sample_warehouse):
    for (level, code), (change, se, df) in SAMPLE_CHANGES.items():
        row = sample_warehouse.execute(
            "SELECT change, se_change, df_change FROM indicator_changes WHERE indicator_id = "
            "'LL01' AND breakdown = 'total' AND territory_level = $level AND year = 2024 "
            "AND territory_code = $code", {"level": level, "code": code}).fetchall()[0]
        # Published to 12 significant digits, the SE from the published SEs.
        assert row[0] == pytest.approx(change, rel=1e-9)
        assert row[1] == pytest.approx(se, rel=1e-9)
        assert row[2] == df  # degf(subset(d, keep)): both years' PSUs, each once


def test_the_sample_gap_between_a_commune_and_its_departement_agrees_with_r(sample_warehouse):
    gap, se = sample_warehouse.execute(
        "SELECT gap, se_gap FROM indicator_gaps WHERE indicator_id = 'LL01' "
        "AND breakdown = 'total' AND year = 2024 AND territory_code = '34172' "
        "AND reference_level = 'DEP'").fetchall()[0]
    assert gap == pytest.approx(SAMPLE_GAP[0], rel=1e-9)
    assert se == pytest.approx(SAMPLE_GAP[1], rel=1e-9)
