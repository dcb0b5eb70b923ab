"""Shared helpers of the benchmark scripts: child processes, memory, results.

Every measured step runs in its own child process so that its peak resident memory is its
own: ``/usr/bin/time -f %M`` reports the child's ``ru_maxrss`` (what ``RUSAGE_CHILDREN``
gives for that child alone). Inside the child a sampler
thread polls ``duckdb_memory()`` on a second cursor of the same database, which gives
DuckDB's own peak (buffer-managed memory and spilled temporary storage).
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
MIB = 1024 * 1024
TIME = "/usr/bin/time"


def configure(
    con: duckdb.DuckDBPyConnection,
    threads: int,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> None:
    """The same DuckDB settings for every measured step."""
    con.execute("SET threads = ?", [int(threads)])
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{temp_directory}'")


class DuckDBPeak:
    """Polls ``duckdb_memory()`` from a second cursor while the main thread works."""

    def __init__(self, con: duckdb.DuckDBPyConnection, interval: float = 0.05) -> None:
        self._cursor = con.cursor()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_memory = 0
        self.peak_temporary = 0

    def _sample(self) -> None:
        memory, temporary = self._cursor.execute(
            "SELECT coalesce(sum(memory_usage_bytes), 0), "
            "coalesce(sum(temporary_storage_bytes), 0) FROM duckdb_memory()"
        ).fetchone()
        self.peak_memory = max(self.peak_memory, int(memory))
        self.peak_temporary = max(self.peak_temporary, int(temporary))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> DuckDBPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._cursor.close()

    def as_dict(self) -> dict[str, float]:
        return {
            "duckdb_peak_mib": round(self.peak_memory / MIB, 1),
            "duckdb_peak_temp_mib": round(self.peak_temporary / MIB, 1),
        }


class StatementLog:
    """Stands in for a DuckDB connection: times every ``execute`` and DuckDB's peak memory
    during it, so that a function running many statements can be profiled step by step."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements: list[dict] = []

    def execute(self, sql: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        with DuckDBPeak(self._con) as peak, Stopwatch() as watch:
            if parameters is None:
                result = self._con.execute(sql)
            else:
                result = self._con.execute(sql, parameters)
        self.statements.append({**watch.as_dict(), **peak.as_dict(),
                                "sql": " ".join(sql.split())[:160]})
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)

    def top(self, n: int = 8) -> list[dict]:
        return sorted(self.statements, key=lambda s: -s["seconds"])[:n]


def operator_profile(path: Path, n: int = 10) -> dict:
    """The costliest operators of a query profiled with ``enable_profiling = 'json'``, each
    with the CTE it belongs to (operator CPU time summed over threads)."""
    import json as _json

    profile = _json.loads(path.read_text())
    found: list[dict] = []

    def walk(node: dict, cte: str) -> None:
        info = node.get("extra_info") or {}
        cte = info.get("CTE Name", cte) if isinstance(info, dict) else cte
        detail = {k: info[k] for k in ("Groups", "Conditions", "Table", "Join Type")
                  if isinstance(info, dict) and k in info}
        found.append({"operator": node.get("name") or node.get("operator_name"), "cte": cte,
                      "cpu_seconds": round(node.get("timing", 0.0), 2),
                      "rows": node.get("intermediate_rows", node.get("operator_cardinality")),
                      **{k.lower().replace(" ", "_"): str(v)[:120] for k, v in detail.items()}})
        for child in node.get("children", []):
            walk(child, cte)

    operators = profile.get("operator", [])
    for node in operators if isinstance(operators, list) else [operators]:
        walk(node, "(main)")
    system = profile.get("system", {})
    return {"query_cpu_seconds": round(profile.get("query", {}).get("cpu_time", 0.0), 2),
            "peak_buffer_mib": round(system.get("peak_buffer_memory", 0) / MIB, 1),
            "top_operators": sorted(found, key=lambda o: -o["cpu_seconds"])[:n]}


def self_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads: less sensitive to other load than wall."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident memory now (``/proc/self/statm``), cheap enough to sample."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


class Stopwatch:
    """Wall and CPU seconds of a block, and the load average when it started."""

    def __enter__(self) -> Stopwatch:
        self.load = os.getloadavg()[0]
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = cpu_seconds() - self._cpu

    def as_dict(self) -> dict[str, float]:
        return {"seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu, 3),
                "load_before": round(self.load, 2)}


