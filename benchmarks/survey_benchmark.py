"""Survey estimation at scale: proportions with logit intervals for 140,000 domains.

Synthetic microdata shaped like a territorial survey: respondents in 35,000 communes over
two years, strata by département x year, about six PSUs nested in each commune and year.
Three steps are measured, each in its own process with the same DuckDB settings:

* ``point``: one GROUP BY territory, year, sex computing sum(w*y) / sum(w), the point
  estimates alone, fetched to Python;
* ``survey``: ``indicators.survey_proportion`` of ``learner = 1`` by territory, year and
  sex with logit intervals (Taylor-linearisation variances, design checks, degrees of
  freedom), fetched as ``Estimate`` objects;
* ``cells``: for reference, the bare GROUP BY into (domain, stratum, PSU) cells with
  sum(w*y), sum(w) and count(*): the per-PSU totals of every domain that any
  design-based variance is a quadratic form of, with nothing else (no checks, no
  variance, nothing fetched but their grand totals).

Only the estimation is timed: the dictionaries that compare the estimates of the two
first steps are built after the stopwatch stops.

Usage: ``.venv/bin/python benchmarks/survey_benchmark.py [--rows N] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import duckdb
from _common import (
    DATA,
    FULL_SCALE,
    DuckDBPeak,
    Stopwatch,
    cached_data,
    configure,
    environment,
    fmt_mib,
    markdown_table,
    operator_profile,
    results_name,
    run_child,
    seal_generated,
    self_maxrss_mib,
    summarise,
    write_child_report,
    write_results,
)

NAME = "survey_benchmark"
GENERATOR = 2  # bump when the generated data change
DEPARTEMENTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]
POINT_SQL = """
SELECT territory, year, sex, sum(weight * learner) / sum(weight) AS p
FROM survey GROUP BY territory, year, sex
"""
CELLS_SQL = """
SELECT count(*), sum(a), sum(ws), sum(n) FROM (
    SELECT territory, year, sex, stratum, psu,
           sum(weight * learner) AS a, sum(weight) AS ws, count(*) AS n
    FROM survey GROUP BY territory, year, sex, stratum, psu)
