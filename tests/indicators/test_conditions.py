"""Conditions written by people are parsed before any SQL: one expression over the table's
columns with allowed operators and functions; everything else is refused, saying what and why."""

from __future__ import annotations

import duckdb
import pytest

from indicators import load_catalogue
from indicators.conditions import MAX_LENGTH, ConditionError, check_columns, check_expression

API_COLUMNS = ["cds", "stype", "name", "sch.wide", "both", "awards", "meals", "api00", "api99",
               "acs.46", "enroll", "pw", "fpc", "d", "Age"]


def refused(text: str, columns=API_COLUMNS, **options) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        check_expression(text, columns, **options)
    error = caught.value
    assert repr(text[:50])[1:-1] in str(error) or len(text) > 200, "the message names it"
    assert error.french and error.french != str(error)
    assert error.condition == text
    return error


# ---- accepted: the conditions of R's api examples and of the catalogue ---------------------


@pytest.mark.parametrize(("text", "sql"), [
    ("\"sch.wide\" = 'Yes'", "\"sch.wide\" = 'Yes'"),
    ("api00 > 700", '"api00" > 700'),
    ("stype IN ('E','M')", "\"stype\" IN ('E', 'M')"),
    ("meals > 50", '"meals" > 50'),
    ("\"both\" = 'Yes'", "\"both\" = 'Yes'"),
    ("\"acs.46\" > 28", '"acs.46" > 28'),
    ("AGE BETWEEN 25 AND 64", '"Age" BETWEEN 25 AND 64'),  # DuckDB: names ignore case
    ("API00 > 700 OR awards = 'Yes'", "\"api00\" > 700 OR \"awards\" = 'Yes'"),
    ("meals", '"meals"'),
])
def test_the_examples_are_accepted_with_every_column_quoted(text, sql):
    assert check_expression(text, API_COLUMNS) == sql


@pytest.mark.parametrize("text", [
    "api00 IS NOT NULL", "NOT (api00 < 500)", "api00 - api99 >= 0 AND api00 / 2 < 500",
    "api00 // 2 = 350", "api00 % 2 = 0", "api00 ^ 2 > 1", "-api00 < 0",
    "stype NOT IN ('H')", "api00 NOT BETWEEN 1 AND 2", "name LIKE 'A%'", "name ILIKE 'a%'",
    "name NOT LIKE 'a!%' ESCAPE '!'", "CASE WHEN stype = 'E' THEN meals > 50 ELSE FALSE END",
    "CAST(meals AS DOUBLE) > 50.5", "meals::INTEGER > 50", "TRY_CAST(cds AS BIGINT) > 0",
    "CAST(api00 AS DECIMAL(10, 2)) > 1", "coalesce(meals, 0) > 50", "nullif(meals, 0) > 1",
    "abs(api00 - api99) < 10", "round(api00 / 3, 2) > 1", "floor(api00) = ceil(api00)",
    "least(api00, api99) > 500", "greatest(api00, api99) > 500", "lower(stype) = 'e'",
    "upper(name) <> trim(name)", "length(name) > 3", "substr(name, 1, 1) = 'A'",
    "substring(name, 1, 2) = 'Ab'", "starts_with(name, 'A')", "ends_with(name, 's')",
    "contains(name, 'x')", "regexp_matches(name, '^A')", "year(d) = 2020",
    "month(d) = 1", "date_part('year', d) = 2020", "EXTRACT(year FROM d) = 2020",
    "d > DATE '2020-01-01'", "d + INTERVAL 1 DAY > d", "ln(api00) > log(api99)",
    "exp(1) < sqrt(api00)", "power(api00, 2) > 1", "isnan(api00) OR isfinite(api00)",
    "name || 'x' = 'ax'", "api00 IS DISTINCT FROM api99", "awards = TRUE", "meals = NULL",
    "name = 'it''s'", "TRUE",
])
def test_scalar_operators_and_allowed_functions_are_accepted(text):
    sql = check_expression(text, API_COLUMNS)
    assert sql and ";" not in sql


