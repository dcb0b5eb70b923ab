"""Territory levels and membership: which base units (communes) make up each territory.

A project declares its levels (``TerritoryModel``): the French default is commune → EPCI →
département → région with INSEE code formats, but a city elsewhere has its own levels, codes
and labels. The first level is the *base unit* that survey and administrative records refer to;
every other level names, in the territories table, the column that holds a unit's parent code
at that level. A parent may be given on the base unit itself or on an intermediate territory
(a district naming its region): membership is the transitive closure, so any depth works.

A territory is identified by its level *and* its code (a région and a département may share a
code). Every indicator is computed for every territory through one table,
``territory_members`` (territory × member base unit), so aggregation is never an average of
rates: ratios sum their numerators and denominators over the members, survey estimates pool the
members' respondents, commuting indicators place both ends of each flow. A member counts only in
the years its code is valid (communes merge: Courcouronnes joined Évry-Courcouronnes in 2019).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

import duckdb
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from indicators.sql import quote_ident

GROUP_LEVEL = "GROUP"  # custom groupings (``territory_groups``), always after the levels
LEVEL_CODE = r"^[A-Z][A-Z0-9_]{0,15}$"
COLUMN_NAME = r"^[a-z][a-z0-9_]{0,62}$"
RESERVED_COLUMNS = ("territory_code", "level", "name", "valid_from", "valid_to",
                    "source_file", "source_row")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LevelLabel(_Frozen):
    """A level's heading in reports (plural: "Communes", "Districts"), in both languages."""

    en: str = Field(min_length=1, max_length=80)
    fr: str = Field(min_length=1, max_length=80)

    def __call__(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def _regular_expression(value: str) -> str:
    """A code format must compile (Python's ``re``; DuckDB's RE2 is checked at validation)."""
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return value


Pattern = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_regular_expression)]


class Level(_Frozen):
    """One territory level: its code in the ``level`` column, its labels, its code format."""

    code: str = Field(pattern=LEVEL_CODE, description="as written in the level column, e.g. COM")
    label: LevelLabel
    pattern: Pattern = Field(description="regular expression every code of the level matches")
    example: str | None = Field(default=None, max_length=40,
                                description="a valid code, shown in messages")
    column: str | None = Field(default=None, pattern=COLUMN_NAME,
                               description="territories column holding a unit's code at this "
                                           "level (default: <code in lower case>_code)")

    @model_validator(mode="after")
    def _example_matches(self) -> Level:
        if self.example is not None and not re.search(self.pattern, self.example):
            raise ValueError(f"example {self.example!r} does not match the pattern "
                             f"{self.pattern!r}")
        return self

    @property
    def parent_column(self) -> str:
        return self.column or f"{self.code.lower()}_code"

    def format_name(self, lang: str) -> str:
        """How messages describe the format: the example when given, else the pattern."""
        label = in_sentence(self.label(lang))
        if lang == "fr":
            return (f"un code de {label} (p. ex. {self.example})" if self.example
                    else f"un code de {label} (motif {self.pattern})")
        return (f"a code of the {label} level (e.g. {self.example})" if self.example
                else f"a code of the {label} level (pattern {self.pattern})")


def in_sentence(label: str) -> str:
    """A heading inside a sentence: "Communes" → "communes", "NUTS 3 regions" unchanged."""
    return label[0].lower() + label[1:] if label[1:2].islower() else label


class TerritoryModel(_Frozen):
    """The project's territory levels, base unit first."""

    levels: tuple[Level, ...] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _distinct(self) -> TerritoryModel:
        codes = [level.code for level in self.levels]
        if len(set(codes)) < len(codes):
            raise ValueError(f"level codes must differ; given {codes}")
        if GROUP_LEVEL in codes:
            raise ValueError(f"{GROUP_LEVEL} is the level of custom groups "
                             f"(territory_groups); choose another code")
        columns = [level.parent_column for level in self.levels[1:]]
        if len(set(columns)) < len(columns):
            raise ValueError(f"each level needs its own column; given {columns}")
        clash = sorted(set(columns) & set(RESERVED_COLUMNS))
        if clash:
            raise ValueError(f"columns {clash} are taken by the territories table itself")
        return self

    @property
    def base(self) -> Level:
        return self.levels[0]

    @property
    def parents(self) -> tuple[Level, ...]:
        return self.levels[1:]

    def level(self, code: str) -> Level:
        for level in self.levels:
            if level.code == code:
                return level
        raise KeyError(f"no territory level {code!r}; declared: {self.codes}")

    @property
    def codes(self) -> list[str]:
        return [level.code for level in self.levels]

    def order(self) -> list[str]:
        """Levels in the order reports show them, custom groups last."""
        return [*self.codes, GROUP_LEVEL]


COMMUNE_CODE = r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}$|^97[1-6]\d{2}$"

FRENCH_LEVELS = TerritoryModel(levels=(
    Level(code="COM", label=LevelLabel(en="Communes", fr="Communes"), pattern=COMMUNE_CODE,
          example="01053"),
    Level(code="EPCI", label=LevelLabel(en="EPCI", fr="EPCI"), pattern=r"^\d{9}$",
          example="200046977", column="epci_code"),
    Level(code="DEP", label=LevelLabel(en="Départements", fr="Départements"),
          pattern=r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])$", example="2A",
          column="departement_code"),
    Level(code="REG", label=LevelLabel(en="Régions", fr="Régions"), pattern=r"^\d{2}$",
          example="84", column="region_code"),
))
"""INSEE's levels: commune (COG), EPCI (SIREN), département, région."""

GROUP_LABEL = LevelLabel(en="Groups", fr="Groupes de territoires")


