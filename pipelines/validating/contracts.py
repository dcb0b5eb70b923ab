"""Contract schemas: one Pandera schema per warehouse table, each column described.

The schemas are the single statement of what a valid table is. ``validation.py`` compiles their
checks to DuckDB SQL so that large tables are checked where they live, row by row, with the row
number of the source file; ``RELATIONS`` adds the checks that need another table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

COMMUNE_CODE = r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}$|^97[1-6]\d{2}$"
OUTSIDE_AREA = "99999"
FLOW_END_CODE = rf"{COMMUNE_CODE}|^{OUTSIDE_AREA}$"
YEARS = pa.Check.in_range(1990, 2100)
SURVEY_AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-69"]
AGE_GROUPS = ["00-14", "15-17", *SURVEY_AGE_GROUPS, "70+"]
BINARY = [pa.Check.isin([0, 1])]

# Every contract table ends with the record's lineage: the file it came from (as the project
# file names it) and its row there, as a spreadsheet user numbers rows.
LINEAGE_COLUMNS = ("source_file", "source_row")

def _text(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Utf8, list(checks), nullable=nullable, description=description)


def _integer(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Int64, list(checks), nullable=nullable, description=description)


def _number(description: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Float64, list(checks), nullable=nullable, description=description)


def _item(description: str) -> pa.Column:
    return _integer(f"{description} (1 yes, 0 no, empty = no answer)", *BINARY, nullable=True)


TERRITORIES = pa.DataFrameSchema(
    {
        "territory_code": _text(
            "INSEE COG code (commune, département, région) or EPCI SIREN",
            pa.Check.str_matches(r"^[0-9AB]{2,9}$"),
        ),
        "level": _text("COM, EPCI, DEP or REG", pa.Check.isin(["COM", "EPCI", "DEP", "REG"])),
        "name": _text("official name"),
        "epci_code": _text("EPCI SIREN of a commune", pa.Check.str_matches(r"^\d{9}$"),
                           nullable=True),
        "departement_code": _text("département code", nullable=True),
        "region_code": _text("région code", nullable=True),
        "valid_from": _integer("first year the code is valid", YEARS, nullable=True),
        "valid_to": _integer("last year the code is valid", YEARS, nullable=True),
    },
    unique=["territory_code"],
    name="territories",
    description="Territories with their codes, level and parents (COG vintage by validity years)",
)

TERRITORY_GROUPS = pa.DataFrameSchema(
    {
        "group_code": _text("code of a custom grouping", pa.Check.str_matches(r"^[A-Z0-9-]+$")),
        "group_name_en": _text("name in English"),
        "group_name_fr": _text("name in French"),
        "member_code": _text("member commune code", pa.Check.str_matches(COMMUNE_CODE)),
    },
    unique=["group_code", "member_code"],
    name="territory_groups",
    description="Custom groupings of communes (e.g. Pays de Vannes)",
)

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

POPULATION = pa.DataFrameSchema(
    {
        "territory_code": _text("commune code", pa.Check.str_matches(COMMUNE_CODE)),
        "year": _integer("reference year", YEARS),
        "sex": _text("F or M", pa.Check.isin(["F", "M"])),
        "age_group": _text("age group", pa.Check.isin(AGE_GROUPS)),
        "population": _number("residents (population municipale)", pa.Check.ge(0)),
    },
    unique=["territory_code", "year", "sex", "age_group"],
    name="population",
    description="Residents by commune, year, sex and age group: denominators",
)

POPULATION_TOTALS = pa.DataFrameSchema(
    {
        "territory_code": _text("commune code", pa.Check.str_matches(COMMUNE_CODE)),
        "year": _integer("reference year", YEARS),
        "population": _number("total residents (legal population)", pa.Check.ge(0)),
    },
    unique=["territory_code", "year"],
    name="population_totals",
    description="Total residents by commune and year, to check the age-sex detail against",
)

SURVEY_RESPONSES = pa.DataFrameSchema(
    {
        "respondent_id": _text("respondent identifier, unique within a year"),
        "year": _integer("survey year", YEARS),
        "territory_code": _text("commune of residence", pa.Check.str_matches(COMMUNE_CODE)),
        "stratum": _text("sampling stratum"),
        "psu": _text("primary sampling unit, unique within its stratum"),
        "weight": _number("sampling weight (sums to the population aged 18-69)", pa.Check.gt(0)),
        "sex": _text("F or M", pa.Check.isin(["F", "M"])),
        "age": _integer("age in completed years", pa.Check.in_range(18, 69)),
        "age_group": _text("age band", pa.Check.isin(SURVEY_AGE_GROUPS)),
        "isced_level": _integer("highest ISCED 2011 level attained", pa.Check.in_range(0, 8)),
        "labour_status": _text(
            "labour status",
            pa.Check.isin(["employed", "unemployed", "student", "retired", "inactive"]),
        ),
        "formal_12m": _item("formal education or training in the last 12 months"),
        "nonformal_12m": _item("non-formal learning (guided on-the-job training excluded)"),
        "guided_ojt_12m": _item("guided on-the-job training in the last 12 months"),
        "informal_12m": _item("informal learning in the last 12 months"),
        "digital_basic": _item("at least basic digital skills"),
        "volunteering_12m": _item("volunteering in the last 12 months"),
        "library_12m": _item("library use in the last 12 months"),
        "env_learning_12m": _item("learning about the environment or climate"),
        "workshop_12m": _item("hands-on workshop (fablab, repair café)"),
        "intends_to_train": _item("intends to train in the next 12 months"),
        "unmet_demand": _item("wanted (more) training but did not take part"),
    },
    unique=["year", "respondent_id"],
    name="survey_responses",
    description="Adult education survey microdata (EU AES model) with its sampling design",
)

ADMIN_MEASURES = pa.DataFrameSchema(
    {
        "territory_code": _text("commune code", pa.Check.str_matches(COMMUNE_CODE)),
        "year": _integer("reference year", YEARS),
        "measure_id": _text("measure from the codebook"),
        "value": _number("value in the codebook's unit", pa.Check.ge(0)),
        "source": _text("producing office", nullable=True),
    },
    unique=["territory_code", "year", "measure_id"],
    name="admin_measures",
    description="Administrative measures by commune and year",
)

COMMUTING = pa.DataFrameSchema(
    {
        "year": _integer("census reference year", YEARS),
        "residence_code": _text(
            f"commune of residence ({OUTSIDE_AREA} = outside the study area)",
            pa.Check.str_matches(FLOW_END_CODE),
        ),
        "workplace_code": _text(
            f"commune of work ({OUTSIDE_AREA} = outside the study area)",
            pa.Check.str_matches(FLOW_END_CODE),
        ),
        "qualification": _text(
            "skill level of the job", pa.Check.isin(["managerial", "intermediate", "other"])
        ),
        "workers": _number("weighted count of employed people (IPONDI)", pa.Check.ge(0)),
    },
    unique=["year", "residence_code", "workplace_code", "qualification"],
    name="commuting",
    description="Home-work flows by residence, workplace and job skill level (MOBPRO model)",
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    s.name: s
    for s in (TERRITORIES, TERRITORY_GROUPS, ADMIN_CODEBOOK, POPULATION, POPULATION_TOTALS,
              SURVEY_RESPONSES, ADMIN_MEASURES, COMMUTING)
}




@dataclass(frozen=True)
class Relation:
    """A check that needs more than one value: the SQL is true for a valid row ``t`` of the
    table being validated (``_typed`` holds all its rows, ``_kept`` those that pass every
    non-final check; other contract tables are loaded)."""

    check_id: str
    table: str
    column: str
    en: str
    fr: str
    sql: str
    severity: str = "error"
    final: bool = False  # judged on the rows that pass every other check (``_kept``)


_KNOWN_COMMUNE = (
    "EXISTS (SELECT 1 FROM territories r WHERE r.territory_code = t.{col} AND r.level = 'COM' "
    "AND (r.valid_from IS NULL OR r.valid_from <= t.year) "
    "AND (r.valid_to IS NULL OR r.valid_to >= t.year))"
)


def _known_commune(table: str, column: str, outside_allowed: bool = False) -> Relation:
    sql = _KNOWN_COMMUNE.format(col=column)
    if outside_allowed:
        sql = f"(t.{column} = '{OUTSIDE_AREA}' OR {sql})"
    return Relation(f"{table}.{column}.known_commune", table, column,
                    "must be a commune of the territories table, valid that year",
                    "doit être une commune de la table des territoires, valide cette année-là",
                    sql)


def relations(tolerance: float, lonely_psu: str) -> tuple[Relation, ...]:
    """The cross-row and cross-table checks, given the project's validation settings."""
    return (
        Relation("territory_groups.member_code.known_commune", "territory_groups", "member_code",
                 "must be a commune of the territories table",
                 "doit être une commune de la table des territoires",
                 "EXISTS (SELECT 1 FROM territories r WHERE r.territory_code = t.member_code "
                 "AND r.level = 'COM')"),
        _known_commune("population", "territory_code"),
        _known_commune("population_totals", "territory_code"),
        Relation("population_totals.population.detail_sums_to_total", "population_totals",
                 "population",
                 f"must equal the sum of the age-sex groups (tolerance {tolerance:.1%})",
                 f"doit égaler la somme des groupes d'âge et de sexe (tolérance {tolerance:.1%})",
                 "NOT EXISTS (SELECT 1 FROM population p WHERE p.territory_code = "
                 "t.territory_code AND p.year = t.year HAVING abs(sum(p.population) - "
                 f"t.population) > {tolerance} * t.population)",
                 severity="warning"),
        _known_commune("survey_responses", "territory_code"),
        Relation("survey_responses.psu.two_per_stratum", "survey_responses", "psu",
                 "its stratum must have at least two PSUs (or declare validation.lonely_psu)",
                 "sa strate doit compter au moins deux UPE (ou déclarer validation.lonely_psu)",
                 "(SELECT count(DISTINCT s.psu) FROM _kept s WHERE s.year = t.year "
                 "AND s.stratum = t.stratum) >= 2",
                 severity="error" if lonely_psu == "fail" else "warning", final=True),
        _known_commune("admin_measures", "territory_code"),
        Relation("admin_measures.measure_id.in_codebook", "admin_measures", "measure_id",
                 "must be a measure of the codebook", "doit être une mesure du dictionnaire",
                 "EXISTS (SELECT 1 FROM admin_codebook c WHERE c.measure_id = t.measure_id)"),
        Relation("admin_measures.value.codebook_range", "admin_measures", "value",
                 "must lie within the codebook's range for the measure",
                 "doit être dans l'intervalle admis par le dictionnaire pour la mesure",
                 "NOT EXISTS (SELECT 1 FROM admin_codebook c WHERE c.measure_id = t.measure_id "
                 "AND (t.value < c.min_value OR t.value > c.max_value))"),
        _known_commune("commuting", "residence_code", outside_allowed=True),
        _known_commune("commuting", "workplace_code", outside_allowed=True),
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
