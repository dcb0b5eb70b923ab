"""LCI's core stages against the same work in plain pandas + pandera-pandas, side by side.

On a national project (``national_project.py``), two pipelines do the same work:

* **pandas**: ``pandas_pipeline.py`` — read every source with pandas, validate the five
  main tables with pandera-pandas (``lazy=True``, failing rows dropped and counted), LL01
  for every territory × year with its design-based SE, the ECO02 ratio of sums by EPCI;
* **LCI**: its own code — ``pipelines.ingest.ingest`` (read and validate every source into
  the warehouse) then ``compute_indicator_values`` for a catalogue of LL01 and ECO02 only.

LL01 is computed without its sex breakdown on both sides (a project's catalogue choice):
the domains are the territories of every level and the custom groups, by year. Each run is
a fresh process started by ``/usr/bin/time -v`` (wall, user + system CPU, peak RSS of the
whole process); inside it a thread samples the RSS every 0.05 s and each stage (read,
validate, LL01, ratio) records its wall, CPU and peak RSS. The pipelines alternate, run
after run, so that both see the same load. The first run of each writes its values and a
check compares them: LL01 estimates, SEs and counts, and the ratio, to 1e-9 relative, and
the rows each side dropped per table.

Results: ``benchmarks/results/core-comparison-<size>.json`` and ``.md``.

Usage: ``.venv/bin/python benchmarks/core_comparison.py --size 1M [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import (
    DATA,
    MIB,
    RESULTS,
    TIME,
    cpu_seconds,
    environment,
    fmt_mib,
    markdown_table,
    rss_bytes,
)

HERE = Path(__file__).resolve().parent
SIZES = ("10k", "1M", "5M", "20M")
STAGES = ("read", "validate", "LL01", "ratio")
SIDES = ("pandas", "lci")
INDICATORS = ("LL01", "ECO02")
TOLERANCE = 1e-9


# --- child side ---------------------------------------------------------------------------


class Stages:
    """Wall, CPU and peak RSS per named stage, summed over the calls of a stage; a thread
    samples the RSS and writes it to ``progress`` for the parent's memory guard."""

    def __init__(self, progress: Path | None, interval: float = 0.05) -> None:
        self.progress = progress
        self.interval = interval
        self.totals: dict[str, dict[str, float]] = {}
        self._open: list[dict[str, Any]] = []
        self._depth: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        written = 0.0
        while not self._stop.is_set():
            rss = rss_bytes()
            for span in list(self._open):
                span["peak"] = max(span["peak"], rss)
            now = time.perf_counter()
            if self.progress is not None and now - written > 1.0:
                tmp = self.progress.with_suffix(".tmp")
                tmp.write_text(json.dumps({"pid": os.getpid(), "rss_mib": rss / MIB,
                                           "open": [s["name"] for s in self._open]}))
                tmp.replace(self.progress)
                written = now
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Time a stage; a call nested in a call of the same stage counts once."""
        if self._depth.get(name):
            yield
            return
        self._depth[name] = 1
        span = {"name": name, "peak": rss_bytes(), "t0": time.perf_counter(), "cpu0": cpu_seconds()}
        self._open.append(span)
        try:
            yield
        finally:
            self._open.remove(span)
            self._depth[name] = 0
            total = self.totals.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0,
                                                  "peak_rss_mib": 0.0})
            total["wall_s"] += time.perf_counter() - span["t0"]
            total["cpu_s"] += cpu_seconds() - span["cpu0"]
            total["calls"] += 1
            total["peak_rss_mib"] = max(total["peak_rss_mib"],
                                        max(span["peak"], rss_bytes()) / MIB)

    def report(self) -> dict[str, dict[str, float]]:
        return {name: {k: round(v, 3) if isinstance(v, float) else v for k, v in t.items()}
                for name, t in self.totals.items()}


def _wrap(module: Any, attribute: str, stages: Stages, name: str) -> Callable[[], None]:
    """Time every call of ``module.attribute`` as stage ``name``; returns the undoing."""
    original = getattr(module, attribute)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with stages.span(name):
            return original(*args, **kwargs)

    setattr(module, attribute, timed)
    return lambda: setattr(module, attribute, original)


def lci_child(project: Path, work: Path, stages: Stages, dump: Path | None) -> dict:
    """LCI's ingest, then the values of LL01 and ECO02 alone, as ``lci run`` computes them."""
    with stages.span("imports"):
        import pipelines.ingest as ingesting
        from indicators.compute import admin_ratio, survey_proportion
        from pipelines.config import load_config
        from pipelines.run import effective_catalogue

        config = load_config(project)
        full = effective_catalogue(config)
        ll01 = full.get("LL01").model_copy(update={"breakdowns": ()})
        catalogue = full.model_copy(update={"indicators": (ll01, full.get("ECO02"))})
    undo = [_wrap(ingesting, "_stage", stages, "read"),
            _wrap(ingesting, "_validate", stages, "validate")]
    for module, name in ((survey_proportion, "LL01"), (admin_ratio, "ratio")):
        undo += [_wrap(module, "plan", stages, name), _wrap(module, "run", stages, name)]
    try:
        return _lci_stages(config, catalogue, work, stages, dump)
    finally:
        for restore in undo:
            restore()


