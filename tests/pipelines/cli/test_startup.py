"""The command line starts at once: what ``lci --help`` and ``lci indicators`` import.

Wall time is never asserted (it depends on the machine; ``benchmarks/startup_benchmark.py``
measures it). What makes start-up slow is importing the heavy libraries, and that is checked
exactly: each case runs in a fresh interpreter, which then reports which of them are in
``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

ROOT = Path(__file__).resolve().parents[3]

# The data and statistics stack: none of it is needed to show help or list the catalogue.
HEAVY = ("scipy", "pandas", "pandera", "great_tables", "polars", "matplotlib", "duckdb",
         "numpy", "pyarrow", "xlsxwriter")
# The catalogue is YAML read into pydantic models, so ``lci indicators`` needs these two (and
# only these two) on top of what ``lci --help`` loads; ``lci --help`` needs neither. Typer itself
# checks the values of a command's parameters with pydantic: any command, even ``lci run
# --help``, loads pydantic (not YAML) before LCI's code runs.
CATALOGUE = ("pydantic", "yaml")
BY_TYPER = ["pydantic"]


def loaded_after(code: str) -> list[str]:
    """The modules of HEAVY + CATALOGUE imported once ``code`` has run in a new interpreter."""
    watched = HEAVY + CATALOGUE
    script = (f"{code}\nimport json, sys\n"
              f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def invoking(*args: str) -> str:
    """Code that runs ``lci ARGS`` through the app and checks that it succeeded."""
    return ("from typer.testing import CliRunner\n"
            "from pipelines.cli import app\n"
            f"result = CliRunner().invoke(app, {list(args)!r})\n"
            "assert result.exit_code == 0, result.output\n")


def test_importing_the_command_line_loads_no_heavy_library():
    assert loaded_after("import pipelines.cli") == []


def test_help_loads_no_heavy_library():
    assert loaded_after(invoking("--help")) == []


@pytest.mark.parametrize("command", ["run", "validate", "survey", "composite", "explain",
                                     "trace", "audit", "indicators", "sample-data"])
def test_the_help_of_a_command_loads_only_what_typer_needs(command: str):
    assert loaded_after(invoking(command, "--help")) == BY_TYPER


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_listing_the_catalogue_loads_pydantic_and_yaml_only(lang: str):
    assert loaded_after(invoking("indicators", "--lang", lang)) == list(CATALOGUE)


def test_importing_the_packages_loads_nothing_until_a_name_is_used():
    assert loaded_after("import indicators, reports") == []
    assert loaded_after("from reports import LANGS, Lang") == []
    assert loaded_after("from indicators import CatalogueError, load_catalogue") == \
        list(CATALOGUE)


def test_a_command_that_needs_an_engine_still_loads_it():
    assert "duckdb" in loaded_after("from indicators import survey_proportion")
    assert "scipy" in loaded_after("from indicators import build_composite")


def test_the_command_line_offers_the_languages_of_the_run():
    from pipelines.cli import commands
    from pipelines.run import Language

    assert get_args(commands.Language) == get_args(Language)


def test_the_public_names_of_indicators_still_import():
    import indicators
    from indicators import (
        SurveyDesign,
        build_composite,
        compute_indicator_values,
        load_catalogue,
        survey_proportion,
    )
    from indicators.catalogue.definitions import load_catalogue as from_catalogue
    from indicators.composite.build import build_composite as from_build
    from indicators.compute.registry import compute_indicator_values as from_registry
    from indicators.survey.estimators import SurveyDesign as Design
    from indicators.survey.estimators import survey_proportion as from_estimators

    assert load_catalogue is from_catalogue
    assert build_composite is from_build
    assert compute_indicator_values is from_registry
    assert survey_proportion is from_estimators
    assert SurveyDesign is Design
    assert all(getattr(indicators, name) is not None for name in indicators.__all__)
    assert indicators.survey.estimators.survey_proportion is survey_proportion
    with pytest.raises(AttributeError, match="no_such_name"):
        indicators.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", ["indicators", "reports"])
def test_dir_lists_every_public_name(package: str):
    module = __import__(package)
    assert set(module.__all__) <= set(dir(module))
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def _type_checking_imports(path: Path) -> dict[str, str]:
    """Name → module of the imports under ``if TYPE_CHECKING:`` in a package's __init__."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                found.update({a.asname or a.name: imp.module for a in imp.names})
    return found


@pytest.mark.parametrize("package", ["indicators", "reports"])
def test_type_checkers_see_the_names_the_package_resolves(package: str):
    """The TYPE_CHECKING imports, the lazy table and ``__all__`` name the same things."""
    module = __import__(package)
    declared = _type_checking_imports(ROOT / package / "__init__.py")
    assert declared == module._WHERE
    assert sorted(declared) == sorted(module.__all__)
