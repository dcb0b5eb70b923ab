"""The one-way rules between packages and subpackages, read from every module's imports.

``indicators`` imports nothing of ours; ``reports`` imports ``indicators`` only; ``pipelines``
may import both. Inside ``indicators`` the two engines (``survey``, ``composite``) and the
catalogue and territories import nothing else of ``indicators``. Inside ``pipelines`` each
layer imports only the layers below it: problems (what users are told, as data), the project
file, then validating, reading, ingest, publishing, the run, and the command line on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("indicators", "pipelines", "reports")

# For each module prefix, the prefixes of ours it may import (a module may import itself).
ALLOWED: dict[str, tuple[str, ...]] = {
    "indicators.sql": (),
    "indicators.conditions": ("indicators.sql",),
    "indicators.survey": ("indicators.survey", "indicators.sql", "indicators.conditions"),
    "indicators.composite": ("indicators.composite", "indicators.sql"),
    "indicators.catalogue": ("indicators.catalogue", "indicators.sql", "indicators.conditions"),
    "indicators.territories": ("indicators.sql",),
    "indicators": ("indicators",),
    "reports": ("reports", "indicators"),
    "pipelines": (),  # a new module of pipelines must be given its layer here
    "pipelines.problems": (),
    "pipelines.calibration_messages": (),  # the survey engine's refusals, in French
    # its indicators:, territory levels, and the contracts they shape (which import no config)
    "pipelines.config": ("pipelines.problems", "indicators.catalogue", "indicators.territories",
                         "pipelines.validating.contracts", "indicators.compute.calibration"),
    "pipelines.validating.contracts": ("indicators.territories", "indicators.sql"),
    "pipelines.project_init": ("pipelines.config", "pipelines.reading", "pipelines.validating",
                               "pipelines.problems", "pipelines.warehouse", "indicators.sql"),
    "pipelines.warehouse": (),
    "pipelines.sample_data": ("pipelines.sample_data",),
    "pipelines.validating": ("pipelines.validating", "pipelines.config", "pipelines.problems",
                             "indicators.sql"),
    "pipelines.reading": ("pipelines.reading", "pipelines.validating", "pipelines.config",
                          "pipelines.problems", "pipelines.warehouse", "indicators.sql"),
    "pipelines.ingest": ("pipelines.reading", "pipelines.validating", "pipelines.config",
                         "pipelines.problems", "pipelines.warehouse", "indicators.sql"),
    # Publishing writes the year's publication (reports) and re-renders it in the audit.
    "pipelines.publishing": ("pipelines.publishing", "pipelines.ingest", "pipelines.reading",
                             "pipelines.validating", "pipelines.config", "pipelines.problems",
                             "pipelines.warehouse", "indicators", "reports"),
    "pipelines.run": ("pipelines.publishing", "pipelines.ingest", "pipelines.reading",
                      "pipelines.validating", "pipelines.config", "pipelines.problems",
                      "pipelines.warehouse", "pipelines.calibration_messages", "indicators",
                      "reports"),
    "pipelines.cli": ("pipelines", "indicators", "reports"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module of ours that a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in OURS}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule(module: str) -> tuple[str, tuple[str, ...]]:
    matches = [p for p in ALLOWED if _within(module, p)]
    assert matches, f"{module} is covered by no rule: add it to ALLOWED"
    prefix = max(matches, key=len)
    return prefix, ALLOWED[prefix]


MODULES = sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[_module_name(p) for p in MODULES])
def test_imports_follow_the_one_way_rules(path: Path):
    module = _module_name(path)
    prefix, allowed = _rule(module)
    wrong = sorted(name for name in _imports(path)
                   if not _within(name, prefix) and not any(_within(name, a) for a in allowed))
    assert not wrong, f"{module} may import only {allowed or 'nothing of ours'}, imports {wrong}"


def test_the_rules_catch_a_forbidden_import(tmp_path: Path):
    prefix, allowed = _rule("indicators.survey.variance")
    assert prefix == "indicators.survey"
    assert not any(_within("indicators.catalogue", a) for a in allowed)
    assert _rule("reports._tables")[1] == ("reports", "indicators")


def test_every_engine_module_is_in_a_subpackage():
    flat = sorted(p.name for p in (ROOT / "indicators").glob("_*.py") if p.name != "__init__.py")
    assert not flat, f"private modules left at the top of indicators/: {flat}"
