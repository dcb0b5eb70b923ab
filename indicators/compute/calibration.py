"""Survey weights calibrated to the population by sex and age, for the survey indicators.

When a project asks for it (``calibration:`` in its project file), the pooled design of the
survey indicators is calibrated, within each territory (the respondents' base unit or a
chosen level) and year, to the population table's margins (sex, age group, or both
crossed), restricted to the age bands the survey covers. The pooled responses repeat each
respondent once per territory level: the base level's copy holds each respondent once and
is the one calibrated (``once``); every copy gets its weight, and a territory's variance
is that of the single sample calibrated by territory and year.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from indicators.sql import quote_ident
from indicators.survey import SurveyDesign
from indicators.survey.calibration import CalibrationError, Margin, calibrate
from indicators.territories import member_in_year

if TYPE_CHECKING:
    from indicators.compute.options import ComputeOptions

CALIBRATION_VARIABLES = ("sex", "age_group")
_TERRITORY = "territory"
_ONCE = "_cal_once"


@dataclass(frozen=True)
class CalibrationRules:
    """How the project calibrates its survey weights (see ``calibrated_design``).

    ``margins``: each a tuple of population columns (``("sex",)``, ``("age_group",)``, or
    ``("sex", "age_group")`` crossed); ``level``: the territory level whose territories have
    their own population (None: the respondents' base unit); ``age_bands``: the
    population's bands the survey covers; ``bounds``: lower and upper limits of g.
    """

    method: str = "raking"
    margins: tuple[tuple[str, ...], ...] = (("sex",), ("age_group",))
    level: str | None = None
    age_bands: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    epsilon: float = 1e-7
    maxit: int = 50


_CACHE: dict[tuple[int, SurveyDesign, CalibrationRules], SurveyDesign] = {}


def calibrated_design(con: duckdb.DuckDBPyConnection, design: SurveyDesign,
                      options: ComputeOptions) -> SurveyDesign:
    """``design`` (the pooled responses) with calibrated weights, or itself without rules.

    Calibrated once per connection: the indicators of a run share the calibrated design
    (and its tables, which live on ``con``).
    """
    rules = options.calibration
    if rules is None:
        return design
    key = (id(con), design, rules)
    cached = _CACHE.get(key)
    if cached is not None and _tables_exist(con, cached):
        return cached
    for variable in {v for m in rules.margins for v in m}:
        if variable not in CALIBRATION_VARIABLES:
            raise CalibrationError(f"calibration margin {variable!r} is not a population "
                                   f"column; margins are made of {CALIBRATION_VARIABLES}")
    if any("age_group" in m for m in rules.margins) and not options.age_bands:
        raise CalibrationError("an age_group margin needs a population with age bands")
    if any("sex" in m for m in rules.margins) and not options.population_sex:
        raise CalibrationError("a sex margin needs a population split by sex")
    members, population = _territories(con, rules, bool(options.age_bands))
    # The base level's copy of the pooled rows holds each respondent once.
    source = (f"SELECT _p.*, _m.territory AS {quote_ident(_TERRITORY)}, "
              f"(_p._level = _m.base AND _p._territory = _p.territory_code) AS "
              f"{quote_ident(_ONCE)} FROM ({design.source}) "
              f"AS _p JOIN {members} AS _m ON _m.commune_code = _p.territory_code "
              f"AND _m.year = _p.year")
    margins = [Margin(m, population) for m in rules.margins]
    result = calibrate(con, dataclasses.replace(design, source=source), margins,
                       by=(_TERRITORY, "year"), calfun=rules.method, bounds=rules.bounds,
                       epsilon=rules.epsilon, maxit=rules.maxit, once=_ONCE)
    _CACHE[key] = result
    return result


def _territories(con: duckdb.DuckDBPyConnection, rules: CalibrationRules,
                 has_ages: bool) -> tuple[str, str]:
    """Temporary tables: each respondent's calibration territory, and its population."""
    tag = f"_lci_calibration_{abs(hash((id(con), rules))):x}"
    members, population = quote_ident(f"{tag}_members"), quote_ident(f"{tag}_population")
    if rules.level is None:
        of_respondents = ("SELECT DISTINCT territory_code AS commune_code, year, "
                          "territory_code AS territory FROM survey_responses AS r")
        of_population = "SELECT p.*, p.territory_code AS territory FROM population AS p"
        params: dict[str, object] = {}
    else:
        of_respondents = (
            "SELECT DISTINCT r.territory_code AS commune_code, r.year, m.territory_code AS "
            "territory FROM survey_responses AS r JOIN territory_members AS m "
            "ON m.commune_code = r.territory_code AND m.territory_level = $level "
            f"AND {member_in_year('m', 'r.year')}")
        of_population = (
            "SELECT p.*, m.territory_code AS territory FROM population AS p "
            "JOIN territory_members AS m ON m.commune_code = p.territory_code "
            f"AND m.territory_level = $level AND {member_in_year('m', 'p.year')}")
        params = {"level": rules.level}
    base = "(SELECT level FROM territory_levels WHERE base)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {members} AS SELECT *, {base} AS base "
                f"FROM ({of_respondents})", params).fetchall()
    missing = con.execute(
        f"SELECT r.territory_code, r.year, count(*) FROM survey_responses AS r "
        f"ANTI JOIN {members} AS m ON m.commune_code = r.territory_code AND m.year = r.year "
        f"GROUP BY ALL ORDER BY 1, 2 LIMIT 1").fetchall()
    if missing:
        code, year, count = missing[0]
        raise CalibrationError(
            f"{count} respondents of {code!r} in {year} belong to no territory of level "
            f"{rules.level!r}: their weights cannot be calibrated")
    by_age = has_ages and bool(rules.age_bands)
    bands = "list_contains($bands, age_group)" if by_age else "TRUE"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {population} AS SELECT "
        f"p.territory AS {quote_ident(_TERRITORY)}, p.year, p.* EXCLUDE (territory, "
        f"territory_code, year), p.population AS total FROM ({of_population}) AS p "
        f"WHERE {bands}",
        {**params, **({"bands": list(rules.age_bands)} if by_age else {})},
    ).fetchall()
    return members, population


def _tables_exist(con: duckdb.DuckDBPyConnection, design: SurveyDesign) -> bool:
    cal = design.calibration
    if cal is None:
        return False
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ($a, $b, $c)",
                        {"a": cal.cells, "b": cal.terms, "c": cal.inverse}).fetchall()
    return found[0][0] == 3


def calibrated_weights(con: duckdb.DuckDBPyConnection, design: SurveyDesign,
                       options: ComputeOptions) -> str | None:
    """A temporary table of each respondent's calibrated weight (``year``,
    ``respondent_id``, ``weight``), for what lists respondents (``lci trace``); None
    without calibration."""
    calibrated = calibrated_design(con, design, options)
    if calibrated.calibration is None:
        return None
    table = quote_ident(f"{calibrated.calibration.cells}_weights")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT year, respondent_id, "
                f"{quote_ident(calibrated.weights)} AS weight FROM ({calibrated.source}) "
                f"WHERE {quote_ident(_ONCE)}").fetchall()
    return table
