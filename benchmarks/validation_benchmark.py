"""Validation at scale: every check of the survey_responses contract on a staged table.

A staged survey table (``_row`` and every contract column as text, as the readers leave
it) of 20 million rows, mostly valid with about 0.1 % of rows breaking one check each, is
validated in two ways, each in its own process:

* ``reference``: one hand-written DuckDB query that counts, per rule, the rows violating it
  (types via TRY_CAST, required values, ranges, allowed values, the commune pattern, the
  unique key (year, respondent_id), the known-commune and two-PSUs-per-stratum relations);
* ``validate``: ``pipelines.validating.checks.validate_table`` end to end, which also writes the
  accepted rows into the contract table, the failures and the quarantine, into a fresh
  warehouse file.

Both count the same violations per rule (checked against ``validation_results``).

Usage: ``.venv/bin/python benchmarks/validation_benchmark.py [--rows N] [--repeat 3]
[--memory-limit 1.5GB]``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

import duckdb
from _common import (
    DATA,
    FULL_SCALE,
    DuckDBPeak,
    StatementLog,
    Stopwatch,
    cached_data,
    configure,
    environment,
    fmt_mib,
    markdown_table,
    results_name,
    run_child,
    seal_generated,
    self_maxrss_mib,
    summarise,
    write_child_report,
    write_results,
)

NAME = "validation_benchmark"
GENERATOR = 1  # bump when the generated data change
TABLE = "survey_responses"
STAGING = "stg_survey_responses"
DEPARTEMENTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]
ITEMS = ("formal_12m", "nonformal_12m", "guided_ojt_12m", "informal_12m", "digital_basic",
         "volunteering_12m", "library_12m", "env_learning_12m", "workshop_12m",
         "intends_to_train", "unmet_demand")
STATUSES = ("employed", "unemployed", "student", "retired", "inactive")
AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-69")
# Kinds of broken rows: which column gets which wrong text (``alt`` picks the second form).
BROKEN = {
    "respondent_id": "WHEN kind = 0 THEN NULL "
                     "WHEN kind = 15 THEN lpad(CAST(i AS VARCHAR), 9, '0')",
    "year": "WHEN kind = 1 THEN '20x3' WHEN kind = 2 THEN '1989' "
            "WHEN kind = 15 THEN CAST(2022 + hash((i - 1) * 16 + 2) % 2 AS VARCHAR)",
    "territory_code": "WHEN kind = 3 THEN (CASE WHEN alt THEN '1234A' ELSE '123' END) "
                      "WHEN kind = 4 THEN dep || '999'",
    "stratum": "WHEN kind = 5 THEN NULL WHEN kind = 16 THEN yr || '-' || dep || '-X'",
    "psu": "WHEN kind = 16 THEN yr || '-' || dep || '-X-1' WHEN kind = 17 AND alt THEN NULL",
    "weight": "WHEN kind = 6 THEN (CASE WHEN alt THEN 'abc' ELSE '1,5' END) "
              "WHEN kind = 7 THEN (CASE WHEN alt THEN '0' ELSE '-3.2' END) "
              "WHEN kind = 17 AND NOT alt THEN NULL",
    "sex": "WHEN kind = 8 THEN (CASE WHEN alt THEN 'X' ELSE 'f' END)",
    "age": "WHEN kind = 9 THEN (CASE WHEN alt THEN '17' ELSE '70' END) "
           "WHEN kind = 10 THEN (CASE WHEN alt THEN '34.5' ELSE 'trente' END)",
    "age_group": "WHEN kind = 11 THEN '70-74'",
    "isced_level": "WHEN kind = 12 THEN (CASE WHEN alt THEN '9' ELSE '-1' END)",
    "labour_status": "WHEN kind = 13 THEN 'employee'",
    "formal_12m": "WHEN kind = 14 AND alt THEN '2'",
    "library_12m": "WHEN kind = 14 AND NOT alt THEN 'yes'",
}
KINDS = 18


def data_path(rows: int, communes: int) -> Path:
    return DATA / f"validation_{rows}_{communes}.duckdb"


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(path: Path, rows: int, communes: int, threads: int) -> None:
    """The staging table and the territories it is checked against, in DuckDB SQL.

    Values are drawn from hashes of the row number (deterministic); one row in a thousand
    is broken, its kind (see ``BROKEN``) drawn uniformly. Kind 15 repeats the key of the
    previous row, kind 16 puts the row in a stratum of a single PSU.
    """
    per_dep = math.ceil(communes / len(DEPARTEMENTS))
    deps = _list(DEPARTEMENTS)
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    configure(con, threads)
    started = time.perf_counter()
    con.execute(f"""
        CREATE TABLE territories AS
        SELECT code AS territory_code, 'COM' AS level, 'Commune ' || code AS name,
               CAST(200000000 + dep_index AS VARCHAR) AS epci_code, dep AS departement_code,
               '11' AS region_code, CAST(NULL AS BIGINT) AS valid_from,
               CAST(NULL AS BIGINT) AS valid_to
        FROM (SELECT c // {per_dep} AS dep_index, {deps}[c // {per_dep} + 1] AS dep,
                     dep || lpad(CAST(c % {per_dep} + 1 AS VARCHAR), 3, '0') AS code
              FROM range({communes}) AS t(c))
        UNION ALL
        SELECT dep, 'DEP', 'Département ' || dep, NULL, NULL, '11', NULL, NULL
        FROM (SELECT unnest({deps}) AS dep)
    """)
    items = []
    for j, item in enumerate(ITEMS):
        bits = f"(items >> {5 * j}) & 31"
        items.append(f"CASE WHEN {bits} = 0 THEN NULL WHEN {bits} < 12 THEN '1' ELSE '0' END "
                     f"AS {item}")
    clean = {
        "respondent_id": "lpad(CAST(i + 1 AS VARCHAR), 9, '0')",
        "year": "CAST(yr AS VARCHAR)",
        "territory_code": "commune",
        "stratum": "yr || '-' || dep",
        "psu": "commune || '-' || yr || '-' || k",
        "weight": "CAST(weight AS VARCHAR)",
        "sex": "CASE WHEN female THEN 'F' ELSE 'M' END",
        "age": "CAST(age AS VARCHAR)",
        "age_group": f"{_list(AGE_GROUPS)}[CASE WHEN age < 25 THEN 1 WHEN age >= 65 THEN 6 "
                     f"ELSE (age - 15) // 10 END]",
        "isced_level": "CAST(isced AS VARCHAR)",
        "labour_status": f"{_list(STATUSES)}[status + 1]",
    }
    columns = []
    for column, sql in clean.items():
        broken = BROKEN.get(column)
        columns.append(f"CASE {broken} ELSE {sql} END AS {column}" if broken
                       else f"{sql} AS {column}")
    for item_sql, item in zip(items, ITEMS, strict=True):
        broken = BROKEN.get(item)
        expr = item_sql.removesuffix(f" AS {item}")
        columns.append(f"CASE {broken} ELSE {expr} END AS {item}" if broken else item_sql)
    con.execute(f"""
        CREATE TABLE {STAGING} AS
        WITH draws AS (
            SELECT i,
                   CAST(hash(i * 16 + 1) % {communes} AS INTEGER) AS c,
                   2022 + CAST(hash(i * 16 + 2) % 2 AS INTEGER) AS yr,
                   CAST(hash(i * 16 + 3) % 6 AS INTEGER) AS k,
                   hash(i * 16 + 4) % 2 = 0 AS female,
                   18 + CAST(hash(i * 16 + 5) % 52 AS INTEGER) AS age,
                   CAST(hash(i * 16 + 6) % 9 AS INTEGER) AS isced,
                   CAST(hash(i * 16 + 7) % 5 AS INTEGER) AS status,
                   hash(i * 16 + 8) AS items,
                   round(20 + (hash(i * 16 + 9) % 4000000) / 10000.0, 3) AS weight,
                   CASE WHEN hash(i * 16 + 10) % 1000 = 0
                        THEN CAST(hash(i * 16 + 11) % {KINDS} AS INTEGER) END AS kind,
                   hash(i * 16 + 12) % 2 = 0 AS alt
            FROM range({rows}) AS t(i)
        ), placed AS (
            SELECT *, {deps}[c // {per_dep} + 1] AS dep,
                   dep || lpad(CAST(c % {per_dep} + 1 AS VARCHAR), 3, '0') AS commune
            FROM draws
        )
        SELECT i + 2 AS _row, {", ".join(columns)}
        FROM placed ORDER BY i
    """)
    seal_generated(con, tmp, path, GENERATOR, rows, communes)
    print(f"generated {rows:,} staged rows in {time.perf_counter() - started:.1f} s -> {path}")


def ensure_data(rows: int, communes: int, threads: int, regenerate: bool) -> Path:
    return cached_data(data_path(rows, communes), GENERATOR,
                       lambda path: generate(path, rows, communes, threads), regenerate)


# --- the reference query -----------------------------------------------------------------

COMMUNE = r"(0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}|97[1-6]\d{2}"
TEXT = ("respondent_id", "territory_code", "stratum", "psu", "sex", "age_group",
        "labour_status")
INTEGERS = ("year", "age", "isced_level", *ITEMS)
REQUIRED = ("respondent_id", "year", "territory_code", "stratum", "psu", "weight", "sex", "age",
            "age_group", "isced_level", "labour_status")


def _whole(column: str) -> str:
    number = f"TRY_CAST({column} AS DOUBLE)"
    return f"CASE WHEN {number} = round({number}) THEN CAST({number} AS BIGINT) END"


def reference_sql(staging: str, territories: str) -> str:
    """One query: per rule, the number of rows that violate it.

    The two-PSUs-per-stratum rule is judged last, as the contract states it: on the rows
    that break no other check, counting the PSUs of those rows only.
    """
    p = "survey_responses."
    typed = [f"{_whole(c)} AS {c}_t" for c in INTEGERS] + ["TRY_CAST(weight AS DOUBLE) AS weight_t"]
    rules: dict[str, str] = {}
    for c in (*REQUIRED, *ITEMS):
        if c not in TEXT:  # text to text cannot fail
            rules[f"{c}.type"] = f"{c} IS NOT NULL AND {c}_t IS NULL"
        if c in REQUIRED:
            rules[f"{c}.required"] = f"{c} IS NULL"
    for c, (low, high) in {"year": (1990, 2100), "age": (18, 69), "isced_level": (0, 8)}.items():
        rules[f"{c}.in_range"] = f"{c}_t NOT BETWEEN {low} AND {high}"
    rules |= {
        "territory_code.str_matches": f"NOT regexp_full_match(territory_code, '{COMMUNE}')",
        "weight.greater_than": "weight_t <= 0",
        "sex.isin": "sex NOT IN ('F', 'M')",
        "age_group.isin": f"age_group NOT IN {tuple(AGE_GROUPS)}",
        "labour_status.isin": f"labour_status NOT IN {tuple(STATUSES)}",
    }
    rules |= {f"{c}.isin": f"{c}_t NOT IN (0, 1)" for c in ITEMS}
    rules |= {f"{c}.finite": f"NOT isfinite(TRY_CAST({c} AS DOUBLE))"
              for c in (*INTEGERS, "weight")}
    rules |= {
        "unique": "dup_n IS NOT NULL",
        "territory_code.known_commune": "territory_code IS NOT NULL AND code IS NULL",
    }
    flags = [f"coalesce({sql}, FALSE) AS \"{rule}\"" for rule, sql in rules.items()]
    counts = [f"count(*) FILTER (\"{rule}\") AS \"{p}{rule}\"" for rule in rules]
    counts += [f"0 AS \"{p}{c}.type\"" for c in TEXT]
    # Staged under a decimal point, where no number is ambiguous: the rule never fails.
    counts += [f"0 AS \"{p}{c}.decimal_comma\"" for c in (*INTEGERS, "weight")]
    counts.append(f"count(*) FILTER (NOT bad AND psu IS NOT NULL AND coalesce(psus.n, 0) < 2) "
                  f"AS \"{p}psu.two_per_stratum\"")
    bad = " OR ".join(f'"{rule}"' for rule in rules)
    return f"""
        WITH t AS NOT MATERIALIZED (SELECT *, {", ".join(typed)} FROM {staging}),
        dup AS (SELECT year_t AS dup_year, respondent_id AS dup_id, count(*) AS dup_n FROM t
                GROUP BY ALL HAVING count(*) > 1),
        communes AS (SELECT territory_code AS code, valid_from, valid_to FROM {territories}
                     WHERE level = 'COM'),
        flagged AS NOT MATERIALIZED (
            SELECT year_t, stratum, psu, {", ".join(flags)}
            FROM t
            LEFT JOIN dup ON dup_year IS NOT DISTINCT FROM year_t
                         AND dup_id IS NOT DISTINCT FROM respondent_id
            LEFT JOIN communes ON code = territory_code
                  AND (valid_from IS NULL OR valid_from <= year_t)
                  AND (valid_to IS NULL OR valid_to >= year_t)),
        judged AS NOT MATERIALIZED (SELECT *, {bad} AS bad FROM flagged),
        psus AS (SELECT year_t AS psu_year, stratum AS psu_stratum, count(DISTINCT psu) AS n
                 FROM judged WHERE NOT bad GROUP BY ALL)
        SELECT count(*) AS rows, {", ".join(counts)}
        FROM judged LEFT JOIN psus ON psu_year = year_t AND psu_stratum = stratum
    """


# --- child side --------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    run_dir = DATA / "run"
    temp = DATA / "tmp"
    if args.child == "reference":
        con = duckdb.connect()
        configure(con, args.threads, args.memory_limit, temp)
        con.execute(f"ATTACH '{args.data}' AS src (READ_ONLY)")
        baseline = self_maxrss_mib()
        with DuckDBPeak(con) as peak, Stopwatch() as watch:
            cur = con.execute(reference_sql(f"src.{STAGING}", "src.territories"))
            names = [d[0] for d in cur.description]
            values = cur.fetchone()
        counts = dict(zip(names, values, strict=True))
        report = {**watch.as_dict(), "baseline_rss_mib": round(baseline, 1), **peak.as_dict(),
                  "rows": counts.pop("rows"), "failed": counts}
    else:
        from pipelines.validating.checks import StagedSource, ValidationSettings, validate_table

        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        con = duckdb.connect(str(run_dir / "warehouse.duckdb"))
        configure(con, args.threads, args.memory_limit, temp)
        con.execute(f"ATTACH '{args.data}' AS src (READ_ONLY)")
        con.execute("CREATE TABLE territories AS SELECT * FROM src.territories")
        source = StagedSource("survey", "survey.csv", TABLE, f"src.{STAGING}")
        baseline = self_maxrss_mib()
        log = StatementLog(con) if args.child == "profile" else None
        with DuckDBPeak(con) as peak, Stopwatch() as watch:
            outcome = validate_table(log or con, TABLE, [source], ValidationSettings())[0]
        results = con.execute(
            "SELECT check_id, rows_failed FROM validation_results WHERE contract_table = ?",
            [TABLE]).fetchall()
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        report = {**watch.as_dict(), "baseline_rss_mib": round(baseline, 1), **peak.as_dict(),
                  "rows": outcome.rows_read, "rows_accepted": outcome.rows_accepted,
                  "rows_quarantined": outcome.rows_quarantined,
                  "quarantine_lines": quarantined, "failed": dict(results)}
        if log is not None:
            report["statements"] = len(log.statements)
            report["top_statements"] = log.top()
        con.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    write_child_report(args.child_out, report)


# --- parent side -------------------------------------------------------------------------


def compare(reference: dict, validate: dict) -> dict:
    rules = sorted(set(reference) | set(validate))
    differ = {r: {"reference": reference.get(r), "validate_table": validate.get(r)}
              for r in rules if reference.get(r) != validate.get(r)}
    return {"rules": len(rules), "rules_failing": sum(1 for r in rules if validate.get(r)),
            "rows_failing_total": sum(v or 0 for v in validate.values()),
            "equal": not differ, "differences": differ}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_SCALE, help="staged survey rows")
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each step (one full run of both takes a few minutes)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default=None,
                        help="DuckDB memory_limit for validate_table, e.g. 1.5GB")
    parser.add_argument("--steps", default="reference,validate",
                        help="comma-separated steps to run")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached data")
    parser.add_argument("--profile", action="store_true",
                        help="also run (b) once statement by statement: time and DuckDB "
                             "memory of each of its SQL statements")
    parser.add_argument("--child", choices=("reference", "validate", "profile"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return

    path = ensure_data(args.rows, args.communes, args.threads, args.regenerate)
    script = Path(__file__).resolve()
    wanted = args.steps.split(",")
    steps: dict[str, list[dict]] = {s: [] for s in ("reference", "validate") if s in wanted}
    for rep in range(args.repeat):
        for step in steps:
            cmd = ["--child", step, "--data", str(path), "--threads", str(args.threads)]
            if args.memory_limit and step == "validate":
                cmd += ["--memory-limit", args.memory_limit]
            run = run_child(script, cmd, step)
            steps[step].append(run)
            print(f"  {step} run {rep + 1}: {run.get('seconds')} s "
                  f"(cpu {run.get('cpu_seconds')} s), peak RSS {fmt_mib(run.get('peak_rss_mib'))}, "
                  f"DuckDB peak {fmt_mib(run.get('duckdb_peak_mib'))}, "
                  f"spilled {fmt_mib(run.get('duckdb_peak_temp_mib'))}", flush=True)
            if not run["ok"]:
                print(f"  {step} failed (exit code {run['exit_code']})")
    summary = {step: summarise(runs) for step, runs in steps.items()}
    profile = None
    if args.profile:
        cmd = ["--child", "profile", "--data", str(path), "--threads", str(args.threads)]
        if args.memory_limit:
            cmd += ["--memory-limit", args.memory_limit]
        profile = run_child(script, cmd, "profile")
        profile.pop("failed", None)
    check = None
    if {"reference", "validate"} <= set(steps) and all(s.get("ok") for s in summary.values()):
        check = compare(steps["reference"][0]["failed"], steps["validate"][0]["failed"])
    ratio = cpu_ratio = None
    if check is not None:
        ratio = round(summary["validate"]["median_s"] / summary["reference"]["median_s"], 2)
        cpu = {step: summary[step]["median_cpu_s"] for step in ("reference", "validate")}
        cpu_ratio = round(cpu["validate"] / cpu["reference"], 2)
    results = {
        "benchmark": NAME,
        "environment": environment(args.threads),
        "settings": {"rows": args.rows, "communes": args.communes, "repeat": args.repeat,
                     "memory_limit_validate": args.memory_limit or "default"},
        "steps": summary,
        "ratio_validate_to_reference_median": ratio,
        "ratio_validate_to_reference_median_cpu": cpu_ratio,
        "counts_check": check,
        "profile": profile,
        "targets": {
            "ratio_at_most_3": ratio is not None and ratio <= 3,
            "ratio_at_most_1_5_wall_and_cpu": (ratio is not None and cpu_ratio is not None
                                               and ratio <= 1.5 and cpu_ratio <= 1.5),
            "peak_rss_under_2gb": summary.get("validate", {}).get("peak_rss_mib", math.inf) < 2000,
        },
    }
    out = write_results(results_name(NAME, args.rows, args.memory_limit), results)
    print()
    print(table(results))
    if profile and profile.get("ok"):
        print(f"\nprofile of (b): {profile['seconds']} s wall, {profile['statements']} "
              f"statements; the costliest:")
        for st in profile["top_statements"][:6]:
            print(f"  {st['seconds']:7.1f} s  DuckDB peak {fmt_mib(st['duckdb_peak_mib']):>9}  "
                  f"spill {fmt_mib(st['duckdb_peak_temp_mib']):>9}  {st['sql'][:90]}")
    print(f"\nresults: {out}")


def table(results: dict) -> str:
    s = results["steps"]
    labels = {"reference": "(a) one DuckDB query counting violations per rule",
              "validate": "(b) validate_table end to end"}
    rows = []
    for step, label in labels.items():
        if step not in s:
            continue
        r = s[step]
        rows.append([label, f"{r.get('median_s', 'failed')} s", f"{r.get('median_cpu_s', '-')} s",
                     fmt_mib(r.get("peak_rss_mib")), fmt_mib(r.get("duckdb_peak_mib")),
                     fmt_mib(r.get("duckdb_peak_temp_mib"))])
    ratio = results["ratio_validate_to_reference_median"]
    cpu_ratio = results["ratio_validate_to_reference_median_cpu"]
    if ratio is not None:
        rows.append(["ratio (b)/(a), medians", f"**{ratio}×**", f"{cpu_ratio}×", "", "", ""])
    check = results["counts_check"] or {}
    settings = results["settings"]
    caption = (f"{settings['rows']:,} staged rows, memory_limit for (b): "
               f"{settings['memory_limit_validate']}; {check.get('rules')} rules, "
               f"{check.get('rows_failing_total')} violations; same counts per rule: "
               f"{check.get('equal')}")
    return caption + "\n\n" + markdown_table(
        ["step", "median wall", "median CPU", "peak RSS", "DuckDB peak", "DuckDB spill"], rows)


if __name__ == "__main__":
    main(sys.argv[1:])
