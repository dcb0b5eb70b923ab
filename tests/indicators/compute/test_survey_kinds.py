"""The survey kinds beyond proportions (``survey_mean``, ``survey_total``, ``survey_ratio``).

On a copy of the sample warehouse with one indicator of each kind added to the catalogue:
the published value is the survey engine's own estimate for the same design and domains
(to 1e-11), the SQL of the plan gives it too, and the respondents ``lci trace`` lists add
up to the published numerator, denominator and n. Expressions over unknown columns, with
forbidden functions or giving text are refused, naming the indicator and the field. On R's
``api`` data the same computation gives R's ``svymean``, ``svytotal`` and ``svyratio``
(tests/survey_golden.py keeps the numbers and the R calls, from tests/r/make_survey_golden.R).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
import yaml

from indicators import CatalogueError, load_catalogue
from indicators.catalogue.definitions import KINDS, Indicator
from indicators.compute import survey_estimates
from indicators.compute.options import ComputeOptions
from indicators.compute.publication import RAW_COLUMNS
from indicators.compute.registry import compute_indicator_values, plan_indicator
from indicators.compute.survey_proportion import POOLED_RESPONSES, breakdowns, design
from indicators.compute.trace import trace_cell
from indicators.survey import survey_mean, survey_ratio, survey_total
from reports._i18n import text
from tests.indicators.survey.test_against_r import load_api
from tests.survey_golden import CASES

CATALOGUE = load_catalogue()
EXACT = 1e-11  # published numbers keep 12 significant digits
R_EST, R_CI = 1e-9, 1e-7  # as tests/indicators/survey/test_against_r.py


def _indicator(code: str, computation: dict, **fields: object) -> Indicator:
    """LL01's labels and thresholds with another computation (as a catalogue file gives it)."""
    base = CATALOGUE.get("LL01").model_dump()
    return Indicator.model_validate({**base, "id": code, "computation": computation,
                                     "defined_in": "kinds.yaml", "target": None, **fields})


MEAN = _indicator("LL91", {"kind": "survey_mean", "variable": "age",
                           "population": "age BETWEEN 25 AND 64"})
TOTAL = _indicator("LL92", {"kind": "survey_total", "variable": "formal_12m",
                            "population": "age >= 25", "scale": 0.001})
RATIO = _indicator("LL93", {"kind": "survey_ratio", "numerator": "nonformal_12m",
                            "denominator": "formal_12m", "scale": 100})
EXPRESSION = _indicator("LL94", {"kind": "survey_mean",
                                 "variable": "formal_12m + nonformal_12m",
                                 "population": "age BETWEEN 25 AND 64"}, breakdowns=())
NEW = (MEAN, TOTAL, RATIO, EXPRESSION)
EXTENDED = CATALOGUE.model_copy(update={"indicators": CATALOGUE.indicators + NEW})
# The pooled rows with the expression as a column, written here rather than by the module.
LEARNING = replace(design(ComputeOptions()),
                   source=f"SELECT *, formal_12m + nonformal_12m AS learning "
                          f"FROM ({POOLED_RESPONSES})")


