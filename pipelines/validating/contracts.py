"""Contract schemas: one Pandera schema per warehouse table, each column described.

The schemas are the single statement of what a valid table is, for one project: its territory
levels (code formats, parent columns), its population's detail and its survey items shape them
(``build_contracts``; ``SCHEMAS`` are a French project's with the defaults). ``checks.py``
compiles their checks to DuckDB SQL so that large tables are checked where they live, row by
row, with the row number of the source file; ``Contracts.relations`` adds the checks that need
another table, and ``row_rules`` those whose values depend on the row (a code's level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandera.polars as pa
import polars as pl

from indicators.sql import quote_ident
from indicators.territories import COMMUNE_CODE, FRENCH_LEVELS, TerritoryModel, in_sentence

OUTSIDE_AREA = "99999"
FLOW_END_CODE = rf"{COMMUNE_CODE}|^{OUTSIDE_AREA}$"
YEARS = pa.Check.in_range(1990, 2100)
SURVEY_AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-69"]
AGE_GROUPS = ["00-14", "15-17", *SURVEY_AGE_GROUPS, "70+"]

# Every contract table ends with the record's lineage: the file it came from (as the project
# file names it) and its row there, as a spreadsheet user numbers rows.
LINEAGE_COLUMNS = ("source_file", "source_row")

def _text(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Utf8, list(checks), nullable=nullable, description=description)


def _integer(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Int64, list(checks), nullable=nullable, description=description)


def _number(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Float64, list(checks), nullable=nullable, description=description)



@dataclass(frozen=True)
class SurveyItem:
    """A survey column the project declares: its allowed codes or range, its missing codes."""

    name: str
    description: str
    codes: tuple[int | str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    required: bool = False
    missing: tuple[str, ...] = ()

    def column(self) -> pa.Column:
        checks: list[pa.Check] = []
        if self.codes is not None:
            checks.append(pa.Check.isin(list(self.codes)))
        if self.minimum is not None and self.maximum is not None:
            checks.append(pa.Check.in_range(self.minimum, self.maximum))
        elif self.minimum is not None:
            checks.append(pa.Check.ge(self.minimum))
        elif self.maximum is not None:
            checks.append(pa.Check.le(self.maximum))
        text = self.codes is not None and any(isinstance(c, str) for c in self.codes)
        dtype = pl.Utf8 if text else (pl.Int64 if self.integer else pl.Float64)
        described = self.description + ("" if self.required else " (empty = no answer)")
        return pa.Column(dtype, checks, nullable=not self.required, description=described,
                         metadata={"missing_codes": list(self.missing)} if self.missing
                         else None)


def _binary(name: str, description: str) -> SurveyItem:
    return SurveyItem(name, f"{description} (1 yes, 0 no)", codes=(0, 1))


AES_ITEMS: tuple[SurveyItem, ...] = (
    SurveyItem("sex", "F or M", codes=("F", "M"), required=True),
    SurveyItem("age", "age in completed years", minimum=18, maximum=69, required=True),
    SurveyItem("age_group", "age band", codes=tuple(SURVEY_AGE_GROUPS), required=True),
    SurveyItem("isced_level", "highest ISCED 2011 level attained", minimum=0, maximum=8,
               required=True),
    SurveyItem("labour_status", "labour status",
               codes=("employed", "unemployed", "student", "retired", "inactive"),
               required=True),
    _binary("formal_12m", "formal education or training in the last 12 months"),
    _binary("nonformal_12m", "non-formal learning (guided on-the-job training excluded)"),
    _binary("guided_ojt_12m", "guided on-the-job training in the last 12 months"),
    _binary("informal_12m", "informal learning in the last 12 months"),
    _binary("digital_basic", "at least basic digital skills"),
    _binary("volunteering_12m", "volunteering in the last 12 months"),
    _binary("library_12m", "library use in the last 12 months"),
    _binary("env_learning_12m", "learning about the environment or climate"),
    _binary("workshop_12m", "hands-on workshop (fablab, repair café)"),
    _binary("intends_to_train", "intends to train in the next 12 months"),
    _binary("unmet_demand", "wanted (more) training but did not take part"),
)
"""The EU Adult Education Survey items of the built-in catalogue (the default)."""

SURVEY_DESIGN_COLUMNS = ("respondent_id", "year", "territory_code", "stratum", "psu", "weight")


def code_format(pattern: str, en: str, fr: str) -> pa.Check:
    """A code-format check that messages name in words (``title`` English, ``description``
    French) rather than by its regular expression."""
    return pa.Check.str_matches(pattern, title=en, description=fr)


@dataclass(frozen=True)
class RowRule:
    """A check on one row that needs bound values (e.g. a code's format depends on its
    level): ``failing`` is SQL over the row's typed columns, true for a failing row."""

    check_id: str
    table: str
    column: str
    en: str
    fr: str
    failing: str
    parameters: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Contracts:
    """The contract tables of one project: its territory levels, population detail and survey
    items decide their columns and checks."""

    schemas: dict[str, pa.DataFrameSchema]
    territory_model: TerritoryModel
    row_rules: tuple[RowRule, ...]
    age_bands: tuple[str, ...] | None
    sex: bool

    def relations(self, tolerance: float, lonely_psu: str) -> tuple[Relation, ...]:
        base = self.territory_model.base
        name = (("a commune", "une commune") if base.code == "COM" else
                (f"a territory of level {base.code} ({in_sentence(base.label.en)})",
                 f"un territoire de niveau {base.code} ({in_sentence(base.label.fr)})"))
        return (*relations(tolerance, lonely_psu, base.code, name),
                *(_known_parent(level.parent_column, level.code, level.label.en,
                                level.label.fr) for level in self.territory_model.parents))