def membership_sql(model: TerritoryModel) -> tuple[str, dict[str, object]]:
    """SQL creating ``territory_members`` for ``model``, with its bound parameters.

    Edges go from a territory to each parent it names; the recursive closure from every base
    unit reaches all its ancestors (``UNION`` stops at a cycle). Column names come from the
    validated model and go through ``quote_ident``; level codes are bound.
    """
    parameters: dict[str, object] = {"base": model.base.code, "group": GROUP_LEVEL}
    edges = []
    for n, level in enumerate(model.parents):
        parameters[f"level{n}"] = level.code
        column = quote_ident(level.parent_column)
        edges.append(f"SELECT level AS child_level, territory_code AS child_code, "
                     f"$level{n} AS parent_level, {column} AS parent_code "
                     f"FROM territories WHERE {column} IS NOT NULL")
    edge_sql = " UNION ALL ".join(edges) or (
        "SELECT NULL::VARCHAR AS child_level, NULL::VARCHAR AS child_code, "
        "NULL::VARCHAR AS parent_level, NULL::VARCHAR AS parent_code WHERE FALSE")
    sql = f"""
CREATE OR REPLACE TABLE territory_members AS
WITH RECURSIVE edges AS ({edge_sql}),
base AS (SELECT territory_code, name, valid_from, valid_to FROM territories
         WHERE level = $base),
reach(commune_code, level, code) AS (
    SELECT territory_code, $base, territory_code FROM base
    UNION
    SELECT r.commune_code, e.parent_level, e.parent_code
    FROM reach r JOIN edges e ON e.child_level = r.level AND e.child_code = r.code)
SELECT t.territory_code, t.level AS territory_level, t.name AS territory_name,
       r.commune_code, b.valid_from, b.valid_to
FROM reach r JOIN territories t ON t.level = r.level AND t.territory_code = r.code
JOIN base b ON b.territory_code = r.commune_code
UNION ALL
SELECT g.group_code, $group, g.group_name_en, g.member_code, b.valid_from, b.valid_to
FROM territory_groups g JOIN base b ON b.territory_code = g.member_code
ORDER BY 2, 1, 4
"""
    return sql, parameters


def member_in_year(member: str, year: str) -> str:
    """SQL: the member base unit's code is valid in that year."""
    return (f"({member}.valid_from IS NULL OR {member}.valid_from <= {year}) AND "
            f"({member}.valid_to IS NULL OR {member}.valid_to >= {year})")


def build_membership(con: duckdb.DuckDBPyConnection,
                     model: TerritoryModel = FRENCH_LEVELS) -> None:
    """Create ``territory_members`` and ``territory_levels`` (order and labels of the levels,
    which reports read) from the ``territories`` and ``territory_groups`` tables."""
    sql, parameters = membership_sql(model)
    con.execute(sql, parameters)
    write_levels(con, model)


def write_levels(con: duckdb.DuckDBPyConnection, model: TerritoryModel) -> None:
    """``territory_levels``: one row per level (custom groups last), in report order."""
    rows = [(n, level.code, level.label.en, level.label.fr, n == 0)
            for n, level in enumerate(model.levels)]
    rows.append((len(rows), GROUP_LEVEL, GROUP_LABEL.en, GROUP_LABEL.fr, False))
    frame = pd.DataFrame(rows, columns=["ordinal", "level", "label_en", "label_fr", "base"])
    con.register("_territory_levels_frame", frame)
    try:
        con.execute("CREATE OR REPLACE TABLE territory_levels AS "
                    "SELECT * FROM _territory_levels_frame")
    finally:
        con.unregister("_territory_levels_frame")


def level_labels(con: duckdb.DuckDBPyConnection) -> Sequence[tuple[str, str, str]]:
    """(level, English label, French label) in report order; the French levels when the
    warehouse predates ``territory_levels``."""
    try:
        return con.execute("SELECT level, label_en, label_fr FROM territory_levels "
                           "ORDER BY ordinal").fetchall()
    except duckdb.CatalogException:
        return [*((lv.code, lv.label.en, lv.label.fr) for lv in FRENCH_LEVELS.levels),
                (GROUP_LEVEL, GROUP_LABEL.en, GROUP_LABEL.fr)]


class TerritoryReferenceError(ValueError):
    """A territory written as ``CODE`` or ``LEVEL:CODE`` that names none, or more than one."""


def split_reference(reference: str) -> tuple[str | None, str]:
    """``"REG:11"`` → ("REG", "11"); ``"34172"`` → (None, "34172")."""
    level, sep, code = reference.partition(":")
    if sep and re.match(LEVEL_CODE, level):
        return level, code
    return None, reference


def resolve_territory(con: duckdb.DuckDBPyConnection, reference: str) -> tuple[str, str]:
    """(level, code) of a territory of ``territory_members`` written ``CODE`` or
    ``LEVEL:CODE``; a bare code shared by two levels must name its level."""
    level, code = split_reference(reference)
    found = con.execute(
        "SELECT m.territory_level FROM territory_members m "
        "JOIN territory_levels l ON l.level = m.territory_level "
        "WHERE m.territory_code = $code AND ($level IS NULL OR m.territory_level = $level) "
        "GROUP BY m.territory_level ORDER BY min(l.ordinal)",
        {"code": code, "level": level}).fetchall()
    if len(found) == 1:
        return found[0][0], code
    if not found:
        where = f" at level {level}" if level else ""
        raise TerritoryReferenceError(f"no territory {code!r}{where} in the territories or "
                                      f"territory_groups tables")
    options = ", ".join(f"{row[0]}:{code}" for row in found)
    raise TerritoryReferenceError(f"territory code {code!r} is used by several levels; "
                                  f"write one of {options}")