def _lci_stages(config: Any, catalogue: Any, work: Path, stages: Stages,
                dump: Path | None) -> dict:
    import pipelines.ingest as ingesting
    from indicators.compute.registry import compute_indicator_values
    from pipelines.run import compute_options
    from pipelines.warehouse import connect

    settings: dict[str, str | int] = {}
    if config.database.memory_limit:
        settings["memory_limit"] = config.database.memory_limit
    if config.database.threads:
        settings["threads"] = config.database.threads
    con = connect(work / "warehouse.duckdb", settings=settings,
                  readable=[config.path_of(s).resolve() for s in config.sources],
                  writable=[work])
    with stages.span("ingest"):
        result = ingesting.ingest(con, config)
    with stages.span("indicators"):
        compute_indicator_values(con, catalogue, territory_model=config.territory_model,
                                 options=compute_options(config.validation.lonely_psu,
                                                         config.contracts))
    tables = {s.name: s.table for s in config.sources}
    quarantined: dict[str, int] = {}
    read: dict[str, int] = {}
    for outcome in result.outcomes:
        table = tables[outcome.source]
        quarantined[table] = quarantined.get(table, 0) + outcome.rows_quarantined
        read[table] = read.get(table, 0) + outcome.rows_read
    report = {"quarantined": quarantined, "rows_read": read,
              "errors": [str(e) for e in result.errors]}
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        con.execute("SELECT * FROM indicator_values WHERE list_contains(?, indicator_id)",
                    [list(INDICATORS)]).df().to_parquet(dump / "indicator_values.parquet")
        con.execute("SELECT * FROM _raw_values WHERE list_contains(?, indicator_id)",
                    [list(INDICATORS)]).df().to_parquet(dump / "raw_values.parquet")
        report["failures"] = {t: dict(n) for t, n in _failures(con).items()}
    con.close()
    return report


def _failures(con: Any) -> dict[str, list[tuple[str, int]]]:
    rows = con.execute("SELECT contract_table, check_id, count(DISTINCT row_number) "
                       "FROM quarantine GROUP BY ALL ORDER BY ALL").fetchall()
    out: dict[str, list[tuple[str, int]]] = {}
    for table, check, n in rows:
        out.setdefault(table, []).append((check, int(n)))
    return out


def pandas_child(project: Path, stages: Stages, dump: Path | None) -> dict:
    """The pandas pipeline, each of its stages timed."""
    with stages.span("imports"):
        import pandas_pipeline
    result = pandas_pipeline.run(project, stages.span)
    report = {"quarantined": result.quarantined, "rows_read": result.rows_read,
              "failures": result.failures}
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        assert result.ll01 is not None and result.ratio is not None
        result.ll01.to_parquet(dump / "ll01.parquet")
        result.ratio.to_parquet(dump / "ratio.parquet")
    return report