def _base_code(model: TerritoryModel) -> tuple[str, str, str]:
    base = model.base
    if base.pattern == COMMUNE_CODE:
        return COMMUNE_CODE, *PATTERN_NAMES[COMMUNE_CODE]
    return base.pattern, base.format_name("en"), base.format_name("fr")


@lru_cache(maxsize=32)
def build_contracts(model: TerritoryModel = FRENCH_LEVELS,
                    age_bands: tuple[str, ...] | None = tuple(AGE_GROUPS), sex: bool = True,
                    items: tuple[SurveyItem, ...] = AES_ITEMS) -> Contracts:
    """Every contract table for a project's territory levels, population detail and items."""
    pattern, base_en, base_fr = _base_code(model)
    base = code_format(pattern, base_en, base_fr)
    base_label = model.base.label.en.lower()
    flow = code_format(rf"{pattern}|^{OUTSIDE_AREA}$",
                       f"{base_en}, or {OUTSIDE_AREA} for outside the study area",
                       f"{base_fr}, ou {OUTSIDE_AREA} hors de la zone d'étude")
    levels = model.codes
    parent_columns = {
        level.parent_column: _text(
            f"code of the unit's {level.label.en} ({level.code})",
            code_format(level.pattern, *_parent_names(level)), nullable=True)
        for level in model.parents}
    territories = pa.DataFrameSchema(
        {
            # its format depends on its level: checked by the row rule ``level_format``
            "territory_code": _text("code of the territory at its level"),
            "level": _text(", ".join(levels), pa.Check.isin(levels)),
            "name": _text("official name"),
            **parent_columns,
            "valid_from": _integer("first year the code is valid", YEARS, nullable=True),
            "valid_to": _integer("last year the code is valid", YEARS, nullable=True),
        },
        unique=["level", "territory_code"],
        name="territories",
        description="Territories with their level, code and parents (a territory is its level "
                    "and its code: levels may share codes)",
    )
    groups = pa.DataFrameSchema(
        {
            "group_code": _text("code of a custom grouping",
                                pa.Check.str_matches(r"^[A-Z0-9-]+$")),
            "group_name_en": _text("name in English"),
            "group_name_fr": _text("name in French"),
            "member_code": _text(f"member ({base_label})", base),
        },
        unique=["group_code", "member_code"],
        name="territory_groups",
        description=f"Custom groupings of {base_label} (e.g. Pays de Vannes)",
    )
    population_key = ["territory_code", "year", *(["sex"] if sex else []),
                      *(["age_group"] if age_bands else [])]
    population = pa.DataFrameSchema(
        {
            "territory_code": _text(f"{base_label} code", base),
            "year": _integer("reference year", YEARS),
            "sex": _text("F or M", pa.Check.isin(["F", "M"])) if sex else
            _text("not used: the project's population has no sex split", nullable=True),
            "age_group": _text("age band", pa.Check.isin(list(age_bands))) if age_bands else
            _text("not used: the project's population has no age bands", nullable=True),
            "population": _number("residents", pa.Check.ge(0)),
        },
        unique=population_key,
        name="population",
        description="Residents by base unit, year" + (", sex" if sex else "")
                    + (" and age band" if age_bands else "") + ": denominators",
    )
    totals = pa.DataFrameSchema(
        {
            "territory_code": _text(f"{base_label} code", base),
            "year": _integer("reference year", YEARS),
            "population": _number("total residents (legal population)", pa.Check.ge(0)),
        },
        unique=["territory_code", "year"],
        name="population_totals",
        description="Total residents by base unit and year: per-inhabitant denominators, and "
                    "the totals the detail is checked against",
    )
    design = {
        "respondent_id": _text("respondent identifier, unique within a year"),
        "year": _integer("survey year", YEARS),
        "territory_code": _text(f"{base_label} of residence", base),
        "stratum": _text("sampling stratum"),
        "psu": _text("primary sampling unit, unique within its stratum"),
        "weight": _number("sampling weight", pa.Check.gt(0)),
    }
    survey = pa.DataFrameSchema(
        {**design, **{item.name: item.column() for item in items}},
        unique=["year", "respondent_id"],
        name="survey_responses",
        description="Survey microdata with its sampling design and the project's items",
    )
    admin = pa.DataFrameSchema(
        {
            "territory_code": _text(f"{base_label} code", base),
            "year": _integer("reference year", YEARS),
            "measure_id": _text("measure from the codebook"),
            "value": _number("value in the codebook's unit", pa.Check.ge(0)),
            "source": _text("producing office", nullable=True),
        },
        unique=["territory_code", "year", "measure_id"],
        name="admin_measures",
        description="Administrative measures by base unit and year",
    )
    commuting = pa.DataFrameSchema(
        {
            "year": _integer("census reference year", YEARS),
            "residence_code": _text(
                f"{base_label} of residence ({OUTSIDE_AREA} = outside the study area)", flow),
            "workplace_code": _text(
                f"{base_label} of work ({OUTSIDE_AREA} = outside the study area)", flow),
            "qualification": _text(
                "skill level of the job", pa.Check.isin(["managerial", "intermediate", "other"])
            ),
            "workers": _number("weighted count of employed people (IPONDI)", pa.Check.ge(0)),
        },
        unique=["year", "residence_code", "workplace_code", "qualification"],
        name="commuting",
        description="Home-work flows by residence, workplace and job skill level (MOBPRO model)",
    )
    schemas = {s.name: s for s in (territories, groups, ADMIN_CODEBOOK, population, totals,
                                   survey, admin, commuting)}
    return Contracts(schemas, model, (_level_format_rule(model),), age_bands, sex)


