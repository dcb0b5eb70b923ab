"""Survey design declaration and its validation against the data, in DuckDB SQL.

A design is declared the way R's ``svydesign`` declares it (strata, one or two stages of
clusters, finite population corrections, weights), so that estimates computed here can be
checked number for number against R's ``survey`` package. The checks of the data against
the design run inside the estimation query (``_survey_checks``): the rows never come back
to Python and valid data need no separate validation query over a large source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import duckdb

from indicators.conditions import ConditionError, check_expression, close_matches
from indicators.sql import quote_ident

LonelyPSU = Literal["fail", "adjust", "average", "certainty", "remove"]
_LONELY_OPTIONS = ("fail", "adjust", "average", "certainty", "remove")
_QUERY_START = re.compile(r"^\s*(\(|select\b|with\b|from\b|values\b)", re.IGNORECASE)
_NAME_PART = r'("([^"]|"")+"|[A-Za-z_][\w$]*)'
_QUALIFIED_NAME = re.compile(rf"^\s*{_NAME_PART}(\s*\.\s*{_NAME_PART})*\s*$")
_NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|"
    r"FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)$",
    re.IGNORECASE,
)
# R's onestrat() treats a stratum whose sampling fraction is this close to 1 as a census.
CERTAINTY_TOLERANCE = 1e-7


class SurveyDesignError(ValueError):
    """A design, variable or expression that cannot give a valid design-based estimate.

    A ValueError so callers that validate inputs generically still catch it; the message
    names the offending column, stratum or expression so the data can be fixed.
    """


class SurveyConditionError(SurveyDesignError, ConditionError):
    """A condition (``condition``, ``where``) refused before it reaches SQL.

    Both a SurveyDesignError, as every other refusal of the estimators, and the
    ConditionError of ``indicators.conditions``, with its French message (``french``).
    """


@dataclass(frozen=True)
class CalibrationTables:
    """What the variance of a calibrated design reads, as R keeps it in ``postStrata``.

    Temporary tables of the connection the calibration ran on (see
    ``indicators.survey.calibration``): ``cells`` (``_c``, the calibration factor ``g`` of
    each cell of calibration variables), ``terms`` (``_c``, ``_k``: the model-matrix
    columns equal to 1 in a cell) and ``inverse`` (``_k``, ``_k2``, ``v``: the inverse of
    sum(d * x * x') over the design weights d). ``cell_column`` names each row's cell in
    the calibrated source; ``once_column``, if any, the rows that count once per respondent
    when the source repeats them.
    """

    cells: str
    terms: str
    inverse: str
    cell_column: str
    iterations: int = 0
    once_column: str | None = None


@dataclass(frozen=True)
class SurveyDesign:
    """A complex sample design over a DuckDB table, view or SELECT query.

    Mirrors R's ``svydesign(id=, strata=, weights=, fpc=)``: ``psu`` lists the cluster
    columns of each stage (empty: every row is its own PSU), ``fpc`` gives per stage either
    population sizes (>1) or sampling fractions (<=1). Without ``weights`` the weights are
    implied by ``fpc`` (product over stages of N/n), or 1 without ``fpc``, as in R.
    ``lonely_psu`` is R's ``options(survey.lonely.psu=)`` for strata with a single PSU.
    ``calibration`` is set by ``indicators.survey.calibration.calibrate`` only: the weights
    are then calibrated ones and variances are taken on the calibration residuals.
    """

    source: str
    weights: str | None = None
    strata: str | None = None
    psu: tuple[str, ...] = ()
    fpc: tuple[str, ...] = ()
    lonely_psu: LonelyPSU = "fail"
    calibration: CalibrationTables | None = None

    def __post_init__(self) -> None:
        # A single column given as a string is the commonest slip; accept it.
        if isinstance(self.psu, str):
            object.__setattr__(self, "psu", (self.psu,))
        if isinstance(self.fpc, str):
            object.__setattr__(self, "fpc", (self.fpc,))
        object.__setattr__(self, "psu", tuple(self.psu))
        object.__setattr__(self, "fpc", tuple(self.fpc))
        if len(self.psu) > 2:
            raise SurveyDesignError(f"at most two sampling stages are supported: psu={self.psu}")
        stages = max(1, len(self.psu))
        if self.fpc and len(self.fpc) != stages:
            raise SurveyDesignError(
                f"fpc must give one column per sampling stage ({stages}), got fpc={self.fpc}"
            )
        if self.lonely_psu not in _LONELY_OPTIONS:
            raise SurveyDesignError(
                f"lonely_psu must be one of {_LONELY_OPTIONS}, got {self.lonely_psu!r}"
            )


@dataclass(frozen=True)
class DesignLayout:
    """A design resolved against the data: SQL expressions for each design role.

    ``second_stage`` is true only when two stages *and* their fpc are given: as in R,
    without fpc a multistage design is analysed by its first stage (ultimate clusters).
    ``fpc_is_fraction`` is None until the data have said whether fpc holds population
    sizes or sampling fractions; until then the SQL decides (see ``_survey_checks``).
    """

    design: SurveyDesign
    relation: str
    columns: dict[str, str]
    types: dict[str, str]
    stratum: str
    psu: str | None
    ssu: str | None
    weight: str
    fpc1: str | None
    fpc2: str | None
    implied_weights: bool
    second_stage: bool
    fpc_is_fraction: bool | None = None

    @property
    def lonely(self) -> str:
        return self.design.lonely_psu

    def row_columns(self) -> list[str]:
        """Design columns of the standard ``rows`` projection (all rows of the source)."""
        cols = [f"{self.stratum} AS _h"]
        if self.psu is not None:
            cols.append(f"{self.psu} AS _p")
        if self.ssu is not None:
            cols.append(f"{self.ssu} AS _s")
        cols.append(f"CAST({self.weight} AS DOUBLE) AS _w")
        if self.fpc1 is not None:
            cols.append(f"CAST({self.fpc1} AS DOUBLE) AS _f1")
        if self.fpc2 is not None and self.second_stage:
            cols.append(f"CAST({self.fpc2} AS DOUBLE) AS _f2")
        if self.design.calibration is not None:
            cell = column_sql(self.columns, self.design.calibration.cell_column, "calibration")
            cols.append(f"{cell} AS _c")
            if self.design.calibration.once_column is not None:
                once = column_sql(self.columns, self.design.calibration.once_column, "once")
                cols.append(f"CAST({once} AS BOOLEAN) AS _once")
        return cols


def resolve_source(
    con: duckdb.DuckDBPyConnection, source: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    """FROM-clause text for ``source``, its columns (lower-cased -> real name) and types."""
    if _QUERY_START.match(source):
        if len(duckdb.extract_statements(source)) != 1:
            raise SurveyDesignError(f"source must be a single SELECT query, got {source!r}")
        relation = f"({source.strip().rstrip(';')}) AS _src"
    elif _QUALIFIED_NAME.match(source):
        relation = source.strip()
    else:
        raise SurveyDesignError(f"source is neither a table name nor a SELECT query: {source!r}")
    try:
        cur = con.execute(f"SELECT * FROM {relation} LIMIT 0")
        description = cur.description
        cur.fetchall()  # leave no pending result on the caller's connection
    except duckdb.Error as exc:
        raise SurveyDesignError(f"cannot read source {source!r}: {exc}") from exc
    columns = {d[0].lower(): d[0] for d in description}
    return relation, columns, {d[0]: str(d[1]) for d in description}


def column_sql(columns: dict[str, str], name: str, role: str) -> str:
    """Quoted reference to an existing column; unknown columns are named in the error."""
    real = columns.get(name.lower())
    if real is None:
        known = sorted(columns.values())
        close = close_matches(name, known)
        maybe = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise SurveyDesignError(f"unknown {role} column {name!r}{maybe}; the source has {known}")
    return quote_ident(real)


def checked_expression(layout: DesignLayout, expr: str, role: str) -> str:
    """``expr`` as checked SQL over the source's columns (see ``indicators.conditions``).

    Parsed once per estimate, before any SQL runs: one expression, the source's columns,
    the allowed operators and functions; anything else is a ``SurveyConditionError``.
    """
    try:
        return check_expression(expr, layout.columns.values(), role=role)
    except ConditionError as error:
        raise SurveyConditionError(str(error), french=error.french, condition=error.condition,
                                   role=error.role, part=error.part) from None


def expression_type(con: duckdb.DuckDBPyConnection, relation: str, sql: str, expr: str,
                    role: str) -> str:
    """DuckDB type of checked SQL over the source, or an error quoting the expression."""
    try:
        description = con.execute(f"DESCRIBE SELECT ({sql}) AS _e FROM {relation} LIMIT 0"
                                  ).fetchall()
    except duckdb.Error as exc:
        raise SurveyDesignError(f"{role} {expr!r} is not a valid SQL expression: {exc}") from exc
    return str(description[0][1])


def check_boolean(con: duckdb.DuckDBPyConnection, layout: DesignLayout, expr: str,
                  role: str) -> str:
    """Parenthesised boolean expression, checked; non-boolean results are rejected, not
    coerced."""
    sql = checked_expression(layout, expr, role)
    kind = expression_type(con, layout.relation, sql, expr, role)
    if kind.upper() not in ("BOOLEAN", '"NULL"', "NULL"):
        raise SurveyDesignError(f"{role} {expr!r} must be a boolean expression, it gives {kind}")
    return f"({sql})"


def check_numeric(layout: DesignLayout, name: str) -> str:
    """A numeric (or boolean) column reference; text columns cannot be averaged."""
    sql = column_sql(layout.columns, name, "variable")
    kind = layout.types[layout.columns[name.lower()]]
    if not _NUMERIC_TYPES.match(kind):
        raise SurveyDesignError(f"variable {name!r} must be numeric, it is {kind}")
    return sql


def resolve(con: duckdb.DuckDBPyConnection, design: SurveyDesign) -> DesignLayout:
    """Lay out the design's SQL; unknown columns are errors here, bad data in the query."""
    relation, columns, types = resolve_source(con, design.source)
    weight = column_sql(columns, design.weights, "weights") if design.weights else None
    stratum = column_sql(columns, design.strata, "strata") if design.strata else None
    psus = [column_sql(columns, c, "psu") for c in design.psu]
    fpcs = [column_sql(columns, c, "fpc") for c in design.fpc]
    second_stage = len(psus) == 2 and len(fpcs) == 2
    if design.calibration is not None and not psus:
        raise SurveyDesignError(
            "a calibrated design needs its sampling units: without clusters, give a "
            "respondent identifier as psu (the same design as R's id = ~1)")
    return DesignLayout(
        design=design,
        relation=relation,
        columns=columns,
        types=types,
        stratum=stratum or "1",
        psu=psus[0] if psus else None,
        ssu=psus[1] if second_stage else None,
        weight=weight or "1.0",
        fpc1=fpcs[0] if fpcs else None,
        fpc2=fpcs[1] if second_stage else None,
        implied_weights=weight is None and bool(fpcs),
        second_stage=second_stage,
    )
