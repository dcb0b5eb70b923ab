"""Validation messages in English and French, written for the person who must fix the file.

A failure says where (file, spreadsheet row, the file's own column name), what was found and
what the rule expects, e.g. ``admin.csv, row 4, column 'valeur': 'douze' — must be a number``.
"""

from __future__ import annotations

import pandera.polars as pa

from pipelines.problems import Text
from pipelines.validating.contracts import PATTERN_NAMES

__all__ = ["Text"]

TYPE_RULES: dict[str, Text] = {
    "String": ("must be text", "doit être du texte"),
    "Int64": ("must be a whole number", "doit être un nombre entier"),
    "Float64": ("must be a number", "doit être un nombre"),
}
REQUIRED: Text = ("must not be empty", "ne doit pas être vide")
PARSE_RULES: dict[str, Text] = {
    "MISSING COLUMNS": ("the line has fewer fields than the header (truncated line, or a "
                        "different delimiter?)",
                        "la ligne a moins de champs que l'en-tête (ligne tronquée, ou autre "
                        "séparateur ?)"),
    "TOO MANY COLUMNS": ("the line has more fields than the header (an unquoted delimiter "
                         "inside a value?)",
                         "la ligne a plus de champs que l'en-tête (un séparateur non protégé "
                         "dans une valeur ?)"),
    "UNQUOTED VALUE": ("a quote is not closed or is misplaced",
                       "un guillemet n'est pas fermé ou est mal placé"),
}
PARSE_OTHER: Text = ("the line cannot be read", "la ligne ne peut pas être lue")


def _values(values: list) -> str:
    shown = ", ".join(str(v) for v in values[:12])
    return shown + (", …" if len(values) > 12 else "")


def describe_check(check: pa.Check) -> Text:
    """The rule a Pandera built-in check states, in words."""
    s = check.statistics
    name = check.name
    if name == "greater_than":
        return f"must be greater than {s['min_value']}", f"doit être supérieur à {s['min_value']}"
    if name == "greater_than_or_equal_to":
        return (f"must be at least {s['min_value']}",
                f"doit être supérieur ou égal à {s['min_value']}")
    if name == "less_than":
        return f"must be less than {s['max_value']}", f"doit être inférieur à {s['max_value']}"
    if name == "less_than_or_equal_to":
        return (f"must be at most {s['max_value']}",
                f"doit être inférieur ou égal à {s['max_value']}")
    if name == "in_range":
        return (f"must be between {s['min_value']} and {s['max_value']}",
                f"doit être compris entre {s['min_value']} et {s['max_value']}")
    if name == "isin":
        allowed = _values(list(s["allowed_values"]))
        return f"must be one of: {allowed}", f"doit être l'une des valeurs : {allowed}"
    if name == "str_matches":
        if check.title and check.description:  # a format named in words (contracts.code_format)
            return f"must be {check.title}", f"doit être {check.description}"
        en, fr = PATTERN_NAMES.get(s["pattern"], (f"the pattern {s['pattern']}",
                                                  f"le format {s['pattern']}"))
        return f"must be {en}", f"doit être {fr}"
    return str(check.error), str(check.error)


def unique_rule(columns: list[str]) -> Text:
    key = ", ".join(columns)
    return (f"({key}) must be unique: this combination appears more than once",
            f"({key}) doit être unique : cette combinaison apparaît plusieurs fois")


def format_failure(lang: str, file: str, row: int, column: str, value: str | None,
                   rule: str) -> str:
    """One line a newcomer can act on, in the report's language."""
    if lang == "fr":
        shown = f"« {value} »" if value is not None else "(vide)"
        return f"{file}, ligne {row}, colonne « {column} » : {shown} — {rule}"
    shown = f"'{value}'" if value is not None else "(empty)"
    return f"{file}, row {row}, column '{column}': {shown} — {rule}"


NOT_FINITE: Text = ("not a finite number (NaN, infinity, or too large to be a number)",
                    "pas un nombre fini (NaN, infini, ou trop grand pour être un nombre)")
AMBIGUOUS_DECIMAL: Text = (
    "ambiguous number under decimal comma: the decimal mark is ',' and '.' is not declared as "
    "the thousands separator (write 1234,5 or 1 234,5)",
    "nombre ambigu avec la virgule décimale : la marque décimale est ',' et '.' n'est pas "
    "déclaré comme séparateur de milliers (écrivez 1234,5 ou 1 234,5)")
VALUE = "{value}"  # in a rule's text, replaced by the value as written in the file


def project_years_rule(years: list[int]) -> Text:
    return (f"year {VALUE} is not one of the project's years {years}",
            f"l'année {VALUE} n'est pas l'une des années du projet {years}")
EXCEL_BOOLEAN: Text = ("a TRUE/FALSE cell, not a number or code",
                      "une cellule VRAI/FAUX, pas un nombre ni un code")
EXCEL_ERROR: Text = (f"the cell holds the Excel error {VALUE}, not a value: correct the formula "
                     f"or type the value",
                     f"la cellule contient l'erreur Excel {VALUE}, pas une valeur : corrigez la "
                     f"formule ou saisissez la valeur")