def child(args: argparse.Namespace) -> None:
    started, cpu0 = time.perf_counter(), cpu_seconds()
    stages = Stages(Path(args.progress) if args.progress else None)
    dump = Path(args.dump) if args.dump else None
    if args.child == "lci":
        report = lci_child(args.project, Path(args.work), stages, dump)
    else:
        report = pandas_child(args.project, stages, dump)
    stages.stop()
    report.update({"side": args.child, "stages": stages.report(),
                   "child_wall_s": round(time.perf_counter() - started, 3),
                   "child_cpu_s": round(cpu_seconds() - cpu0, 3)})
    Path(args.child_out).write_text(json.dumps(report, indent=1, default=str))


# --- the check ---------------------------------------------------------------------------


def _relative(a: Any, b: Any) -> Any:
    """|a - b| relative to the larger magnitude, 0 where both are equal (NaN included)."""
    import numpy as np

    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(a == b, 0.0, np.abs(a - b) / scale)
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))


def compare(pandas_dir: Path, lci_dir: Path, pandas_report: dict, lci_report: dict) -> dict:
    """The pandas pipeline's values against LCI's warehouse, and the rows each dropped."""
    import pandas as pd

    mine = pd.read_parquet(pandas_dir / "ll01.parquet")
    raw = pd.read_parquet(lci_dir / "raw_values.parquet")
    published = pd.read_parquet(lci_dir / "indicator_values.parquet")
    keys = ["territory_level", "territory_code", "year"]
    lci_ll01 = raw[(raw["indicator_id"] == "LL01") & (raw["breakdown"] == "total")]
    both = mine.merge(lci_ll01, on=keys, how="outer", indicator=True,
                      suffixes=("", "_lci"))
    matched = both[both["_merge"] == "both"]
    pub = published[(published["indicator_id"] == "LL01") & (published["breakdown"] == "total")]
    pub = mine.merge(pub[[*keys, "value", "se", "n_unweighted"]], on=keys,
                     suffixes=("", "_lci"))
    pub = pub[pub["value_lci"].notna()]
    ll01 = {
        "domains_pandas": len(mine), "domains_lci": len(lci_ll01),
        "only_pandas": int((both["_merge"] == "left_only").sum()),
        "only_lci": int((both["_merge"] == "right_only").sum()),
        "max_rel_estimate": float(_relative(matched["value"], matched["estimate"]).max()),
        "max_rel_se": float(_relative(matched["se"], matched["se_lci"]).max()),
        "max_rel_numerator": float(_relative(matched["numerator"],
                                             matched["numerator_lci"]).max()),
        "max_rel_denominator": float(_relative(matched["denominator"],
                                               matched["denominator_lci"]).max()),
        "n_differ": int((matched["n"] != matched["n_unweighted"]).sum()),
        "published": len(pub),
        "published_max_rel_value": float(_relative(pub["value"], pub["value_lci"]).max())
        if len(pub) else 0.0,
        "published_max_rel_se": float(_relative(pub["se"], pub["se_lci"]).max())
        if len(pub) else 0.0,
        "communes": int((matched["territory_level"] == "COM").sum()),
    }
    ratio_mine = pd.read_parquet(pandas_dir / "ratio.parquet")
    ratio_lci = published[(published["indicator_id"] == "ECO02")
                          & (published["territory_level"] == "EPCI")]
    r = ratio_mine.merge(ratio_lci, on=["territory_code", "year"], how="outer", indicator=True,
                         suffixes=("", "_lci"))
    with_values = r[r["value_lci"].notna() | r["value"].notna()]
    ratio = {
        "epci_years_pandas": len(ratio_mine), "epci_years_lci": len(ratio_lci),
        "with_value_only_one_side": int((with_values["_merge"] != "both").sum()),
        "max_rel_value": float(_relative(with_values["value"],
                                         with_values["value_lci"]).max()),
        "max_rel_numerator": float(_relative(with_values["numerator"],
                                             with_values["numerator_lci"]).max()),
        "max_rel_denominator": float(_relative(with_values["denominator"],
                                               with_values["denominator_lci"]).max()),
    }
    tables = sorted(set(pandas_report["quarantined"]))
    quarantine = {t: {"pandas": pandas_report["quarantined"][t],
                      "lci": lci_report["quarantined"].get(t)} for t in tables}
    agree = (ll01["only_pandas"] == ll01["only_lci"] == 0 and ll01["n_differ"] == 0
             and max(ll01["max_rel_estimate"], ll01["max_rel_se"],
                     ll01["published_max_rel_value"], ll01["published_max_rel_se"])
             <= TOLERANCE
             and ratio["with_value_only_one_side"] == 0 and ratio["max_rel_value"] <= TOLERANCE)
    return {"tolerance": TOLERANCE, "values_agree": bool(agree),
            "quarantine_agrees": all(q["pandas"] == q["lci"] for q in quarantine.values()),
            "ll01": ll01, "ratio": ratio, "quarantined": quarantine}