def _parent_names(level) -> tuple[str, str]:
    if level.code in PATTERN_LEVEL_NAMES and level.pattern == PATTERN_LEVEL_NAMES[level.code][0]:
        return PATTERN_LEVEL_NAMES[level.code][1]
    return level.format_name("en"), level.format_name("fr")


def _level_format_rule(model: TerritoryModel) -> RowRule:
    """A territory's code matches the format of its own level (bound patterns)."""
    parameters: dict[str, object] = {}
    cases = []
    for n, level in enumerate(model.levels):
        parameters[f"lf_level{n}"] = level.code
        parameters[f"lf_pattern{n}"] = level.pattern
        cases.append(f"WHEN $lf_level{n} THEN $lf_pattern{n}")
    shown = "; ".join(f"{lv.code}: {lv.example or lv.pattern}" for lv in model.levels)
    return RowRule(
        "territories.territory_code.level_format", "territories", "territory_code",
        f"must be a code in the format of its level ({shown})",
        f"doit être un code au format de son niveau ({shown})",
        f'"territory_code" IS NOT NULL AND "level" IS NOT NULL AND NOT coalesce('
        f'regexp_matches("territory_code", CASE "level" {" ".join(cases)} END), TRUE)',
        parameters)


ADMIN_CODEBOOK = pa.DataFrameSchema(
    {
        "measure_id": _text("measure identifier", pa.Check.str_matches(r"^[a-z][a-z0-9_]*$")),
        "label_en": _text("label in English"),
        "label_fr": _text("label in French"),
        "unit": _text("unit of the value"),
        "min_value": _number("smallest allowed value"),
        "max_value": _number("largest allowed value"),
        "description_en": _text("what is counted", nullable=True),
    },
    unique=["measure_id"],
    name="admin_codebook",
    description="Codebook of administrative measures with labels, unit and allowed range",
)


