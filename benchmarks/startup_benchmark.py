"""Start-up of the command line: ``lci --help`` and ``lci indicators`` against bare Python.

Each command runs ``--repeat`` times (default 7) as a fresh process, the three commands
interleaved, after one unrecorded warm-up run of each (so that every run finds the files in
the page cache). Wall time is measured around the whole process (start, imports, work, exit);
CPU time is the child's user + system time from ``wait4``. Target: each command's median wall
time within 0.5 s of ``python -c pass``.

Usage: ``.venv/bin/python benchmarks/startup_benchmark.py [--repeat 7]``; the interpreter that
runs the script is the one measured, and ``lci`` is the script beside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import checkout, markdown_table, write_results

NAME = "startup_benchmark"
TARGET_S = 0.5


def commands() -> dict[str, list[str]]:
    lci = Path(sys.executable).with_name("lci")
    if not lci.exists():
        sys.exit(f"{lci} not found: install LCI in this environment (pip install -e .)")
    return {"python -c pass": [sys.executable, "-c", "pass"],
            "lci --help": [str(lci), "--help"],
            "lci indicators": [str(lci), "indicators"]}


def run_once(cmd: list[str]) -> dict[str, float]:
    """Wall and CPU seconds of one run of ``cmd``, its output discarded."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            stderr.seek(0)
            sys.exit(f"{' '.join(cmd)} failed (exit status {code}):\n"
                     f"{stderr.read().decode(errors='replace')}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    wall = [r["wall_s"] for r in runs]
    cpu = [r["cpu_s"] for r in runs]
    return {"median_s": round(statistics.median(wall), 3), "min_s": round(min(wall), 3),
            "max_s": round(max(wall), 3), "median_cpu_s": round(statistics.median(cpu), 3),
            "runs_s": [round(w, 4) for w in wall]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command")
    args = parser.parse_args()

    cmds = commands()
    for cmd in cmds.values():
        run_once(cmd)  # warm-up, not recorded
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cmds}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            runs[name].append(run_once(cmd))

    results = {name: summary(r) for name, r in runs.items()}
    bare = results["python -c pass"]["median_s"]
    for r in results.values():
        r["over_bare_python_s"] = round(r["median_s"] - bare, 3)
        r["within_target"] = r["over_bare_python_s"] <= TARGET_S
    report = {
        "environment": {
            "checkout": checkout(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d"),
            "load_before": round(load, 2),
        },
        "repeat": args.repeat,
        "target_over_bare_python_s": TARGET_S,
        "commands": {name: " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
                     for name, cmd in cmds.items()},
        "results": results,
    }
    path = write_results(NAME, report)

    rows = [[f"`{name}`", f"{r['median_s']:.3f} s", f"{r['min_s']:.3f} s",
             f"{r['max_s']:.3f} s", f"{r['median_cpu_s']:.3f} s",
             "" if name == "python -c pass" else f"+{r['over_bare_python_s']:.3f} s"]
            for name, r in results.items()]
    print(markdown_table(["command", "median wall", "min wall", "max wall", "median CPU",
                          "over bare Python (medians)"], rows))
    print(f"\n{args.repeat} runs of each; target: within {TARGET_S} s of bare Python. "
          f"Results: {path}")


if __name__ == "__main__":
    main()
