"""Calibrated survey estimates at scale: their cost against the same estimates uncalibrated.

The microdata of ``survey_benchmark`` (respondents in communes over two years, strata by
département x year, PSUs nested in communes), with an age band drawn per respondent, and a
population by département, year, sex and age band (the weighted counts times a factor drawn
per cell, so that calibration has something to correct). Three steps, each in its own
process with the same DuckDB settings:

* ``plain``: ``survey_proportion`` of ``learner = 1`` by département, year and sex, logit
  intervals, on the design weights: the baseline;
* ``calibrate``: ``calibrate`` by raking to the sex and age-band margins of each
  département and year (one scan of the rows, then iterations over the cells);
* ``calibrated``: the calibration, then the same proportions on the calibrated design
  (their variances on the calibration residuals);
* ``plain_communes`` and ``calibrated_communes``: the same two by commune, year and sex
  (140,000 domains), the calibration still by département: each commune is a small domain
  of its département's calibration, whose every unit has a residual in its variance.

Time and peak memory are reported as ratios to the uncalibrated step of the same domains,
measured in the same run.

Usage: ``.venv/bin/python benchmarks/calibration.py [--rows N] [--memory-limit 1GB]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import duckdb
from _common import (
    DATA,
    DuckDBPeak,
    Stopwatch,
    configure,
    environment,
    fmt_mib,
    markdown_table,
    results_name,
    run_child,
    self_maxrss_mib,
    summarise,
    write_child_report,
    write_results,
)
from survey_benchmark import ensure_data

NAME = "calibration"
BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-69"]
BY = ("departement", "year", "sex")
BY_COMMUNE = ("territory", "year", "sex")
STEPS = ("plain", "calibrate", "calibrated", "plain_communes", "calibrated_communes")
BASELINE = {"calibrate": "plain", "calibrated": "plain",
            "calibrated_communes": "plain_communes"}
# The survey with an age band per respondent, drawn from a hash of its identifier.
RESPONDENTS = ("SELECT *, ['18-24', '25-34', '35-44', '45-54', '55-64', '65-69']"
               "[CAST(hash(respondent_id || 'age') % 6 AS INTEGER) + 1] AS age_group "
               "FROM data.survey")
# A population by département, year, sex and age band: weighted counts times 0.8 to 1.2.
POPULATION = f"""
CREATE TEMP TABLE population AS
SELECT departement, year, sex, age_group,
       sum(weight) * (0.8 + 0.4 * (hash(departement || year || sex || age_group) % 1000)
                      / 1000.0) AS total
FROM ({RESPONDENTS}) GROUP BY departement, year, sex, age_group
"""


def child(args: argparse.Namespace) -> None:
    """Run one step once and write its timing and memory report."""
    from indicators.survey import SurveyDesign, survey_proportion
    from indicators.survey.calibration import Margin, calibrate

    con = duckdb.connect()
    configure(con, args.threads, args.memory_limit, DATA / "tmp")
    con.execute("ATTACH ? AS data (READ_ONLY)", [args.data])
    con.execute(POPULATION)
    design = SurveyDesign(source=RESPONDENTS, weights="weight", strata="stratum", psu=("psu",))
    baseline = self_maxrss_mib()
    report: dict = {}
    by = BY_COMMUNE if args.child.endswith("_communes") else BY
    with DuckDBPeak(con) as peak, Stopwatch() as watch:
        if args.child.startswith("plain"):
            result = survey_proportion(con, design, "learner = 1", by=by, ci="logit")
        else:
            margins = [Margin(("sex",), "population"), Margin(("age_group",), "population")]
            calibrated = calibrate(con, design, margins, by=("departement", "year"),
                                   calfun="raking")
            report["iterations"] = calibrated.calibration.iterations
            if args.child.startswith("calibrated"):
                result = survey_proportion(con, calibrated, "learner = 1", by=by, ci="logit")
    report |= {**watch.as_dict(), "baseline_rss_mib": round(baseline, 1), **peak.as_dict()}
    if args.child != "calibrate":
        report["domains"] = len(result)
        report["example"] = {k: v for k, v in result[0]._asdict().items() if k != "by"}
        report["example_by"] = result[0].by
    write_child_report(args.child_out, report)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="respondents")
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached data")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return

    path = ensure_data(args.rows, args.communes, args.threads, args.regenerate)
    common = ["--data", str(path), "--threads", str(args.threads),
              "--memory-limit", args.memory_limit]
    steps: dict[str, list[dict]] = {step: [] for step in STEPS}
    script = Path(__file__).resolve()
    for rep in range(args.repeat):
        for step in steps:  # interleaved, so that every step sees the same machine state
            run = run_child(script, ["--child", step, *common], step)
            steps[step].append(run)
            print(f"  {step} run {rep + 1}: {run.get('seconds')} s, "
                  f"peak RSS {fmt_mib(run.get('peak_rss_mib'))}", flush=True)
    summary = {step: summarise(runs) for step, runs in steps.items()}

    def ratio(step: str, key: str) -> float | None:
        got, ref = summary[step].get(key), summary[BASELINE[step]].get(key)
        return round(got / ref, 2) if got is not None and ref else None

    ratios = {step: {"time": ratio(step, "median_s"), "cpu": ratio(step, "median_cpu_s"),
                     "peak_rss": ratio(step, "peak_rss_mib")} for step in BASELINE}
    iterations = next((r.get("iterations") for r in steps["calibrate"] if r.get("ok")), None)
    results = {
        "benchmark": NAME,
        "environment": environment(args.threads),
        "settings": {"rows": args.rows, "communes": args.communes, "repeat": args.repeat,
                     "memory_limit": args.memory_limit, "calibration": "raking to sex and "
                     "age band by département and year",
                     "domains": "département x year x sex, then commune x year x sex"},
        "iterations": iterations,
        "steps": summary,
        "ratios_to_plain": ratios,
        "targets": {f"{step}_within_5x": (ratios[step]["time"] or math.inf) <= 5
                    for step in ("calibrated", "calibrated_communes")},
    }
    out = write_results(results_name(NAME, args.rows, None), results)
    print()
    print(table(results))
    print(f"\nresults: {out}")


def table(results: dict) -> str:
    s, r = results["steps"], results["ratios_to_plain"]
    labels = {"plain": "by département: survey_proportion, design weights (baseline)",
              "calibrate": "calibrate (raking, sex + age band, by département)",
              "calibrated": "by département: calibrate, then survey_proportion",
              "plain_communes": "by commune: survey_proportion, design weights (baseline)",
              "calibrated_communes": "by commune: calibrate, then survey_proportion"}
    rows = []
    for step, label in labels.items():
        x = s[step]
        ratios = r.get(step, {"time": 1.0, "peak_rss": 1.0})  # a baseline is 1×
        rows.append([label, f"{x.get('median_s', 'failed')} s", f"{ratios['time']}×",
                     fmt_mib(x.get("peak_rss_mib")), f"{ratios['peak_rss']}×",
                     fmt_mib(x.get("duckdb_peak_mib"))])
    settings = results["settings"]
    caption = (f"{settings['rows']:,} respondents, {settings['communes']:,} communes, "
               f"DuckDB memory limit {settings['memory_limit']}; raking converged in "
               f"{results['iterations']} iterations")
    return caption + "\n\n" + markdown_table(
        ["step", "median wall", "× plain", "peak RSS", "× plain", "DuckDB peak"], rows)


if __name__ == "__main__":
    main(sys.argv[1:])