@dataclass(frozen=True)
class Relation:
    """A check that needs more than one value: the SQL is true for a valid row ``t`` of the
    table being validated (``_typed`` holds all its rows, ``_kept`` those that pass every
    non-final check; other contract tables are loaded). Values in the SQL are ``$names``
    bound from ``parameters``."""

    check_id: str
    table: str
    column: str
    en: str
    fr: str
    sql: str
    severity: str = "error"
    final: bool = False  # judged on the rows that pass every other check (``_kept``)
    parameters: dict[str, object] = field(default_factory=dict)


_KNOWN_BASE = (
    "EXISTS (SELECT 1 FROM territories r WHERE r.territory_code = t.{col} "
    "AND r.level = $base_level "
    "AND (r.valid_from IS NULL OR r.valid_from <= t.year) "
    "AND (r.valid_to IS NULL OR r.valid_to >= t.year))"
)


def _known_commune(table: str, column: str, base_level: str, base_name: tuple[str, str],
                   outside_allowed: bool = False) -> Relation:
    sql = _KNOWN_BASE.format(col=column)
    parameters: dict[str, object] = {"base_level": base_level}
    if outside_allowed:
        sql = f"(t.{column} = $outside_area OR {sql})"
        parameters["outside_area"] = OUTSIDE_AREA
    return Relation(f"{table}.{column}.known_commune", table, column,
                    f"must be {base_name[0]} of the territories table, valid that year",
                    f"doit être {base_name[1]} de la table des territoires, valide cette "
                    f"année-là",
                    sql, parameters=parameters)


def _known_parent(column: str, level: str, label_en: str, label_fr: str) -> Relation:
    """A parent code names a territory of its level in the table; otherwise its units do not
    count in any territory of that level, which is said (a warning: the row is kept)."""
    name = quote_ident(column)  # a column of the project's validated territory model
    return Relation(f"territories.{column}.known_parent", "territories", column,
                    f"names no territory of level {level} ({in_sentence(label_en)}) in the "
                    f"territories table: this territory counts in none of that level",
                    f"ne désigne aucun territoire de niveau {level} ({in_sentence(label_fr)}) "
                    f"de la table des territoires : ce territoire ne compte dans aucun de ce "
                    f"niveau",
                    f"EXISTS (SELECT 1 FROM _typed p WHERE p.level = $parent_{column} "
                    f"AND p.territory_code = t.{name})",
                    severity="warning", parameters={f"parent_{column}": level})