@pytest.fixture(scope="module")
def warehouse(sample_warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample warehouse's tables copied, computed with the extended catalogue (the
    session's warehouse itself is left as it is)."""
    con = duckdb.connect()
    tables = sample_warehouse.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
    for (name,) in tables:
        con.register("_copied", sample_warehouse.table(name).to_arrow_table())
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _copied')
        con.unregister("_copied")
    compute_indicator_values(con, EXTENDED)
    yield con
    con.close()


def _engine(con: duckdb.DuckDBPyConnection, indicator: Indicator, by: tuple[str, ...]):
    """The engine's estimates, called directly with the pooled design and the domains."""
    spec = indicator.computation
    kw = {"by": by, "where": spec.population, "na_rm": True}
    if indicator is EXPRESSION:
        return survey_mean(con, LEARNING, "learning", **kw)
    pooled = design(ComputeOptions())
    if spec.kind == "survey_mean":
        return survey_mean(con, pooled, spec.variable, **kw)
    if spec.kind == "survey_total":
        return survey_total(con, pooled, spec.variable, **kw)
    return survey_ratio(con, pooled, spec.numerator, spec.denominator, **kw)


def _close(published: float | None, expected: float, tol: float = EXACT) -> bool:
    return published is not None and math.isclose(published, expected, rel_tol=tol,
                                                  abs_tol=1e-12)


@pytest.mark.parametrize("indicator", NEW, ids=lambda i: i.kind + "-" + i.id)
def test_the_published_value_is_the_engines_estimate(warehouse, indicator):
    scale = indicator.computation.scale
    published = {
        (t, lv, y, b): row for t, lv, y, b, *row in warehouse.execute(
            "SELECT territory_code, territory_level, year, breakdown, value, se, ci_low, "
            "ci_high, numerator, denominator, n_unweighted, status FROM indicator_values "
            "WHERE indicator_id = ?", [indicator.id]).fetchall()}
    expected_cells = 0
    for by in breakdowns(indicator):
        for e in _engine(warehouse, indicator, by):
            label = "total" if len(by) == 3 else f"{by[3]}={e.by[by[3]]}"
            key = (e.by["_territory"], e.by["_level"], int(e.by["year"]), label)
            value, se, low, high, numerator, denominator, n, status = published.pop(key)
            expected_cells += 1
            assert n == e.n, key
            if status == "suppressed":
                assert value is None and numerator is None
                continue
            if not math.isfinite(e.estimate):  # a ratio over a zero total: no value
                assert (value, se, status) == (None, None, "missing")
                assert denominator == 0
                continue
            for got, want in ((value, e.estimate), (se, e.se), (low, e.ci_low),
                              (high, e.ci_high)):
                assert _close(got, scale * want), (key, got, scale * want)
            assert _close(denominator, e.sum_weights if indicator.kind != "survey_ratio"
                          else numerator / e.estimate)
            if indicator.kind == "survey_mean":
                assert _close(numerator, e.estimate * e.sum_weights)
            elif indicator.kind == "survey_total":
                assert _close(numerator, e.estimate)
    assert not published, f"cells the engine does not give: {sorted(published)[:5]}"
    assert expected_cells > 40  # every level, both years, the breakdowns
    statuses = warehouse.execute("SELECT DISTINCT status FROM indicator_values "
                                 "WHERE indicator_id = ?", [indicator.id]).fetchall()
    assert ("ok",) in statuses


def test_a_ratio_denominator_is_the_estimated_total_of_the_denominator(warehouse):
    """Numerator and denominator of a ratio are the two totals svytotal would give."""
    pooled = design(ComputeOptions())
    where = "formal_12m IS NOT NULL AND nonformal_12m IS NOT NULL"
    totals = {
        side: {(e.by["_territory"], e.by["_level"], int(e.by["year"])): e.estimate
               for e in survey_total(warehouse, pooled, column, by=breakdowns(RATIO)[0],
                                     where=where)}
        for side, column in (("numerator", "nonformal_12m"), ("denominator", "formal_12m"))}
    rows = warehouse.execute(
        "SELECT territory_code, territory_level, year, numerator, denominator "
        "FROM indicator_values WHERE indicator_id = 'LL93' AND breakdown = 'total' "
        "AND numerator IS NOT NULL").fetchall()
    assert rows
    for territory, level, year, numerator, denominator in rows:
        assert _close(numerator, totals["numerator"][(territory, level, year)], 1e-10)
        assert _close(denominator, totals["denominator"][(territory, level, year)], 1e-10)


@pytest.mark.parametrize("indicator", NEW, ids=lambda i: i.kind + "-" + i.id)
def test_running_the_sql_of_the_plan_gives_the_published_value(warehouse, indicator):
    total = plan_indicator(warehouse, indicator).statements[0]
    rows = warehouse.execute(
        f"SELECT _d0, _d1, _d2, theta, n_ok FROM ({total.sql}) WHERE _found").fetchall()
    estimates = {(t, lv, int(y)): (theta, n) for t, lv, y, theta, n in rows}
    published = warehouse.execute(
        "SELECT territory_code, territory_level, year, value, n_unweighted "
        "FROM indicator_values WHERE indicator_id = ? AND breakdown = 'total' "
        "AND value IS NOT NULL", [indicator.id]).fetchall()
    assert published
    for territory, level, year, value, n in published:
        theta, n_ok = estimates[(territory, level, year)]
        assert _close(value, indicator.computation.scale * theta)
        assert n == n_ok
    script = warehouse.execute("SELECT sql FROM indicator_sql WHERE indicator_id = ?",
                               [indicator.id]).fetchall()[0][0]
    assert f"kind: {indicator.kind}" in script and total.sql.strip() in script


@pytest.mark.parametrize("indicator", NEW, ids=lambda i: i.kind + "-" + i.id)
def test_the_respondents_of_a_cell_reproduce_it(warehouse, indicator):
    cells = warehouse.execute("""
        SELECT territory_code, year, breakdown FROM indicator_values
        WHERE indicator_id = $1 AND numerator IS NOT NULL
          AND territory_code IN (SELECT min(territory_code) FROM indicator_values
                                 WHERE indicator_id = $1 AND numerator IS NOT NULL
                                 GROUP BY territory_level UNION SELECT '34172')
        ORDER BY ALL""", [indicator.id]).fetchall()
    assert len(cells) >= 6
    for territory, year, breakdown in cells:
        trace = trace_cell(warehouse, EXTENDED, indicator.id, territory, year, breakdown)
        assert trace.denominator is not None and not trace.withheld
        assert trace.reproduces, (territory, year, breakdown, trace.checks)
        assert [name for name, *_ in trace.checks] == ["numerator", "denominator", "n"]
        assert {"source_file", "source_row", "weight", "counted"} <= set(
            trace.records.column_names)


def test_a_ratio_over_a_zero_total_is_missing_and_its_cell_still_reproduced(warehouse):
    cells = warehouse.execute(
        "SELECT territory_code, year, breakdown, value, status, status_reason "
        "FROM indicator_values WHERE indicator_id = 'LL93' AND denominator = 0").fetchall()
    assert cells  # a commune where no respondent of the year took formal training
    for territory, year, breakdown, value, status, reason in cells:
        assert (value, status, reason) == (None, "missing", "denominator is zero or missing")
        trace = trace_cell(warehouse, EXTENDED, "LL93", territory, year, breakdown)
        assert trace.reproduces and trace.numerator > 0, trace.checks


def test_the_total_of_a_condition_is_the_proportions_numerator(warehouse):
    """A condition counts 1 or 0: its total over LL01's population is LL01's numerator, and
    the population it is taken over LL01's denominator."""
    ll01 = CATALOGUE.get("LL01").computation
    count = _indicator("LL97", {"kind": "survey_total", "variable": ll01.condition,
                                "population": ll01.population})
    options = ComputeOptions()
    try:
        survey_estimates.run(warehouse, survey_estimates.plan(warehouse, count, options),
                             options)
        pairs = warehouse.execute("""
            SELECT t.estimate, t.numerator, t.denominator, t.n_unweighted,
                   p.numerator, p.denominator, p.n_unweighted
            FROM _raw_values t JOIN indicator_values p USING (territory_code,
                 territory_level, year, breakdown)
            WHERE t.indicator_id = 'LL97' AND p.indicator_id = 'LL01'
              AND p.numerator IS NOT NULL""").fetchall()
    finally:
        warehouse.execute("DELETE FROM _raw_values WHERE indicator_id = 'LL97'")
    assert len(pairs) > 40
    for total, numerator, denominator, n, ll01_numerator, ll01_denominator, ll01_n in pairs:
        assert _close(total, ll01_numerator, 1e-10) and _close(numerator, total)
        assert _close(denominator, ll01_denominator, 1e-10) and n == ll01_n


def test_a_ratio_trace_leaves_out_respondents_missing_either_answer():
    statement = survey_estimates.records(RATIO, "34172", "COM", 2024, None)
    assert 'CAST(("r"."nonformal_12m") AS DOUBLE) AS numerator_answer' in statement.sql
    assert "numerator_answer IS NOT NULL AND denominator_answer IS NOT NULL AS counted" \
        in statement.sql
    assert statement.parameters == {"territory": "34172", "level": "COM", "year": 2024}


def test_every_kind_has_its_method_in_the_report_in_english_and_french():
    for kind in KINDS:
        english, french = (text(f"method.{kind}", lang, min_n=30, reliable_n=100,
                                max_cv="20%") for lang in ("en", "fr"))
        assert english != french
        if kind.startswith("survey"):
            assert "30" in english and "Taylor" in english and "Taylor" in french


# --- refusals -------------------------------------------------------------------------------

def _empty_responses() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE survey_responses (age INTEGER, sex VARCHAR, formal_12m INTEGER, "
                "weight DOUBLE)")
    return con


@pytest.mark.parametrize(("computation", "field", "why"), [
    ({"kind": "survey_mean", "variable": "agee"}, "variable",
     r"unknown column 'agee' \(did you mean age\?\)"),
    ({"kind": "survey_total", "variable": "age", "population": "sexe = 'F'"}, "population",
     "unknown column 'sexe'"),
    ({"kind": "survey_ratio", "numerator": "formal_12m", "denominator": "hours"},
     "denominator", "unknown column 'hours'"),
    ({"kind": "survey_mean", "variable": "sex"}, "variable",
     "'sex' must give a number; it gives VARCHAR"),
    ({"kind": "survey_ratio", "numerator": "upper(sex)", "denominator": "age"}, "numerator",
     "must give a number"),
])
def test_an_expression_is_checked_against_the_table_when_planned(computation, field, why):
    indicator = _indicator("LL95", computation)
    with pytest.raises(CatalogueError, match=rf"kinds\.yaml, indicator LL95: field "
                                             rf"'computation\.{field}'.*{why}"):
        survey_estimates.plan(_empty_responses(), indicator, ComputeOptions())


def test_a_valid_definition_plans_nothing_without_responses():
    indicator = _indicator("LL95", {"kind": "survey_ratio", "numerator": "FORMAL_12M",
                                    "denominator": "weight > 0"})
    assert survey_estimates.plan(_empty_responses(), indicator, ComputeOptions()
                                 ).statements == ()


def _catalogue_with(tmp_path: Path, computation: dict) -> Path:
    """A catalogue directory holding one indicator with ``computation``."""
    base = CATALOGUE.get("LL01").model_dump(mode="json", exclude={"domain", "breakdowns"})
    (tmp_path / "domains.yaml").write_text(yaml.safe_dump(
        {"domains": [CATALOGUE.domain("LL").model_dump(mode="json")]}))
    (tmp_path / "LL.yaml").write_text(yaml.safe_dump(
        {"domain": "LL", "indicators": [{**base, "id": "LL96", "computation": computation}]},
        allow_unicode=True))
    return tmp_path


@pytest.mark.parametrize(("computation", "field", "why"), [
    ({"kind": "survey_mean", "variable": "read_csv('/etc/passwd')"}, "variable",
     "read_csv reads files or tables"),
    ({"kind": "survey_total", "variable": "getenv('HOME')"}, "variable",
     "getenv reads the machine"),
    ({"kind": "survey_ratio", "numerator": "sum(age)", "denominator": "age"}, "numerator",
     "sum is an aggregate function"),
    ({"kind": "survey_ratio", "numerator": "age", "denominator": "(SELECT 1)"},
     "denominator", "subquery|query"),
    ({"kind": "survey_mean", "variable": "age; DROP TABLE x"}, "variable", "contains ';'"),
    ({"kind": "survey_mean", "variable": "age", "population": "random() > 0.5"},
     "population", "random reads the machine"),
    ({"kind": "survey_mean", "variable": "age", "scale": 0}, "scale", "greater than 0"),
])
def test_a_forbidden_expression_is_refused_when_the_catalogue_is_read(tmp_path, computation,
                                                                      field, why):
    with pytest.raises(CatalogueError, match=rf"LL\.yaml, indicator LL96: field "
                                             rf"'computation\.{computation['kind']}\.{field}'"
                                             rf".*({why})"):
        load_catalogue(_catalogue_with(tmp_path, computation))


def test_survey_columns_are_checked_at_load_for_every_survey_kind(tmp_path):
    folder = _catalogue_with(tmp_path, {"kind": "survey_ratio", "numerator": "age",
                                        "denominator": "hours_trained"})
    assert load_catalogue(folder).get("LL96").kind == "survey_ratio"
    with pytest.raises(CatalogueError, match=r"LL\.yaml, indicator LL96: field "
                                             r"'computation\.denominator'.*unknown column "
                                             r"'hours_trained'"):
        load_catalogue(folder, survey_columns=["age", "weight"])


# --- against R, on R's api data --------------------------------------------------------------

GOLDEN = {case["id"]: case for case in CASES}


def _api_warehouse(table: str, territory: str, stratum: str, psu: str
                   ) -> duckdb.DuckDBPyConnection:
    """R's api table as survey responses of 2024: ``territory`` gives each school's commune
    (one commune per school type, or one for all), every commune also in one département
    ``ALL``; ``stratum`` and ``psu`` are R's strata and clusters."""
    con = duckdb.connect()
    load_api(con)
    con.execute(f"""
        CREATE TABLE survey_responses AS
        SELECT *, {territory} AS territory_code, 2024 AS year, {stratum} AS stratum,
               CAST({psu} AS VARCHAR) AS psu, pw AS weight, 'api.csv' AS source_file,
               row_number() OVER () AS source_row, CAST(snum AS VARCHAR) AS respondent_id
        FROM {table}""")
    con.execute("""
        CREATE TABLE territory_members AS
        SELECT territory_code, 'COM' AS territory_level, territory_code AS commune_code,
               NULL AS valid_from, NULL AS valid_to FROM survey_responses
        UNION SELECT 'ALL', 'DEP', territory_code, NULL, NULL FROM survey_responses""")
    con.execute(f"CREATE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    return con


def _api(code: str, computation: dict) -> Indicator:
    return _indicator(code, computation, breakdowns=())


def _computed(con: duckdb.DuckDBPyConnection, indicator: Indicator) -> dict[str, tuple]:
    options = ComputeOptions()
    survey_estimates.run(con, survey_estimates.plan(con, indicator, options), options)
    return {code: row for code, *row in con.execute(
        "SELECT territory_code, estimate, se, ci_low, ci_high, numerator, denominator "
        "FROM _raw_values WHERE indicator_id = ? AND breakdown = 'total'",
        [indicator.id]).fetchall()}


def _agrees(found: tuple, expected: dict, scale: float = 1.0) -> None:
    estimate, se, low, high = found[:4]
    assert math.isclose(estimate, scale * expected["estimate"], rel_tol=R_EST)
    assert math.isclose(se, scale * expected["se"], rel_tol=R_EST)
    assert math.isclose(low, scale * expected["ci_low"], rel_tol=R_CI)
    assert math.isclose(high, scale * expected["ci_high"], rel_tol=R_CI)


@pytest.fixture(scope="module")
def stratified() -> Iterator[duckdb.DuckDBPyConnection]:
    """strat_nofpc: svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat),
    each school type a commune (each school its own PSU, as id = ~1)."""
    con = _api_warehouse("apistrat", "stype", "stype", "snum")
    yield con
    con.close()


def test_a_mean_agrees_with_r_overall_and_by_domain(stratified):
    computed = _computed(stratified, _api("API01", {"kind": "survey_mean",
                                                          "variable": "api00"}))
    assert GOLDEN["strat_nofpc-mean-api00"]["r"] == "svymean(~api00, strat_nofpc, deff = TRUE)"
    _agrees(computed["ALL"], GOLDEN["strat_nofpc-mean-api00"]["expected"][0])
    by_type = GOLDEN["strat_nofpc-by-mean"]
    assert by_type["r"] == "svyby(~api00, ~stype, strat_nofpc, svymean, deff = TRUE)"
    for expected in by_type["expected"]:
        _agrees(computed[expected["by"]["stype"]], expected)


def test_a_mean_over_a_population_agrees_with_r(stratified):
    computed = _computed(stratified, _api("API02", {
        "kind": "survey_mean", "variable": "api00", "population": "both = 'Yes'"}))
    case = GOLDEN["strat_nofpc-subset-by-mean"]
    assert case["r"].startswith('svyby(~api00, ~stype, subset(strat_nofpc, both == "Yes")')
    for expected in case["expected"]:
        _agrees(computed[expected["by"]["stype"]], expected)


def test_a_total_agrees_with_r_by_domain(stratified):
    computed = _computed(stratified, _api("API03", {
        "kind": "survey_total", "variable": "enroll", "scale": 0.001}))
    case = GOLDEN["strat_nofpc-by-total"]
    assert case["r"].startswith("svyby(~enroll, ~stype, strat_nofpc, svytotal, na.rm = TRUE")
    for expected in case["expected"]:
        found = computed[expected["by"]["stype"]]
        _agrees(found, expected, scale=0.001)
        assert math.isclose(found[4], expected["estimate"], rel_tol=R_EST)  # not scaled
    _agrees(computed["ALL"], GOLDEN["strat_nofpc-total-enroll"]["expected"][0], scale=0.001)


def test_a_ratio_agrees_with_r_as_a_percentage(stratified):
    computed = _computed(stratified, _api("API04", {
        "kind": "survey_ratio", "numerator": "api00", "denominator": "api99", "scale": 100}))
    case = GOLDEN["strat_nofpc-ratio"]
    assert case["r"] == "svyratio(~api00, ~api99, strat_nofpc, deff = TRUE)"
    _agrees(computed["ALL"], case["expected"][0], scale=100)
    numerator, denominator = computed["ALL"][4:]
    assert math.isclose(numerator / denominator, case["expected"][0]["estimate"],
                        rel_tol=R_EST)


def test_a_clustered_design_agrees_with_r():
    """clus1_nofpc: svydesign(id = ~dnum, weights = ~pw, data = apiclus1), one commune."""
    con = _api_warehouse("apiclus1", "'C1'", "'1'", "dnum")
    try:
        mean = _computed(con, _api("API05", {"kind": "survey_mean",
                                                   "variable": "api00"}))
        ratio = _computed(con, _api("API06", {"kind": "survey_ratio",
                                                    "numerator": "api00",
                                                    "denominator": "api99"}))
    finally:
        con.close()
    assert GOLDEN["clus1_nofpc-mean-api00"]["r"].startswith("svymean(~api00, clus1_nofpc")
    for territory in ("C1", "ALL"):
        _agrees(mean[territory], GOLDEN["clus1_nofpc-mean-api00"]["expected"][0])
        _agrees(ratio[territory], GOLDEN["clus1_nofpc-ratio"]["expected"][0])