def run_child(script: Path, args: Sequence[str], tag: str) -> dict:
    """Run ``script --child ...`` in a fresh process; its JSON report plus its peak RSS.

    The child is started by ``/usr/bin/time``, whose own small process forks it: a child
    forked straight from this process would inherit this process's high-water RSS in
    ``ru_maxrss`` (Linux keeps the pre-exec peak), so a large parent would mask it.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{script.stem}-{tag}.tmp"
    rss = RESULTS / f"{script.stem}-{tag}-rss.tmp"
    for path in (out, rss):
        path.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), *args, "--child-out", str(out)]
    if Path(TIME).exists():
        cmd = [TIME, "-f", "%M", "-o", str(rss), *cmd]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = int(rss.read_text().split()[-1]) if rss.exists() else usage.ru_maxrss
    rss.unlink(missing_ok=True)
    peak = round(peak_kib / 1024, 1)  # Linux reports KiB
    if proc.returncode != 0 or not out.exists():
        return {"ok": False, "exit_code": proc.returncode, "peak_rss_mib": peak}
    report = json.loads(out.read_text())
    out.unlink()
    report["ok"] = True
    report["peak_rss_mib"] = peak
    return report


def write_child_report(path: str, report: dict) -> None:
    Path(path).write_text(json.dumps(report))


def summarise(runs: list[dict]) -> dict:
    """Best and median wall time, and the highest peaks over the repetitions."""
    ok = [r for r in runs if r.get("ok")]
    if not ok:
        return {"ok": False, "runs": runs}
    seconds = [r["seconds"] for r in ok]
    cpu = [r.get("cpu_seconds", math.nan) for r in ok]
    summary = {
        "ok": len(ok) == len(runs),
        "best_s": round(min(seconds), 3),
        "median_s": round(statistics.median(seconds), 3),
        "best_cpu_s": round(min(cpu), 3),
        "median_cpu_s": round(statistics.median(cpu), 3),
        "runs": runs,
    }
    # Memory: the highest peak over the runs, leaving out a run that also wrote its results
    # out for the cross-check (that costs memory the step itself does not need).
    measured = [r for r in ok if not r.get("dumped")] or ok
    for key in ("peak_rss_mib", "duckdb_peak_mib", "duckdb_peak_temp_mib", "baseline_rss_mib"):
        if all(key in r for r in measured):
            summary[key] = max(r[key] for r in measured)
    return summary


def checkout() -> str:
    """The commit measured, marked ``+changes`` when the product code differs from it."""
    root = HERE.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "indicators",
                                "pipelines"], cwd=root, capture_output=True).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def environment(threads: int) -> dict:
    return {
        "checkout": checkout(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "threads": threads,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }


FULL_SCALE = 20_000_000


def results_name(name: str, rows: int, memory_limit: str | None) -> str:
    """The results file of a run: runs at other sizes never overwrite the full-scale ones."""
    suffix = "" if rows == FULL_SCALE else f"_{rows}_rows"
    if memory_limit:
        suffix += "_" + memory_limit.replace(".", "_")
    return name + suffix


def write_results(name: str, results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_mib(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1024:.2f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def cached_data(
    path: Path, generator: int, build: Callable[[Path], None], regenerate: bool
) -> Path:
    """``path`` when it holds data of this generator version and DuckDB, else built again."""
    if path.exists() and not regenerate:
        con = duckdb.connect(str(path), read_only=True)
        try:
            meta = con.execute("SELECT generator, duckdb FROM meta").fetchone()
        except duckdb.Error:
            meta = None
        con.close()
        if meta == (generator, duckdb.__version__):
            return path
    path.unlink(missing_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    build(path)
    return path


def seal_generated(
    con: duckdb.DuckDBPyConnection, partial: Path, path: Path, generator: int, rows: int,
    communes: int,
) -> None:
    """Record what made the data, then move the finished file into place."""
    con.execute(
        "CREATE TABLE meta AS SELECT ? AS generator, ? AS duckdb, ? AS rows, ? AS communes",
        [generator, duckdb.__version__, rows, communes],
    )
    con.close()
    partial.rename(path)
