"""Every check of every contract fails on bad data, and agrees with Pandera's own backend.

For each contract table, one valid row is taken from the sample warehouse; for each check, a
copy of it is broken so that exactly that check must fire. The same frame is then given to
Pandera (Polars backend, data checks on) to show that the SQL compilation and Pandera judge
the row alike.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pandera.polars as pa
import polars as pl
import pytest
from pandera.config import ValidationDepth, config_context

from pipelines.config import ValidationSettings
from pipelines.validating.checks import StagedSource, rules_for, validate_table
from pipelines.validating.contracts import LOAD_ORDER, SCHEMAS, relations

DEFAULT = ValidationSettings()
REFERENCE_TABLES = ("territories", "territory_groups", "admin_codebook", "population")


def breaking_value(check: pa.Check, valid: object) -> object:
    """A value that violates ``check`` (and only it, as far as the column goes)."""
    s = check.statistics
    match check.name:
        case "greater_than":
            return s["min_value"]
        case "greater_than_or_equal_to":
            return s["min_value"] - 1
        case "less_than_or_equal_to" | "less_than":
            return s["max_value"] + 1
        case "in_range":
            return s["max_value"] + 1
        case "isin":
            return 7 if isinstance(valid, int) else "zz"
        case "str_matches":
            return "x!"
    raise AssertionError(f"no breaking value for {check.name}")


def check_cases() -> list[tuple[str, str, pa.Check]]:
    return [(table, column, check) for table in LOAD_ORDER
            for column, spec in SCHEMAS[table].columns.items() for check in spec.checks]


@pytest.fixture(scope="module")
def valid_rows(sample_warehouse) -> dict[str, dict]:
    rows = {}
    for table in LOAD_ORDER:
        result = sample_warehouse.execute(f"SELECT * FROM {table} LIMIT 1")
        names = [d[0] for d in result.description]
        rows[table] = dict(zip(names, result.fetchall()[0], strict=True))
    return rows


def validate_rows(sample_warehouse, table: str, rows: list[dict],
                  settings: ValidationSettings = DEFAULT) -> set[str]:
    """Validate text rows as a staged source against the sample's reference tables."""
    con = duckdb.connect()
    for reference in REFERENCE_TABLES:
        frame = sample_warehouse.execute(f"SELECT * FROM {reference}").df()
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {reference} AS SELECT * FROM frame")
        con.unregister("frame")
    frame = pd.DataFrame([{k: None if v is None else str(v) for k, v in row.items()}
                          for row in rows])
    frame.insert(0, "_row", range(2, 2 + len(frame)))
    con.register("frame", frame)
    con.execute("CREATE TEMP TABLE stg_case AS SELECT * FROM frame")
    validate_table(con, table, [StagedSource("case", "case.csv", table, "stg_case")], settings)
    failed = {r[0] for r in con.execute(
        "SELECT DISTINCT check_id FROM validation_failures WHERE row_number = 2").fetchall()}
    con.close()
    return failed


@pytest.mark.parametrize(("table", "column", "check"), check_cases(),
                         ids=[f"{t}.{c}.{k.name}" for t, c, k in check_cases()])
def test_each_column_check_fails_on_bad_data_as_pandera_does(
        sample_warehouse, valid_rows, table, column, check):
    bad = dict(valid_rows[table], **{column: breaking_value(check, valid_rows[table][column])})
    assert f"{table}.{column}.{check.name}" in validate_rows(sample_warehouse, table, [bad])
    schema = SCHEMAS[table]
    frame = pl.DataFrame([bad], schema={c: s.dtype.type for c, s in schema.columns.items()})
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA), \
            pytest.raises(pa.errors.SchemaErrors) as pandera:
        schema.validate(frame.lazy(), lazy=True)
    assert str(check.error) in set(pandera.value.failure_cases["check"].to_list())


@pytest.mark.parametrize("table", LOAD_ORDER)
def test_a_valid_row_passes_every_check(sample_warehouse, valid_rows, table):
    if table == "survey_responses":  # a stratum needs two PSUs: give it a second respondent
        other = dict(valid_rows[table], respondent_id="other", psu="other-psu")
        assert validate_rows(sample_warehouse, table, [valid_rows[table], other]) == set()
    else:
        assert validate_rows(sample_warehouse, table, [valid_rows[table]]) == set()


@pytest.mark.parametrize("table", LOAD_ORDER)
def test_a_missing_required_value_and_a_wrong_type_fail(sample_warehouse, valid_rows, table):
    schema = SCHEMAS[table]
    required = next(c for c, s in schema.columns.items() if not s.nullable)
    numeric = next((c for c, s in schema.columns.items() if str(s.dtype) != "String"), None)
    bad = dict(valid_rows[table], **{required: None})
    assert f"{table}.{required}.required" in validate_rows(sample_warehouse, table, [bad])
    if numeric:
        bad = dict(valid_rows[table], **{numeric: "n/a"})
        assert f"{table}.{numeric}.type" in validate_rows(sample_warehouse, table, [bad])


@pytest.mark.parametrize("table", LOAD_ORDER)
def test_a_duplicated_key_fails_on_both_copies(sample_warehouse, valid_rows, table):
    con_rows = [valid_rows[table], dict(valid_rows[table])]
    assert f"{table}.unique" in validate_rows(sample_warehouse, table, con_rows)


RELATION_CASES = {
    "territory_groups.member_code.known_commune": ("territory_groups", {"member_code": "01001"}),
    "population.territory_code.known_commune": ("population", {"territory_code": "01001"}),
    "population_totals.territory_code.known_commune": (
        "population_totals", {"territory_code": "01001"}),
    "population_totals.population.detail_sums_to_total": (
        "population_totals", {"population": 1.0}),
    "survey_responses.territory_code.known_commune": (
        "survey_responses", {"territory_code": "01001"}),
    "survey_responses.psu.two_per_stratum": ("survey_responses", {"stratum": "lonely"}),
    "admin_measures.territory_code.known_commune": ("admin_measures", {"territory_code": "01001"}),
    "admin_measures.measure_id.in_codebook": ("admin_measures", {"measure_id": "bogus"}),
    "admin_measures.value.codebook_range": ("admin_measures", {"value": 1e12}),
    "commuting.residence_code.known_commune": ("commuting", {"residence_code": "01001"}),
    "commuting.workplace_code.known_commune": ("commuting", {"workplace_code": "01001"}),
}


def test_every_relation_has_a_failing_case():
    ids = {r.check_id for r in relations(0.005, "fail")}
    assert ids == set(RELATION_CASES)


@pytest.mark.parametrize("check_id", sorted(RELATION_CASES))
def test_each_relation_fails_on_bad_data(sample_warehouse, valid_rows, check_id):
    table, change = RELATION_CASES[check_id]
    assert check_id in validate_rows(sample_warehouse, table, [dict(valid_rows[table], **change)])


def test_a_declared_lonely_psu_rule_turns_the_stratum_check_into_a_warning(
        sample_warehouse, valid_rows):
    settings = ValidationSettings(lonely_psu="average")
    rule = next(r for r in rules_for("survey_responses", settings)
                if r.check_id == "survey_responses.psu.two_per_stratum")
    assert rule.severity == "warning"
    lonely = dict(valid_rows["survey_responses"], stratum="lonely")
    assert "survey_responses.psu.two_per_stratum" in validate_rows(
        sample_warehouse, "survey_responses", [lonely], settings)