def test_what_runs_is_what_was_checked_and_gives_the_same_rows():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i AS api00, i % 3 AS meals, "
                "CASE WHEN i % 2 = 0 THEN 'Yes' ELSE 'No' END AS \"sch.wide\", "
                "chr(CAST(65 + i % 26 AS INTEGER)) || 'x' AS name FROM range(100) r(i)")
    columns = ["api00", "meals", "sch.wide", "name"]
    for text in ["\"sch.wide\" = 'Yes'", "api00 > 70", "meals IN (0, 2)", "api00 % 7 = 1",
                 "name LIKE 'A%' OR api00 BETWEEN 3 AND 9", "api00 ^ 2 > 400",
                 "log10(api00 + 1) > 1", "api00 IS NOT NULL AND NOT meals = 1"]:
        sql = check_expression(text, columns)
        direct = con.execute(f"SELECT count_if({text}) FROM t").fetchall()
        checked = con.execute(f"SELECT count_if({sql}) FROM t").fetchall()
        assert direct == checked, text


def test_every_catalogue_condition_and_population_is_accepted():
    columns = None  # read before the table exists: everything but the names is checked
    for indicator in load_catalogue():
        if indicator.kind == "survey_proportion":
            for text in (indicator.computation.condition, indicator.computation.population):
                assert check_expression(text, columns)


def test_a_qualifier_is_put_before_every_column():
    assert check_expression("age BETWEEN 25 AND 64 AND isced_level <= 2", None,
                            qualifier="r") == \
        '"r"."age" BETWEEN 25 AND 64 AND "r"."isced_level" <= 2'
    assert check_expression("meals", ["Meals"], qualifier="r") == '"r"."Meals"'


# ---- refused: each hostile family, with its reason -----------------------------------------


@pytest.mark.parametrize(("text", "reason"), [
    ("read_csv('/etc/passwd') IS NOT NULL", "read_csv reads files or tables"),
    ("length(read_text('/etc/passwd')) > 0", "read_text reads files or tables"),
    ("read_blob('/etc/shadow') IS NULL", "read_blob reads files or tables"),
    ("glob('/*') IS NULL", "glob reads files or tables"),
    ("read_parquet('https://example.org/x.parquet') IS NULL", "read_parquet reads files"),
    ("read_json('s3://bucket/x.json') IS NULL", "read_json reads files"),
    ("query('SELECT 1') IS NULL", "query reads files or tables"),
    ("getenv('HOME') = '/root'", "getenv reads the machine"),
    ("current_setting('threads') = '1'", "current_setting reads the machine"),
    ("md5(name) = 'x'", "md5 is not an allowed function"),
    ("list_transform([1], x -> x + 1) IS NULL", "list_transform is not an allowed function"),
])
def test_functions_outside_the_list_are_refused_by_name(text, reason):
    error = refused(text)
    assert reason in str(error)
    assert "a condition may call only abs" in str(error)


@pytest.mark.parametrize("text", [
    "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
    "(SELECT max(column0) FROM read_csv('/etc/passwd', header = false)) = 'x'",
    "(SELECT count(*) FROM glob('/*')) > 0",
    "(SELECT 1) = 1",
    "api00 IN (SELECT api00 FROM apistrat)",
    "EXISTS (SELECT 1)",
    "api00 > ANY (SELECT 1)",
])
def test_subqueries_are_refused(text):
    assert "is a subquery" in str(refused(text))