# --- parent side -------------------------------------------------------------------------


def _time_v(path: Path) -> dict[str, Any]:
    """Wall, CPU (user + system) and peak RSS of the whole child from ``/usr/bin/time -v``."""
    if not path.exists():
        return {}
    text = path.read_text()
    found = {key: re.search(pattern, text) for key, pattern in {
        "user": r"User time \(seconds\): ([\d.]+)", "sys": r"System time \(seconds\): ([\d.]+)",
        "rss": r"Maximum resident set size \(kbytes\): (\d+)",
        "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)"}.items()}
    out: dict[str, Any] = {}
    if found["user"] and found["sys"]:
        out["cpu_s"] = round(float(found["user"].group(1)) + float(found["sys"].group(1)), 2)
    if found["rss"]:
        out["peak_rss_mib"] = round(int(found["rss"].group(1)) / 1024, 1)
    if found["wall"]:
        parts = [float(p) for p in found["wall"].group(1).split(":")]
        out["wall_s"] = round(sum(p * 60 ** i for i, p in enumerate(reversed(parts))), 2)
    return out


def run_side(side: str, project: Path, work: Path, timeout: float, max_rss_gib: float,
             dump: Path | None) -> dict:
    """One run of one pipeline in a fresh process; stopped past the timeout or memory."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp_path = Path(tmp)
        out, timev, progress = (tmp_path / n for n in ("child.json", "time.txt", "progress"))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", side, "--project",
               str(project), "--work", str(tmp_path), "--child-out", str(out),
               "--progress", str(progress)]
        if dump is not None:
            cmd += ["--dump", str(dump)]
        if Path(TIME).exists():
            cmd = [TIME, "-v", "-o", str(timev), *cmd]
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        log = open(tmp_path / "child.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        reason, peak_seen = None, 0.0
        while proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(progress.read_text())
                peak_seen = max(peak_seen, state.get("rss_mib", 0.0))
            if time.perf_counter() - t0 > timeout:
                reason = f"timeout: {timeout:.0f} s"
            elif peak_seen > max_rss_gib * 1024:
                reason = f"memory: RSS over {max_rss_gib:g} GiB"
            if reason:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.5)
        log.close()
        whole = _time_v(timev)
        report: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            report = json.loads(out.read_text())
        tail = (tmp_path / "child.log").read_text(errors="replace").splitlines()[-8:]
    status = "completed" if report and proc.returncode == 0 else \
        ("did not finish" if reason else "failed")
    result = {"side": side, "status": status, "load_before": round(load, 2),
              "whole_process": whole, **report}
    if status != "completed":
        result.update({"reason": reason or f"exit status {proc.returncode}",
                       "rss_mib_seen": round(peak_seen, 1), "log_tail": tail})
    return result


def _ensure_project(size: str, project: Path, seed: int) -> dict:
    sys.path.insert(0, str(HERE))
    import national_project

    spec = national_project.SIZES[size]
    meta = national_project.existing(spec, project, seed)
    if meta is None:
        print(f"generating the {size} project in {project} …", flush=True)
        subprocess.run([sys.executable, str(HERE / "national_project.py"), "--size", size,
                        "--out", str(project), "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL)
        meta = national_project.existing(spec, project, seed)
    if meta is None:
        raise SystemExit(f"the generator wrote no project in {project}")
    return meta


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarise(runs: list[dict]) -> dict:
    """Per side: medians of whole-process wall, CPU, peak RSS and of each stage."""
    out: dict[str, Any] = {}
    for side in SIDES:
        ok = [r for r in runs if r["side"] == side and r["status"] == "completed"]
        summary: dict[str, Any] = {"completed": len(ok),
                                   "runs": sum(1 for r in runs if r["side"] == side)}
        for key in ("wall_s", "cpu_s", "peak_rss_mib"):
            summary[key] = _median([r["whole_process"][key] for r in ok
                                    if key in r["whole_process"]])
        summary["stages"] = {
            stage: {key: _median([r["stages"][stage][key] for r in ok
                                  if stage in r.get("stages", {})])
                    for key in ("wall_s", "cpu_s", "peak_rss_mib")}
            for stage in (*STAGES, "imports", "ingest", "indicators")}
        out[side] = summary
    ratios: dict[str, Any] = {}
    p, lci = out["pandas"], out["lci"]
    for key in ("wall_s", "cpu_s"):
        if p[key] and lci[key]:
            ratios[f"whole_{key}"] = round(p[key] / lci[key], 2)
        for stage in STAGES:
            a, b = p["stages"][stage][key], lci["stages"][stage][key]
            if a and b:
                ratios[f"{stage}_{key}"] = round(a / b, 2)
    # Ratios of the runs of the same round (same invocation, neighbouring in time).
    paired = []
    for n in sorted({r["round"] for r in runs}):
        pair = {r["side"]: r for r in runs if r["round"] == n and r["status"] == "completed"}
        if len(pair) == 2:
            paired.append({key: round(pair["pandas"]["whole_process"][key]
                                      / pair["lci"]["whole_process"][key], 2)
                           for key in ("wall_s", "cpu_s")})
    out["ratios_pandas_over_lci"] = ratios
    out["paired_ratios"] = paired
    return out


def _s(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"


def _x(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "–"


def table(results: dict) -> str:
    """Per stage and whole process: pandas, LCI and pandas ÷ LCI (medians)."""
    s = results["summary"]
    p, lci = s["pandas"], s["lci"]
    rows = []
    labels = {"read": "read (every source)", "validate": "validate (contracts, quarantine)",
              "LL01": "LL01 (every territory × year, with SE)",
              "ratio": "ECO02 ratio of sums (by EPCI; LCI: every level)"}
    for stage in STAGES:
        a, b = p["stages"][stage], lci["stages"][stage]
        rows.append([labels[stage], _s(a["wall_s"]), _s(b["wall_s"]),
                     _x(a["wall_s"], b["wall_s"]), _s(a["cpu_s"]), _s(b["cpu_s"]),
                     _x(a["cpu_s"], b["cpu_s"]), fmt_mib(a["peak_rss_mib"]),
                     fmt_mib(b["peak_rss_mib"])])
    rows.append(["**whole process** (`/usr/bin/time -v`, imports included)",
                 _s(p["wall_s"]), _s(lci["wall_s"]), _x(p["wall_s"], lci["wall_s"]),
                 _s(p["cpu_s"]), _s(lci["cpu_s"]), _x(p["cpu_s"], lci["cpu_s"]),
                 fmt_mib(p["peak_rss_mib"]), fmt_mib(lci["peak_rss_mib"])])
    env, project = results["environment"], results["project"]
    rows_in = project.get("rows") or {}
    check = results.get("check") or {}
    unfinished = [f"{r['side']} run {r['round']}: {r['status']} ({r.get('reason')})"
                  for r in results["runs"] if r["status"] != "completed"]
    caption = (
        f"Core stages, national project {results['size']} "
        f"({rows_in.get('survey_responses', 0):,} respondents, population "
        f"{rows_in.get('population', 0):,} rows, admin measures "
        f"{rows_in.get('admin_measures', 0):,}, commuting {rows_in.get('commuting', 0):,}): "
        f"pandas {env['pandas']} + pandera {env['pandera']} against LCI, medians of "
        f"{p['completed']} and {lci['completed']} runs, interleaved. Values agree "
        f"(1e-9): **{check.get('values_agree', 'not checked')}**; rows dropped agree: "
        f"**{check.get('quarantine_agrees', 'not checked')}**. Machine: {env['cpus']} cores, "
        f"{env['memory_gib']} GiB, DuckDB {env['duckdb']} ({env['threads']} threads), "
        f"Python {env['python']}, checkout {env['checkout']}, {env['date']}.")
    if unfinished:
        caption += " Did not finish: " + "; ".join(unfinished) + "."
    paired = s.get("paired_ratios") or []
    if paired:
        caption += (" Whole-process ratio pandas ÷ LCI per round (wall, CPU): "
                    + ", ".join(f"{r['wall_s']}× / {r['cpu_s']}×" for r in paired) + ".")
    headers = ["stage", "pandas wall", "LCI wall", "pandas ÷ LCI", "pandas CPU", "LCI CPU",
               "pandas ÷ LCI", "pandas peak RSS", "LCI peak RSS"]
    return caption + "\n\n" + markdown_table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="1M")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project", type=Path, help="lci.yaml of the project (default "
                        "benchmarks/data/national-<size>/lci.yaml)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds before a run is stopped and recorded as unfinished")
    parser.add_argument("--max-rss-gib", type=float, default=16.0,
                        help="resident memory (GiB) past which a run is stopped")
    parser.add_argument("--render", action="store_true",
                        help="only write the Markdown table again from the JSON results")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    name = f"core-comparison-{args.size}"
    if args.render:
        results = json.loads((RESULTS / f"{name}.json").read_text())
        (RESULTS / f"{name}.md").write_text(table(results) + "\n")
        print(table(results))
        return
    if args.project is None:
        meta = _ensure_project(args.size, DATA / f"national-{args.size}", args.seed)
        project = DATA / f"national-{args.size}" / "lci.yaml"
    else:
        project, meta = args.project, {}
    work = DATA / "core-comparison-work"
    work.mkdir(parents=True, exist_ok=True)
    dumps = {side: work / f"values-{side}" for side in SIDES}
    for path in dumps.values():
        shutil.rmtree(path, ignore_errors=True)
    runs: list[dict] = []
    for n in range(args.repeat):
        order = SIDES if n % 2 == 0 else SIDES[::-1]
        for side in order:
            print(f"run {n + 1}/{args.repeat}: {side} …", flush=True)
            run = run_side(side, project, work, args.timeout, args.max_rss_gib,
                           dumps[side] if n == 0 else None)
            run["round"] = n + 1
            run["dumped"] = n == 0
            runs.append(run)
            print(f"  {run['status']}: {run['whole_process']}", flush=True)
    first = {r["side"]: r for r in runs if r["round"] == 1 and r["status"] == "completed"}
    check = compare(dumps["pandas"], dumps["lci"], first["pandas"], first["lci"]) \
        if len(first) == 2 else None
    import pandas
    import pandera

    results = {
        "benchmark": name, "size": args.size,
        "environment": {**environment(2), "pandas": pandas.__version__,
                        "pandera": pandera.__version__, "timeout_s": args.timeout,
                        "max_rss_gib": args.max_rss_gib},
        "method": ("each run a fresh process under /usr/bin/time -v (wall, user + system "
                   "CPU, peak RSS); stages timed inside it (wall, getrusage CPU of all "
                   "threads, RSS sampled every 0.05 s); pandas and LCI alternate; the first "
                   "run of each writes its values for the check"),
        "project": {k: meta.get(k) for k in ("size", "seed", "shape", "rows")},
        "summary": summarise(runs), "check": check, "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = table(results)
    (RESULTS / f"{name}.md").write_text(text + "\n")
    print()
    print(text)
    print(json.dumps(check, indent=1))
    print(f"\nresults: {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