"""
BY = ("territory", "year", "sex")
STEPS = ("point", "survey", "cells")


def data_path(rows: int, communes: int) -> Path:
    return DATA / f"survey_{rows}_{communes}.duckdb"


def generate(path: Path, rows: int, communes: int, threads: int) -> None:
    """Deterministic pseudo-random microdata from hashes of the row number, in DuckDB SQL.

    Commune c is drawn uniformly; its département is c // per_dep, its code the département
    code and a three-digit number. PSU k in 0..5 is drawn within the commune and year, so
    PSU identifiers (commune-year-k) are unique and nested in the strata (year-département).
    The learner probability varies by commune, PSU (a cluster effect, so design effects
    exceed 1) and sex; weights vary by commune with a non-response factor per respondent.
    """
    per_dep = math.ceil(communes / len(DEPARTEMENTS))
    if per_dep > 999:
        raise SystemExit(f"too many communes for three-digit codes: {communes}")
    deps = "[" + ", ".join(f"'{d}'" for d in DEPARTEMENTS) + "]"
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    configure(con, threads)
    started = time.perf_counter()
    con.execute(f"""
        CREATE TABLE survey AS
        WITH draws AS (
            SELECT i,
                   CAST(hash(i * 16 + 1) % {communes} AS INTEGER) AS c,
                   2022 + CAST(hash(i * 16 + 2) % 2 AS INTEGER) AS year,
                   CAST(hash(i * 16 + 3) % 6 AS INTEGER) AS k,
                   CAST(hash(i * 16 + 4) % 2 AS INTEGER) AS female,
                   (hash(i * 16 + 5) % 1000) / 1000.0 AS nonresponse,
                   (hash(i * 16 + 6) % 1000000) / 1000000.0 AS u
            FROM range({rows}) AS t(i)
        ), coded AS (
            SELECT *,
                   {deps}[c // {per_dep} + 1] || lpad(CAST(c % {per_dep} + 1 AS VARCHAR), 3, '0')
                       AS territory,
                   {deps}[c // {per_dep} + 1] AS departement,
                   0.15 + 0.40 * (hash(c * 16 + 7) % 1000) / 1000.0
                       + 0.16 * ((hash(((c * 2 + year - 2022) * 8 + k) * 16 + 8) % 1000)
                                 / 1000.0 - 0.5)
                       + 0.03 * female AS p_learner
            FROM draws
        )
        SELECT lpad(CAST(i + 1 AS VARCHAR), 9, '0') AS respondent_id, year, territory,
               departement, year || '-' || departement AS stratum,
               territory || '-' || year || '-' || k AS psu,
               round((40 + (hash(c * 16 + 9) % 4000) / 10.0) * (0.8 + 0.4 * nonresponse), 3)
                   AS weight,
               CASE WHEN female = 1 THEN 'F' ELSE 'M' END AS sex,
               CAST(u < p_learner AS INTEGER) AS learner
        FROM coded
    """)
    seal_generated(con, tmp, path, GENERATOR, rows, communes)
    print(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s -> {path}")


def ensure_data(rows: int, communes: int, threads: int, regenerate: bool) -> Path:
    return cached_data(data_path(rows, communes), GENERATOR,
                       lambda path: generate(path, rows, communes, threads), regenerate)


def describe(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    row = con.execute("""
        SELECT count(*), count(DISTINCT territory), count(DISTINCT stratum),
               count(DISTINCT psu), sum(weight * learner) / sum(weight)
        FROM survey""").fetchone()
    domains = con.execute("SELECT count(*) FROM (SELECT DISTINCT territory, year, sex "
                          "FROM survey)").fetchone()[0]
    con.close()
    keys = ("rows", "territories", "strata", "psus", "overall_proportion")
    return {**dict(zip(keys, row, strict=True)), "domains": domains}


# --- child side --------------------------------------------------------------------------


def profile_child(args: argparse.Namespace) -> None:
    """survey_proportion once with DuckDB's profiler on: its costliest operators, and how
    much of the wall time the estimation query takes (the rest is Python)."""
    from indicators import survey_proportion
    from indicators.survey.estimators import SurveyDesign

    con = duckdb.connect(str(args.data), read_only=True)
    configure(con, args.threads, args.memory_limit, DATA / "tmp")
    out = DATA / "survey_profile.json"
    con.execute("SET enable_profiling = 'json'")
    con.execute(f"SET profiling_output = '{out}'")
    design = SurveyDesign(source="survey", weights="weight", strata="stratum", psu=("psu",))
    with Stopwatch() as watch:
        survey_proportion(con, design, "learner = 1", by=BY, ci="logit")
    con.execute("SET enable_profiling = 'no_output'")
    query = json.loads(out.read_text())["query"]  # the last query: the estimation query
    report = {**watch.as_dict(), "estimation_query_seconds": round(query["total_time"], 3),
              **operator_profile(out)}
    out.unlink()
    write_child_report(args.child_out, report)


def child(args: argparse.Namespace) -> None:
    """Run one step once and write its timing and memory report."""
    if args.child == "profile":
        profile_child(args)
        return
    if args.child == "survey":
        from indicators import survey_proportion
        from indicators.survey.estimators import SurveyDesign
    con = duckdb.connect(str(args.data), read_only=True)
    configure(con, args.threads, args.memory_limit, DATA / "tmp")
    baseline = self_maxrss_mib()
    with DuckDBPeak(con) as peak, Stopwatch() as watch:
        if args.child == "point":
            rows = con.execute(POINT_SQL).fetchall()
        elif args.child == "cells":
            rows = con.execute(CELLS_SQL).fetchall()
        else:
            design = SurveyDesign(source="survey", weights="weight", strata="stratum", psu=("psu",))
            result = survey_proportion(con, design, "learner = 1", by=BY, ci="logit")
    if args.child == "point":
        estimates = {(r[0], r[1], r[2]): r[3] for r in rows}
    elif args.child == "survey":
        estimates = {tuple(e.by[b] for b in BY): e.estimate for e in result}
    else:
        estimates = {}
    report = {**watch.as_dict(), "baseline_rss_mib": round(baseline, 1), **peak.as_dict()}
    if args.child == "cells":
        report["cells"] = rows[0][0]
    else:
        report["domains"] = len(estimates)
    if args.child == "survey":
        report["example"] = {k: v for k, v in result[0]._asdict().items() if k != "by"}
        report["example_by"] = result[0].by
    if args.dump:
        import pyarrow as pa

        report["dumped"] = True
        dump = duckdb.connect()
        keys = list(estimates)
        table = pa.table({"territory": [k[0] for k in keys], "year": [k[1] for k in keys],
                          "sex": [k[2] for k in keys], "p": [estimates[k] for k in keys]})
        dump.register("t", table)
        dump.execute(f"COPY (SELECT * FROM t) TO '{args.dump}' (FORMAT parquet)")
        dump.close()
    write_child_report(args.child_out, report)


# --- parent side -------------------------------------------------------------------------


def compare(point: Path, survey: Path) -> dict:
    con = duckdb.connect()
    row = con.execute(f"""
        SELECT count(*) FILTER (a.p IS NULL) AS only_survey,
               count(*) FILTER (b.p IS NULL) AS only_point,
               max(abs(a.p - b.p)) AS max_abs_diff,
               count(*) FILTER (abs(a.p - b.p) > 1e-9) AS over_1e9
        FROM '{point}' a FULL JOIN '{survey}' b USING (territory, year, sex)""").fetchone()
    con.close()
    keys = ("domains_only_in_survey", "domains_only_in_point", "max_abs_diff", "domains_over_1e-9")
    out = dict(zip(keys, row, strict=True))
    out["equal"] = out["domains_only_in_survey"] == 0 and out["domains_only_in_point"] == 0 \
        and out["domains_over_1e-9"] == 0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_SCALE, help="respondents")
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 1.5GB")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached data")
    parser.add_argument("--profile", action="store_true",
                        help="also run (b) once under DuckDB's profiler and report its costliest "
                             "operators")
    parser.add_argument("--child", choices=(*STEPS, "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return

    path = ensure_data(args.rows, args.communes, args.threads, args.regenerate)
    shape = describe(path)
    print(f"data: {shape}")
    common = ["--data", str(path), "--threads", str(args.threads)]
    if args.memory_limit:
        common += ["--memory-limit", args.memory_limit]
    dumps = {step: DATA / f"estimates_{step}.parquet" for step in ("point", "survey")}
    steps: dict[str, list[dict]] = {step: [] for step in STEPS}
    script = Path(__file__).resolve()
    dumped: set[str] = set()  # estimates are written by the first successful run of a step
    for rep in range(args.repeat):
        for step in steps:  # interleaved, so that both see the same machine state
            extra = ["--dump", str(dumps[step])] if step in dumps and step not in dumped else []
            run = run_child(script, ["--child", step, *common, *extra], step)
            steps[step].append(run)
            if run["ok"] and extra:
                dumped.add(step)
            print(f"  {step} run {rep + 1}: {run.get('seconds')} s, "
                  f"peak RSS {fmt_mib(run.get('peak_rss_mib'))}", flush=True)
    summary = {step: summarise(runs) for step, runs in steps.items()}
    profile = run_child(script, ["--child", "profile", *common], "profile") if args.profile \
        else None
    complete = dumped == set(dumps)
    check = compare(dumps["point"], dumps["survey"]) if complete else {"equal": None}
    ratio = summary["survey"]["median_s"] / summary["point"]["median_s"] if complete else None
    cpu_ratio = summary["survey"]["median_cpu_s"] / summary["point"]["median_cpu_s"] \
        if complete else None
    cells_ok = summary["cells"].get("median_s") is not None
    cells_ratio = summary["cells"]["median_s"] / summary["point"]["median_s"] \
        if complete and cells_ok else None
    results = {
        "benchmark": NAME,
        "environment": environment(args.threads),
        "settings": {"rows": args.rows, "communes": args.communes, "repeat": args.repeat,
                     "memory_limit": args.memory_limit or "default"},
        "data": shape,
        "steps": summary,
        "ratio_survey_to_point_median": round(ratio, 2) if ratio else None,
        "ratio_survey_to_point_median_cpu": round(cpu_ratio, 2) if cpu_ratio else None,
        "ratio_cells_to_point_median": round(cells_ratio, 2) if cells_ratio else None,
        "estimates_check": check,
        "profile": profile,
        "targets": {
            "ratio_at_most_3": ratio is not None and ratio <= 3,
            "peak_rss_under_2gb": summary["survey"].get("peak_rss_mib", math.inf) < 2000,
        },
    }
    out = write_results(results_name(NAME, args.rows, args.memory_limit), results)
    print()
    print(table(results))
    if profile and profile.get("ok"):
        print(f"\nprofile of (b): {profile['seconds']} s wall, of which the estimation query "
              f"{profile['estimation_query_seconds']} s ({profile['query_cpu_seconds']} s CPU); "
              f"costliest operators (CPU s, summed over threads):")
        for o in profile["top_operators"][:6]:
            print(f"  {o['cpu_seconds']:7.2f}  {o['operator']} in {o['cte']} "
                  f"{o.get('groups', o.get('conditions', o.get('table', '')))}")
    print(f"\nresults: {out}")


def table(results: dict) -> str:
    s = results["steps"]
    rows = []
    labels = {"point": "(a) point estimates, one GROUP BY",
              "survey": "(b) survey_proportion, logit CI",
              "cells": "(c) reference: bare GROUP BY into (domain, PSU) cells"}
    for step, label in labels.items():
        r = s[step]
        rows.append([label, f"{r.get('median_s', 'failed')} s", f"{r.get('best_s', '-')} s",
                     f"{r.get('median_cpu_s', '-')} s", fmt_mib(r.get("peak_rss_mib")),
                     fmt_mib(r.get("duckdb_peak_mib"))])
    rows.append(["ratio (b)/(a), medians", f"**{results['ratio_survey_to_point_median']}×**",
                 "", f"{results['ratio_survey_to_point_median_cpu']}×", "", ""])
    rows.append(["ratio (c)/(a), medians", f"{results['ratio_cells_to_point_median']}×",
                 "", "", "", ""])
    d = results["data"]
    caption = (f"{d['rows']:,} respondents, {d['territories']:,} territories, "
               f"{d['strata']} strata, {d['psus']:,} PSUs, {d['domains']:,} domains; "
               f"estimates equal to 1e-9: {results['estimates_check']['equal']}")
    return caption + "\n\n" + markdown_table(
        ["step", "median wall", "best wall", "median CPU", "peak RSS", "DuckDB peak"], rows)


if __name__ == "__main__":
    main(sys.argv[1:])