@pytest.mark.parametrize(("text", "reason"), [
    ("api00 > 1; COPY apistrat TO '/tmp/x.csv'", "it contains ';'"),
    ("TRUE) FROM apistrat; DROP TABLE apistrat; SELECT (1", "it contains ';'"),
    ("api00 > 1;", "it contains ';'"),
    ("COPY apistrat TO '/tmp/x.csv'", "statement (COPY)"),
    ("ATTACH '/tmp/other.db' AS other", "statement (ATTACH)"),
    ("INSTALL httpfs", "statement (INSTALL)"),
    ("LOAD httpfs", "statement (LOAD)"),
    ("SET enable_external_access = true", "statement (SET)"),
    ("PRAGMA version", "statement (PRAGMA)"),
    ("DROP TABLE apistrat", "statement (DROP)"),
    ("SELECT 1", "a query, not an expression"),
    ("api00 > 1 UNION SELECT 1", "a query, not an expression"),
    ("api00 > 1 -- ; DROP TABLE apistrat", "contains a comment"),
    ("api00 > 1 /* */; DROP TABLE apistrat", "contains a comment"),
    ("api00 > 1 /* hidden */ OR TRUE", "contains a comment"),
])
def test_statements_second_statements_and_comments_are_refused(text, reason):
    assert reason in str(refused(text))


@pytest.mark.parametrize(("text", "reason"), [
    ("sum(api00) > 0", "sum is an aggregate function"),
    ("count(*) > 0", "count is an aggregate function"),
    ("avg(api00) OVER () > 1", "window function"),
    ("row_number() OVER (ORDER BY api00) = 1", "window function"),
    ("*", "it contains *"),
    ("api00 = ?", "the parameter ?"),
    ("api00 = $1", "the parameter $1"),
    ("api00 = $name", "the parameter $name"),
    ("api00[1] = 1", "[ ]"),
    ("#1 = 1", "#n"),
    ("api00 = 0x10", "AS"),
    ("CAST(api00 AS INTEGER[]) IS NULL", "a CAST to INT[]"),
    ("CAST(api00 AS STRUCT(a INT)) IS NULL", "a CAST to STRUCT"),
    ("apistrat.api00 > 1", "another table"),
])
def test_aggregates_windows_stars_parameters_and_other_parts_are_refused(text, reason):
    assert reason in str(refused(text))


def test_an_unknown_column_is_named_with_close_matches_and_the_columns():
    error = refused("api0 > 700 AND stype = 'E'")
    assert "unknown column 'api0' (did you mean api00 or api99?)" in str(error)
    assert "the columns are: Age, acs.46, api00" in str(error)
    assert "colonne inconnue 'api0'" in error.french
    assert error.part == "api0"


def test_a_dotted_name_left_unquoted_is_told_to_quote_it():
    error = refused("sch.wide = 'Yes'")
    assert 'quote a name that holds a dot: "sch.wide"' in str(error)


@pytest.mark.parametrize(("text", "reason"), [
    ("api00 >>> 3", "is not a valid SQL expression"),
    ("meals >", "is not a valid SQL expression"),
    ("name = 'unterminated", "is not closed"),
    ("", "it is empty"),
    ("x" * (MAX_LENGTH + 1), f"longer than {MAX_LENGTH} characters"),
    ("(" * 40 + "api00" + ")" * 40 + " > 1", "nests more than"),
    ("NOT " * 200 + "meals", "nest"),
    ("api00 = 1\x00", "NUL"),
])
def test_unreadable_empty_long_and_deep_conditions_are_refused(text, reason):
    assert reason in str(refused(text))


def test_the_role_is_named_in_both_languages():
    error = refused("sum(api00) > 0", role="where")
    assert str(error).startswith("where 'sum(api00) > 0' is refused")
    assert error.french.startswith("Refus du filtre where 'sum(api00) > 0'")
    assert error.role == "where" and error.part == "sum"
    assert isinstance(error, ValueError)


def test_column_lists_are_checked_by_name():
    check_columns(["API00", "sch.wide"], API_COLUMNS)
    with pytest.raises(ConditionError, match="unknown column 'stipe' \\(did you mean stype"):
        check_columns(["stipe"], API_COLUMNS, role="by")