def relations(tolerance: float, lonely_psu: str, base_level: str = "COM",
              base_name: tuple[str, str] = ("a commune", "une commune")
              ) -> tuple[Relation, ...]:
    """The cross-row and cross-table checks, given the project's validation settings and its
    base level (its code, and how messages name one of its units)."""
    return (
        Relation("territory_groups.member_code.known_commune", "territory_groups", "member_code",
                 f"must be {base_name[0]} of the territories table",
                 f"doit être {base_name[1]} de la table des territoires",
                 "EXISTS (SELECT 1 FROM territories r WHERE r.territory_code = t.member_code "
                 "AND r.level = $base_level)", parameters={"base_level": base_level}),
        _known_commune("population", "territory_code", base_level, base_name),
        _known_commune("population_totals", "territory_code", base_level, base_name),
        Relation("population_totals.population.detail_sums_to_total", "population_totals",
                 "population",
                 f"must equal the sum of the age-sex groups (tolerance {tolerance:.1%})",
                 f"doit égaler la somme des groupes d'âge et de sexe (tolérance {tolerance:.1%})",
                 "NOT EXISTS (SELECT 1 FROM population p WHERE p.territory_code = "
                 "t.territory_code AND p.year = t.year HAVING abs(sum(p.population) - "
                 "t.population) > $tolerance * t.population)",
                 severity="warning", parameters={"tolerance": tolerance}),
        _known_commune("survey_responses", "territory_code", base_level, base_name),
        Relation("survey_responses.psu.two_per_stratum", "survey_responses", "psu",
                 "its stratum must have at least two PSUs (or declare validation.lonely_psu)",
                 "sa strate doit compter au moins deux UPE (ou déclarer validation.lonely_psu)",
                 "(SELECT count(DISTINCT s.psu) FROM _kept s WHERE s.year = t.year "
                 "AND s.stratum = t.stratum) >= 2",
                 severity="error" if lonely_psu == "fail" else "warning", final=True),
        _known_commune("admin_measures", "territory_code", base_level, base_name),
        Relation("admin_measures.measure_id.in_codebook", "admin_measures", "measure_id",
                 "must be a measure of the codebook", "doit être une mesure du dictionnaire",
                 "EXISTS (SELECT 1 FROM admin_codebook c WHERE c.measure_id = t.measure_id)"),
        Relation("admin_measures.value.codebook_range", "admin_measures", "value",
                 "must lie within the codebook's range for the measure",
                 "doit être dans l'intervalle admis par le dictionnaire pour la mesure",
                 "NOT EXISTS (SELECT 1 FROM admin_codebook c WHERE c.measure_id = t.measure_id "
                 "AND (t.value < c.min_value OR t.value > c.max_value))"),
        _known_commune("commuting", "residence_code", base_level, base_name,
                       outside_allowed=True),
        _known_commune("commuting", "workplace_code", base_level, base_name,
                       outside_allowed=True),
    )


# Reference tables are validated first: the others are checked against them.
LOAD_ORDER = ("territories", "territory_groups", "admin_codebook", "population",
              "population_totals", "survey_responses", "admin_measures", "commuting")

# Readable names of the patterns used in the schemas.
PATTERN_NAMES = {
    COMMUNE_CODE: ("a commune code (5 characters, e.g. 01053 or 2A004)",
                   "un code commune (5 caractères, p. ex. 01053 ou 2A004)"),
    FLOW_END_CODE: (f"a commune code, or {OUTSIDE_AREA} for outside the study area",
                    f"un code commune, ou {OUTSIDE_AREA} hors de la zone d'étude"),
    r"^\d{9}$": ("a 9-digit SIREN number", "un numéro SIREN à 9 chiffres"),
}
# The French levels' formats, in words.
PATTERN_LEVEL_NAMES = {
    "EPCI": (r"^\d{9}$", ("a 9-digit SIREN number", "un numéro SIREN à 9 chiffres")),
    "DEP": (FRENCH_LEVELS.level("DEP").pattern, (
        "a département code (01 to 95, 2A, 2B or 971 to 976)",
        "un code de département (01 à 95, 2A, 2B ou 971 à 976)")),
    "REG": (r"^\d{2}$", ("a 2-digit région code", "un code de région à 2 chiffres")),
}

DEFAULT_CONTRACTS = build_contracts()
SCHEMAS: dict[str, pa.DataFrameSchema] = DEFAULT_CONTRACTS.schemas
"""The contract tables of a French project with the default population bands and AES items."""
