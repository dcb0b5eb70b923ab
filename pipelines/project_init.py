"""Starting a project: ``lci init DIR [FILE …]`` writes a first project file for a newcomer.

Without files it writes a commented project file and empty codebooks to fill in. Given the
user's files (CSV, Excel, Parquet, or folders holding them), it reads each one with the same
readers and detectors as ``lci validate`` (format from the first bytes, encoding, delimiter,
header row, sheet, decimal mark), guesses which contract table it feeds and which of its
columns is which, and writes one source per file. Every guess is marked ``# guessed — check``
in the project file, so that nothing guessed passes for something the user decided.

Files outside the project folder are copied into ``DIR/raw/`` (the user's file is never moved
or changed) so that the project is self-contained: it can be zipped, moved or audited as one
folder. Nothing is ever overwritten: when a file to write exists, nothing is written at all.
Each file is written whole or not at all (a temporary file, then linked into place).
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.problems import Text

if TYPE_CHECKING:  # DuckDB, pydantic and the readers are imported when a file is read
    import duckdb

    from pipelines.config import ProjectConfig
    from pipelines.reading.readers import Raw

RAW_FOLDER = "raw"
REFERENCE_FOLDER = "reference"
GUESSED = "# guessed — check"
MAX_HEADER_SCAN = 20
"""Rows or lines searched for the header (a title and notes above it are common)."""
MAX_SHEETS = 20
MAX_VALUES = 60
"""Distinct values looked at per column to guess its meaning and propose recodes."""
SAMPLE_ROWS = 5000
MAX_FOLDER_FILES = 200
REFERENCE_TABLES = ("territories", "territory_groups", "admin_codebook")
DATA_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm", ".parquet")
"""Files already in the project folder that ``lci init DIR`` proposes when no file is given."""
FOLDER_SUFFIXES = (*DATA_SUFFIXES, ".txt", ".xls")
"""Files read from a folder given as FILE (an .xls is read to say how to convert it)."""

# Names that offices give the contract's columns, normalised (lower case, no accents, words
# joined by '_'): INSEE files (CODGEO, COM, ANNEE, SEXE, PMUN, IPONDI …), French and English.
# A column named exactly as the contract column always matches.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "territory_code": ("codgeo", "code_geo", "com", "code_commune", "codecommune",
                       "code_insee", "insee", "depcom", "cog", "code_cog", "code_territoire",
                       "territoire", "territory", "commune_code", "geo", "code"),
    "level": ("niveau", "niveau_geo", "nivgeo", "type", "type_territoire", "echelon"),
    "name": ("nom", "libelle", "libgeo", "lib_geo", "nom_commune", "libelle_commune",
             "nom_territoire", "intitule"),
    "epci_code": ("epci", "code_epci", "siren_epci", "epci_siren", "interco"),
    "departement_code": ("dep", "departement", "code_departement", "code_dep", "department",
                         "department_code"),
    "region_code": ("reg", "region", "code_region", "code_reg"),
    "valid_from": ("debut", "annee_debut", "date_debut", "valide_depuis", "from"),
    "valid_to": ("fin", "annee_fin", "date_fin", "valide_jusqu_a", "to"),
    "group_code": ("groupe", "code_groupe", "group", "regroupement", "code_regroupement"),
    "group_name_en": ("group_name", "nom_groupe_en", "libelle_groupe_en", "name_en"),
    "group_name_fr": ("nom_groupe", "nom_groupe_fr", "libelle_groupe", "libelle_groupe_fr",
                      "name_fr", "nom_fr"),
    "member_code": ("membre", "code_membre", "member", "codgeo", "com", "code_commune",
                    "code_insee", "depcom"),
    "measure_id": ("indicateur", "code_indicateur", "mesure", "code_mesure", "id_mesure",
                   "measure", "variable", "indicator"),
    "label_en": ("libelle_en", "label", "intitule_en"),
    "label_fr": ("libelle_fr", "libelle", "intitule", "intitule_fr"),
    "unit": ("unite", "units"),
    "min_value": ("min", "minimum", "valeur_min", "borne_min"),
    "max_value": ("max", "maximum", "valeur_max", "borne_max"),
    "description_en": ("description", "definition"),
    "year": ("annee", "an", "millesime", "annee_ref", "an_ref", "annee_reference", "yr",
             "exercice"),
    "sex": ("sexe", "genre", "gender", "sx"),
    "age_group": ("tranche_age", "tranche_d_age", "trage", "classe_age", "age_classe",
                  "tr_age", "agegroup", "groupe_age", "age_band"),
    "population": ("pop", "pmun", "ptot", "population_municipale", "population_totale",
                   "nb_habitants", "habitants", "effectif", "residents", "pop_mun"),
    "respondent_id": ("ident", "id", "identifiant", "id_repondant", "idrep", "respondent",
                      "id_individu", "numero"),
    "stratum": ("strate", "strata", "strat"),
    "psu": ("grappe", "upe", "cluster", "unite_primaire"),
    "weight": ("poids", "pond", "ponderation", "poids_final", "wgt", "w", "weights"),
    "age": ("age_revolu", "age_annees", "ageq"),
    "isced_level": ("isced", "cite", "niveau_cite", "niveau_diplome", "diplome", "isced2011"),
    "labour_status": ("situation", "statut", "activite", "situation_professionnelle",
                      "statut_activite", "status"),
    "formal_12m": ("fed12", "fed", "formel", "formation_formelle", "formal"),
    "nonformal_12m": ("nfe12", "nfe", "non_formel", "formation_non_formelle", "nonformal"),
    "guided_ojt_12m": ("gojt12", "gojt", "fest", "formation_en_situation_de_travail"),
    "informal_12m": ("inf12", "informel", "apprentissage_informel", "informal"),
    "digital_basic": ("digskill", "numerique", "competences_numeriques", "digital"),
    "volunteering_12m": ("benevolat", "benevole", "volunteering"),
    "library_12m": ("biblio", "bibliotheque", "library"),
    "env_learning_12m": ("enviro", "environnement", "env_learning"),
    "workshop_12m": ("atelier", "ateliers", "workshop"),
    "intends_to_train": ("intention", "intention_formation", "intends"),
    "unmet_demand": ("besoin", "besoin_non_satisfait", "demande_non_satisfaite", "unmet"),
    "value": ("valeur", "val", "montant", "nombre", "nb", "total"),
    "source": ("producteur", "origine", "fournisseur", "organisme", "service"),
    "residence_code": ("commune_residence", "code_residence", "residence", "commune",
                       "com_residence", "lieu_residence", "codgeo_residence", "home"),
    "workplace_code": ("commune_travail", "dclt", "code_travail", "lieu_travail",
                       "com_travail", "codgeo_travail", "workplace", "commune_lieu_travail"),
    "qualification": ("qualif", "niveau_qualification", "cs", "qualification_emploi"),
    "workers": ("ipondi", "actifs", "nb_actifs", "flux", "effectif", "nb_travailleurs",
                "travailleurs", "emplois"),
}

# Values that offices write for the contract's coded columns, normalised as names are.
VALUE_WORDS: dict[str, dict[str, str]] = {
    "sex": {"1": "M", "2": "F", "h": "M", "m": "M", "f": "F", "homme": "M", "hommes": "M",
            "masculin": "M", "male": "M", "man": "M", "men": "M", "femme": "F",
            "femmes": "F", "feminin": "F", "female": "F", "woman": "F", "women": "F"},
    "level": {"commune": "COM", "com": "COM", "epci": "EPCI", "interco": "EPCI",
              "departement": "DEP", "dep": "DEP", "region": "REG", "reg": "REG"},
    "labour_status": {"emploi": "employed", "en_emploi": "employed",
                      "actif_occupe": "employed", "occupe": "employed",
                      "chomage": "unemployed", "chomeur": "unemployed",
                      "au_chomage": "unemployed", "etudiant": "student", "eleve": "student",
                      "etudes": "student", "retraite": "retired", "inactif": "inactive",
                      "autre_inactif": "inactive"},
    "qualification": {"cadre": "managerial", "cadres": "managerial",
                      "intermediaire": "intermediate", "intermediaires": "intermediate",
                      "profession_intermediaire": "intermediate",
                      "professions_intermediaires": "intermediate", "autre": "other",
                      "autres": "other"},
}

DATA_ROOT_FORM = re.compile(r"^[a-z][a-z0-9_]+:")


class InitError(ValueError):
    """``lci init`` cannot start the project (a file to write exists, the folder cannot be
    written): nothing was written; ``text`` says why in English and French."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


@dataclass
class Column:
    """A contract column and the file column guessed for it (``how``: exact, name, values)."""

    contract: str
    file: str
    how: str


@dataclass
class Proposal:
    """What ``lci init`` proposes for one file: how to read it and what it feeds."""

    given: Path
    name: str = ""
    path: str = ""  # as written in the project file (relative to its folder)
    copy_from: Path | None = None  # copied into raw/ from here
    reuse: bool = False  # an identical copy is already there
    format: str = "csv"
    options: dict[str, object] = field(default_factory=dict)
    table: str | None = None
    columns: list[Column] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    recode: dict[str, dict[str, str]] = field(default_factory=dict)
    unrecognised: dict[str, list[str]] = field(default_factory=dict)
    years: set[int] = field(default_factory=set)
    notes: list[Text] = field(default_factory=list)
    rows: int = 0


@dataclass
class Skipped:
    """A file given to ``lci init`` that cannot be proposed, and why."""

    file: Path
    why: Text


@dataclass
class InitResult:
    """What ``lci init`` wrote and what the user should look at."""

    folder: Path
    project_file: Path
    written: list[Path]
    proposals: list[Proposal]
    skipped: list[Skipped]
    unmatched: list[Proposal]
    templates: list[Path] = field(default_factory=list)
    found_in_folder: bool = False  # no file given: the data files already in the folder


# --- names ---------------------------------------------------------------------------------

def normalise(name: str) -> str:
    """A name as compared with the synonyms: lower case, no accents, words joined by '_'."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _source_name(stem: str, taken: set[str]) -> str:
    """A source name from a file's name (``Population légale 2024`` → ``population_legale_2024``)
    that the project file accepts, unique in the project."""
    base = normalise(stem)[:56] or "source"
    if not base[0].isalpha():
        base = f"source_{base}"[:56]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _quoted(value: object) -> str:
    """A value written as YAML reads it back unchanged: a JSON string is a YAML string."""
    return json.dumps(str(value), ensure_ascii=False)


# --- looking at one file -------------------------------------------------------------------

class _Unusable(Exception):
    def __init__(self, why: Text) -> None:
        super().__init__(why.en)
        self.why = why


def _format_of(path: Path) -> str:
    """The file's format from its first bytes (the name may lie: an Excel file saved as
    ``.csv`` is read as Excel); an archive, document or image is refused, saying what it is."""
    from pipelines.reading.encodings import binary_kind

    kind = binary_kind(path)
    if kind is None:
        return "csv"
    english, french = kind
    if "Parquet" in english:
        return "parquet"
    if "xlsx" in english:
        return "xlsx"
    advice = Text("", "")
    if "xls)" in english:
        advice = Text(": open it in Excel or LibreOffice and save it as .xlsx",
                      " : ouvrez-le dans Excel ou LibreOffice et enregistrez-le en .xlsx")
    raise _Unusable(Text(f"not a CSV, Excel (.xlsx) or Parquet file: this is {english}"
                         f"{advice.en}",
                         f"pas un fichier CSV, Excel (.xlsx) ou Parquet : c'est {french}"
                         f"{advice.fr}"))


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[0-9][0-9\s.,\u00a0\u202f]*", text.strip()))


def _known(name: str) -> bool:
    key = normalise(name)
    return key in SYNONYMS or any(key in names for names in SYNONYMS.values())


def _header_row(rows: list[list[str | None]]) -> int:
    """The row (1-based) holding the header among the first rows of a sheet or file: the first
    naming two columns LCI knows, else the first of two or more text cells followed by a row
    as wide; 1 when neither is found."""
    for n, row in enumerate(rows[:MAX_HEADER_SCAN], start=1):
        names = [c for c in row if c and c.strip()]
        if len(names) >= 2 and sum(_known(c) for c in names) >= 2:
            return n
    for n, row in enumerate(rows[:MAX_HEADER_SCAN], start=1):
        names = [c for c in row if c and c.strip()]
        following = next((r for r in rows[n:] if any(c and c.strip() for c in r)), None)
        if len(names) >= 2 and not any(_looks_numeric(c) for c in names) and following and \
                sum(1 for c in following if c and c.strip()) >= len(names) / 2:
            return n
    return 1


def _csv_options(path: Path, work: Path) -> dict[str, object]:
    """Encoding, header line and delimiter of a CSV file, found by the readers' detectors."""
    from pipelines.reading.encodings import (
        EncodingError,
        detect_delimiter,
        detect_encoding,
        transcode_to_utf8,
    )

    try:
        encoding, _ = detect_encoding(path, "auto")
        readable = transcode_to_utf8(path, encoding, work, normalise_newlines=True)
    except EncodingError as error:
        raise _Unusable(Text(str(error), error.french)) from None
    with open(readable, encoding="utf-8-sig", newline="") as handle:
        lines = [handle.readline() for _ in range(MAX_HEADER_SCAN + 5)]
    lines = [line.rstrip("\r\n") for line in lines if line]
    if not any(line.strip() for line in lines):
        raise _Unusable(Text("the file is empty", "le fichier est vide"))
    delimiters = [detect_delimiter(readable, n) for n in range(1, len(lines) + 1)]
    rows = [next(csv.reader([line], delimiter=d), []) for line, d in
            zip(lines, delimiters, strict=True)]
    header_row = _header_row(rows)
    options: dict[str, object] = {"encoding": encoding, "delimiter": delimiters[header_row - 1]}
    if header_row != 1:
        options["header_row"] = header_row
    return options


def _sheet_rows(path: Path) -> list[tuple[str, list[list[str | None]]]]:
    """The first rows of each sheet of a workbook, as the Excel reader shows cells."""
    from python_calamine import CalamineWorkbook

    from pipelines.reading.readers import _cell_text

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = []
        for name in workbook.sheet_names[:MAX_SHEETS]:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append((name, [[_cell_text(c) for c in row]
                                  for row in rows[:MAX_HEADER_SCAN + 5]]))
    except Exception as error:  # calamine raises several kinds for unreadable workbooks
        reason = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__
        raise _Unusable(Text(f"cannot be read as Excel: {reason}",
                             f"illisible en Excel : {reason}")) from None
    if not sheets:
        raise _Unusable(Text("the workbook has no sheet", "le classeur n'a aucune feuille"))
    return sheets


def _read(path: Path, fmt: str, options: dict[str, object], work: Path,
          header: list[str] | None = None) -> tuple[duckdb.DuckDBPyConnection, Raw]:
    """The file read by LCI's own reader, as ``lci validate`` will read it: a connection and
    the reader's :class:`~pipelines.reading.readers.Raw` (columns as text)."""
    from pipelines.config import ReaderOptions, Source
    from pipelines.reading.readers import READERS, ReadReport, SourceError
    from pipelines.validating.contracts import SCHEMAS
    from pipelines.warehouse import WarehouseError, connect

    source = Source.model_construct(
        name="init", path=path, format=fmt, table="territories",
        options=ReaderOptions(**options),
        columns={h: h for h in header} if header else {}, recode={}, missing_codes={},
        max_rejected_share=None)
    try:
        con = connect(work / "init.duckdb", readable=[path, work])
    except WarehouseError as error:
        raise _Unusable(Text(f"cannot be read: {error}", f"illisible : {error}")) from None
    scratch = work / "scratch"
    scratch.mkdir(exist_ok=True)
    report = ReadReport("init", str(path), fmt, header_row=source.options.header_row)
    reader = READERS[fmt]
    # a reader may take the contract's schema after the folder; the file is read as text
    schema = (SCHEMAS["territories"],) if len(inspect.signature(reader).parameters) > 5 else ()
    try:
        raw = reader(con, path, source, report, scratch, *schema)
    except SourceError as error:
        con.close()
        raise _Unusable(error.problem.message) from None
    except Exception as error:  # duckdb.Error and the like: one line, never a traceback
        con.close()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__
        raise _Unusable(Text(f"cannot be read: {reason}", f"illisible : {reason}")) from None
    return con, raw


def _values(con: duckdb.DuckDBPyConnection, raw: Raw,
            header: list[str]) -> tuple[int, dict[str, list[str]]]:
    """Row count and the most frequent distinct values (at most MAX_VALUES) of each column
    read (``header``), from the first SAMPLE_ROWS rows; none for the other columns."""
    from indicators.sql import quote_ident

    rows = con.execute(f"SELECT count(*) FROM {raw.table}").fetchall()[0][0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _init_sample AS SELECT * FROM {raw.table} "
                f"LIMIT {SAMPLE_ROWS}")
    values: dict[str, list[str]] = {name: [] for name in raw.header}
    for name in header:
        internal = raw.column(name)
        if internal is None:
            continue
        column = quote_ident(internal)
        values[name] = [v for (v, _) in con.execute(
            f"SELECT trim({column}) AS v, count(*) AS n FROM _init_sample WHERE "
            f"nullif(trim({column}), '') IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            [MAX_VALUES]).fetchall()]
    return rows, values


# --- guessing the table and the columns ----------------------------------------------------

def _allowed(table: str, column: str) -> list[str] | None:
    """The values a coded contract column admits (its ``isin`` check), or None."""
    from pipelines.validating.contracts import SCHEMAS

    for check in SCHEMAS[table].columns[column].checks:
        if check.name == "isin":
            return [str(v) for v in check.statistics.get("allowed_values", [])]
    return None


def _fits(table: str, column: str, values: list[str]) -> bool:
    """Whether a file column's values look like the contract column's (for a column whose
    name says nothing)."""
    from pipelines.validating.contracts import COMMUNE_CODE

    if not values:
        return False
    if column == "year":
        return all(re.fullmatch(r"(19|20)\d\d", v) for v in values)
    if column in ("territory_code", "member_code", "residence_code", "workplace_code"):
        return all(re.fullmatch(COMMUNE_CODE, v) for v in values)
    allowed = _allowed(table, column)
    if allowed is None:
        return False
    words = VALUE_WORDS.get(column, {})
    return all(v in allowed or words.get(normalise(v)) in allowed for v in values) and \
        len(set(values)) > 1


def guess_columns(table: str, header: list[str],
                  values: dict[str, list[str]]) -> tuple[list[Column], list[str]]:
    """The file columns guessed for the table's contract columns, and those not found.

    A file column named as the contract column wins, then one of its usual names
    (:data:`SYNONYMS`), then, for a column whose name says nothing, values that look like
    the contract column's (years, commune codes, the allowed codes) when one column alone
    fits."""
    from pipelines.validating.contracts import SCHEMAS

    contract = list(SCHEMAS[table].columns)
    found: dict[str, Column] = {}
    used: set[str] = set()
    for how in ("exact", "name"):
        for column in contract:
            if column in found:
                continue
            for name in header:
                key = normalise(name)
                if name in used:
                    continue
                if (how == "exact" and key == column) or (
                        how == "name" and key in SYNONYMS.get(column, ())):
                    found[column] = Column(column, name, how)
                    used.add(name)
                    break
    for column in contract:
        if column in found:
            continue
        fitting = [n for n in header if n not in used and _fits(table, column, values[n])]
        if len(fitting) == 1:
            found[column] = Column(column, fitting[0], "values")
            used.add(fitting[0])
    columns = [found[c] for c in contract if c in found]
    return columns, [c for c in contract if c not in found]


def _score(table: str, columns: list[Column], missing: list[str]) -> tuple:
    """How well a file's columns fit a table: every required column found first, then more
    columns found, then fewer missing, then more recognised by their name."""
    from pipelines.validating.contracts import SCHEMAS

    schema = SCHEMAS[table]
    size = len(schema.columns)
    named = sum(1 for c in columns if c.how != "values")
    complete = not any(not schema.columns[c].nullable for c in missing)
    return (complete, len(columns) if complete else len(columns) / size, -len(missing), named)


def guess_table(header: list[str], values: dict[str, list[str]]
                ) -> tuple[str | None, list[Column], list[str]]:
    """The contract table a file most likely feeds: every contract column found beats some,
    then more columns found (population's five before population_totals' three); None when
    fewer than two columns are recognised by their name."""
    from pipelines.config import CONTRACT_TABLES

    best: tuple | None = None
    for table in CONTRACT_TABLES:
        columns, missing = guess_columns(table, header, values)
        score = _score(table, columns, missing)
        if score[3] < 2 and not (score[0] and score[3] >= 1):
            continue
        if best is None or score > best[0]:
            best = (score, table, columns, missing)
    if best is None:
        return None, [], []
    return best[1], best[2], best[3]


def propose_recodes(table: str, columns: list[Column], values: dict[str, list[str]]
                    ) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """For each coded contract column (sex, level, qualification …), the recodes turning the
    file's codes into the contract's values (``SEXE`` 1/2 → M/F), and the codes not
    recognised."""
    recode: dict[str, dict[str, str]] = {}
    unknown: dict[str, list[str]] = {}
    for column in columns:
        allowed = _allowed(table, column.contract)
        if allowed is None:
            continue
        words = VALUE_WORDS.get(column.contract, {})
        by_case = {a.lower(): a for a in allowed}
        mapping: dict[str, str] = {}
        left: list[str] = []
        for value in sorted(values.get(column.file, [])):
            if value in allowed:
                continue
            target = words.get(normalise(value)) or by_case.get(value.lower())
            if target in allowed:
                mapping[value] = target
            else:
                left.append(value)
        if mapping:
            recode[column.contract] = mapping
        if left:
            unknown[column.contract] = left
    return recode, unknown


def _decimal(con: duckdb.DuckDBPyConnection, raw: Raw, table: str,
             columns: list[Column]) -> tuple[str, str | None]:
    """The decimal mark and thousands separator of the numeric columns (the patterns the
    readers detect and read numbers with): a comma when they hold values like '12,5' and none
    like '12.5'; a comma under '.' thousands when they hold values like '1.234,5'."""
    from indicators.sql import quote_ident
    from pipelines.reading.readers import (
        COMMA_DECIMAL,
        DOT_GROUPED_COMMA,
        NUMERIC_TYPES,
        POINT_DECIMAL,
    )
    from pipelines.validating.contracts import SCHEMAS

    schema = SCHEMAS[table]
    numeric = [raw.column(c.file) for c in columns
               if str(schema.columns[c.contract].dtype) in NUMERIC_TYPES and raw.column(c.file)]
    if not numeric:
        return ".", None

    def any_of(test: str) -> str:
        return " OR ".join(test.format(quote_ident(c)) for c in numeric)

    commas = any_of("regexp_full_match(trim({0}), $comma)")
    points = any_of("regexp_full_match(trim({0}), $point)")
    groups = any_of("(regexp_full_match(trim({0}), $grouped) AND contains({0}, $mark))")
    comma, point, grouped = con.execute(
        f"SELECT count(*) FILTER (WHERE {commas}), count(*) FILTER (WHERE {points}), "
        f"count(*) FILTER (WHERE {groups}) FROM {raw.table}",
        {"comma": COMMA_DECIMAL, "point": POINT_DECIMAL, "grouped": DOT_GROUPED_COMMA,
         "mark": ","}).fetchall()[0]
    if grouped:
        return ",", "."
    return ("," if comma and not point else "."), None


def _years(con: duckdb.DuckDBPyConnection, raw: Raw, column: Column | None) -> set[int]:
    """The years a file's year column holds (1900–2100)."""
    from indicators.sql import quote_ident

    internal = raw.column(column.file) if column else None
    if internal is None:
        return set()
    rows = con.execute(
        f"SELECT DISTINCT TRY_CAST(trim({quote_ident(internal)}) AS INTEGER) AS y FROM "
        f"{raw.table} WHERE y BETWEEN 1900 AND 2100 ORDER BY y LIMIT 200").fetchall()
    return {int(y) for (y,) in rows}


def inspect_file(path: Path) -> Proposal:
    """How to read one file and what it feeds, guessed from its bytes, header and values.

    Raises :class:`_Unusable` (a message in English and French) when it cannot be read."""
    proposal = Proposal(given=path)
    if not path.exists():
        raise _Unusable(Text("file not found", "fichier introuvable"))
    if not path.is_file():
        raise _Unusable(Text("not a regular file", "pas un fichier ordinaire"))
    try:
        if path.stat().st_size == 0:
            raise _Unusable(Text("the file is empty", "le fichier est vide"))
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise _Unusable(Text(f"cannot be read: {reason}", f"illisible : {reason}")) from None
    fmt = _format_of(path)
    proposal.format = fmt
    named = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".parquet": "parquet"}.get(path.suffix.lower())
    if named and named != fmt:
        proposal.notes.append(Text(
            f"named {path.suffix} but its content is {fmt}: read as {fmt}",
            f"nommé {path.suffix} mais son contenu est {fmt} : lu en {fmt}"))
    with tempfile.TemporaryDirectory(prefix="lci-init-") as folder:
        work = Path(folder)
        header: list[str] | None = None
        if fmt == "csv":
            options = _csv_options(path, work)
        elif fmt == "xlsx":
            options = _choose_sheet(path, proposal)
        else:
            options = {}
            header = _parquet_columns(path, work)
        con, raw = _read(path, fmt, options, work, header)
        try:
            proposal.header = list(raw.header)
            # a Parquet file's lists and structures are not read: they hold no single value
            proposal.rows, values = _values(con, raw, header or proposal.header)
            table, columns, missing = guess_table(proposal.header, values)
            proposal.table, proposal.columns, proposal.missing = table, columns, missing
            used = {c.file for c in columns}
            proposal.unused = [h for h in proposal.header if h not in used]
            if table is not None:
                proposal.recode, proposal.unrecognised = propose_recodes(table, columns, values)
                if fmt != "parquet":
                    decimal, thousands = _decimal(con, raw, table, columns)
                    if fmt == "csv" or decimal == ",":
                        options["decimal"] = decimal
                    if thousands:
                        options["thousands"] = thousands
                proposal.years = _years(con, raw, next(
                    (c for c in columns if c.contract == "year"), None))
        finally:
            con.close()
    proposal.options = options
    return proposal


def _choose_sheet(path: Path, proposal: Proposal) -> dict[str, object]:
    """The sheet whose header matches a contract table best (the first one when none does),
    and its header row."""
    sheets = _sheet_rows(path)
    best: tuple | None = None
    for index, (name, rows) in enumerate(sheets):
        row = _header_row(rows)
        header = [c for c in (rows[row - 1] if len(rows) >= row else []) if c]
        table, columns, missing = guess_table(header, {h: [] for h in header})
        score = (table is not None, _score(table, columns, missing) if table else (), -index)
        if best is None or score > best[0]:
            best = (score, name, row)
    assert best is not None
    _, sheet, row = best
    if len(sheets) > 1:
        others = [n for n, _ in sheets if n != sheet]
        proposal.notes.append(Text(f"other sheets, not read: {', '.join(others)}",
                                   f"autres feuilles, non lues : {', '.join(others)}"))
    options: dict[str, object] = {"sheet": sheet}
    if row != 1:
        options["header_row"] = row
    return options


def _parquet_columns(path: Path, work: Path) -> list[str]:
    """The Parquet file's columns holding single values (lists and structures left out)."""
    import duckdb

    from pipelines.reading.readers import NESTED
    from pipelines.warehouse import WarehouseError, connect

    try:
        con = connect(readable=[path])
    except WarehouseError as error:
        raise _Unusable(Text(f"cannot be read: {error}", f"illisible : {error}")) from None
    try:
        described = con.read_parquet(str(path))
        return [name for name, kind in zip(described.columns, described.types, strict=True)
                if not any(mark in str(kind) for mark in NESTED)]
    except duckdb.Error as error:
        reason = str(error).strip().splitlines()[0]
        raise _Unusable(Text(f"cannot be read as Parquet: {reason}",
                             f"illisible en Parquet : {reason}")) from None
    finally:
        con.close()


# --- writing -------------------------------------------------------------------------------

def _files_of(given: Sequence[Path], skipped: list[Skipped]) -> list[Path]:
    """The files named, a folder standing for the files in it (and below, hidden ones left
    out), in name order."""
    files: list[Path] = []
    for path in given:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                skipped.append(Skipped(path, Text("the folder holds no file",
                                                  "le dossier ne contient aucun fichier")))
            for other in (p for p in inside if p.suffix.lower() not in FOLDER_SUFFIXES):
                skipped.append(Skipped(other, Text(
                    "not named as a data file (.csv, .tsv, .xlsx, .parquet): give it by name "
                    "to read it anyway",
                    "pas nommé comme un fichier de données (.csv, .tsv, .xlsx, .parquet) : "
                    "donnez-le par son nom pour le lire quand même")))
            files += [p for p in inside if p.suffix.lower() in FOLDER_SUFFIXES][
                :MAX_FOLDER_FILES]
        else:
            files.append(path)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in files:
        key = path.resolve() if path.exists() else path.absolute()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as x, open(b, "rb") as y:
        while True:
            chunk = x.read(1 << 20)
            if chunk != y.read(1 << 20):
                return False
            if not chunk:
                return True


def _place(folder: Path, proposals: list[Proposal]) -> None:
    """Where each file is read from: in place when inside the project folder, else a copy in
    ``raw/`` (an identical file already there is used as it is)."""
    root = folder.resolve()
    taken: set[str] = set()
    outside = []
    for p in proposals:
        resolved = p.given.resolve()
        # a file at the top named 'insee:x.csv' would name a data root: it is read from a copy
        if resolved.is_relative_to(root) and not DATA_ROOT_FORM.match(
                resolved.relative_to(root).as_posix()):
            p.path = resolved.relative_to(root).as_posix()
            taken.add(p.path)
        else:
            outside.append(p)
    for p in outside:
        # the copy's name: no '\\' (read as a folder separator in a project file)
        stem, suffix = p.given.stem.replace("\\", "_"), p.given.suffix.replace("\\", "_")
        into = REFERENCE_FOLDER if p.table in REFERENCE_TABLES else RAW_FOLDER
        target, n = f"{into}/{stem}{suffix}", 2
        while target in taken:
            target, n = f"{into}/{stem}_{n}{suffix}", n + 1
        taken.add(target)
        p.path, p.copy_from = target, p.given
        existing = folder / target
        p.reuse = existing.is_file() and _same_content(existing, p.given)
    names: set[str] = set()
    for p in proposals:
        p.name = _source_name(p.table or Path(p.path).stem, names)


def _atomic_write(target: Path, fill: Callable[[Path], object]) -> None:
    """Write ``target`` whole or not at all, and never over an existing file: the content goes
    to a temporary file beside it, then is linked into place (which fails if the name
    exists)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                    dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        fill(temporary)
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise InitError(Text(f"{target} appeared while lci init was writing: left as it is",
                                 f"{target} est apparu pendant l'écriture : laissé tel "
                                 "quel")) from None
        except OSError:  # a file system without hard links
            if target.exists():
                raise InitError(Text(f"{target} already exists", f"{target} existe déjà")) \
                    from None
            os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _write_text(target: Path, text: str) -> None:
    _atomic_write(target, lambda p: p.write_text(text, encoding="utf-8", newline="\n"))


def start_project(folder: Path, files: Sequence[Path] = (), *,
                  today: date | None = None) -> InitResult:
    """Write ``folder/lci.yaml`` (and codebook templates, and copies of the files given), or
    nothing at all when one of them exists.

    Each file given (or file in a folder given) is read and proposed as a source; a file that
    cannot be read, or whose columns match no contract table, is listed with the reason and
    the others are still proposed."""
    import duckdb

    from pipelines.config import PROJECT_FILE, ProjectConfig
    from pipelines.validating.contracts import SCHEMAS

    today = today or date.today()
    if folder.exists() and not folder.is_dir():
        raise InitError(Text(f"{folder} is a file, not a folder: give the project's folder",
                             f"{folder} est un fichier, pas un dossier : indiquez le dossier "
                             "du projet"))
    project_file = folder / PROJECT_FILE
    if project_file.exists():
        raise InitError(Text(
            f"{project_file} already exists: nothing written (lci init never overwrites; "
            f"check it with lci validate --config {project_file}, or choose another folder)",
            f"{project_file} existe déjà : rien n'a été écrit (lci init n'écrase jamais ; "
            f"vérifiez-le avec lci validate --config {project_file}, ou choisissez un autre "
            "dossier)"))
    skipped: list[Skipped] = []
    proposals: list[Proposal] = []
    unmatched: list[Proposal] = []
    found = not files and folder.is_dir()
    if found:  # a folder of files: the data files already in it are proposed in place
        files = sorted(p for p in folder.rglob("*") if p.is_file()
                       and p.suffix.lower() in DATA_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for path in _files_of(files, skipped):
        if path.resolve() == project_file.resolve():
            continue
        try:
            proposal = inspect_file(path)
        except _Unusable as problem:
            skipped.append(Skipped(path, problem.why))
            continue
        except (OSError, ValueError, UnicodeError, RuntimeError, duckdb.Error) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else \
                type(error).__name__  # whatever the file holds: one line, the others go on
            skipped.append(Skipped(path, Text(f"cannot be read: {reason}",
                                              f"illisible : {reason}")))
            continue
        (proposals if proposal.table else unmatched).append(proposal)
    _place(folder, proposals + unmatched)
    covered = {p.table for p in proposals}
    templates = {t: folder / REFERENCE_FOLDER / f"{t}.csv" for t in REFERENCE_TABLES
                 if t not in covered}
    copies = [p for p in proposals + unmatched if p.copy_from is not None and not p.reuse]
    templates = {t: path for t, path in templates.items()
                 if path.relative_to(folder).as_posix() not in {p.path for p in copies}}
    headers = {t: ",".join(SCHEMAS[t].columns) + "\n" for t in templates}
    kept = [t for t, path in templates.items()  # a template left by an earlier init is kept
            if path.is_file() and path.read_bytes() == headers[t].encode("utf-8")]
    targets = [project_file, *(path for t, path in templates.items() if t not in kept),
               *(folder / p.path for p in copies)]
    existing = [t for t in targets if t.exists()]
    if existing:
        listed = ", ".join(str(t) for t in existing)
        raise InitError(Text(
            f"already there: {listed}; nothing written (lci init never overwrites: move them "
            f"away, give them as files to use them, or choose another folder)",
            f"déjà présent(s) : {listed} ; rien n'a été écrit (lci init n'écrase jamais : "
            f"déplacez-les, donnez-les comme fichiers pour les utiliser, ou choisissez un "
            "autre dossier)"))
    text = render_project(folder, proposals, unmatched, skipped, templates, today)
    _check(text, folder, ProjectConfig)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for p in copies:
            assert p.copy_from is not None
            target = folder / p.path
            _atomic_write(target, lambda t, src=p.copy_from: shutil.copyfile(src, t))
            written.append(target)
        for table, target in templates.items():
            if table not in kept:
                _write_text(target, headers[table])
                written.append(target)
        _write_text(project_file, text)
        written.append(project_file)
    except (OSError, InitError) as error:
        for path in reversed(written):  # nothing half done: what was written goes again
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(error, InitError):
            raise
        reason = error.strerror or str(error)
        raise InitError(Text(f"cannot write in {folder}: {reason}; nothing left written",
                             f"impossible d'écrire dans {folder} : {reason} ; rien n'est "
                             "resté écrit")) from None
    return InitResult(folder, project_file, written, proposals, skipped, unmatched,
                      list(templates.values()), found and bool(files))


def _check(text: str, folder: Path, model: type[ProjectConfig]) -> None:
    """The written project file must load: a guess that the project file refuses is LCI's
    mistake, caught here before anything is written."""
    import yaml
    from pydantic import ValidationError

    from pipelines.config import PROJECT_FILE

    try:
        data = yaml.safe_load(text)
        model.model_validate({**data, "root": folder.resolve(),
                              "file": (folder / PROJECT_FILE).resolve()})
    except (yaml.YAMLError, ValidationError, TypeError) as error:
        reason = str(error).strip().splitlines()[0]
        raise InitError(Text(
            f"the project file proposed for these files does not load ({reason}); nothing "
            "written: please report it, with the files' headers",
            f"le fichier de projet proposé pour ces fichiers ne se charge pas ({reason}) ; "
            "rien n'a été écrit : merci de le signaler, avec les en-têtes des fichiers")) from None


# --- the project file's text ---------------------------------------------------------------

HEADER = """\
# LCI project file — fichier de projet LCI
# Written by `lci init` on {today}. Reference / référence : docs/city-departments.md
#
# Lines marked "{guessed}" are what lci init guessed from your files: check
# each one, correct it if need be, then delete the mark. Then run:
# Les lignes marquées « {guessed} » ont été devinées à partir de vos fichiers :
# vérifiez chacune, corrigez-la au besoin, puis effacez la marque. Lancez ensuite :
#
#   lci validate --config {project_file}
#
# Values in quotes stay text (write codes such as "01053" in quotes, or they lose their
# leading zero). / Les valeurs entre guillemets restent du texte (écrivez les codes comme
# "01053" entre guillemets, sinon ils perdent leur zéro en tête).

# The project's name, shown in the reports / nom du projet, affiché dans les rapports.
name: {name}

# The years the project covers: whole numbers / les années couvertes : nombres entiers.
years: [{years}]{years_mark}

# Territory levels, base unit first (optional; default: INSEE's communes, EPCI, départements,
# régions) / niveaux de territoire, unité de base d'abord (facultatif ; par défaut ceux de
# l'INSEE). A territory is its level and its code: write "LEVEL:CODE" where levels share one.
# territory_levels:
#   - {{code: MUN, label: {{en: Municipalities, fr: Municipalités}}, pattern: '^\\d{{7}}$',
#      example: "1234567"}}
#   - {{code: DIST, label: {{en: Districts, fr: Districts}}, pattern: '^\\d{{3}}$',
#      example: "101", column: district_code}}    # the territories column naming the parent

# What the population table gives (optional; default: INSEE's age bands, by sex) / ce que
# donne la table de population (facultatif). null: no age detail, totals only.
# population:
#   age_bands: ["0-14", "15-29", "30-44", "45-59", "60-74", "75+"]
#   sex: false

# The survey's questions, as conditions name them (optional; default: the EU AES items) /
# les questions de l'enquête (facultatif ; par défaut celles de l'enquête AES).
# survey_items:
#   - {{name: took_course, label: {{en: Took a course, fr: A suivi un cours}}, codes: [0, 1],
#      missing: ["9"]}}
#   - {{name: age, label: {{en: Age, fr: Âge}}, range: [16, 74], required: true}}

# Folders outside this one that sources may read (optional) / dossiers hors de celui-ci que
# les sources peuvent lire (facultatif). A source then names its file as root:path.
# data_roots:
#   insee: /srv/data/insee          # then / puis : path: insee:population_2024.parquet
"""

SOURCES_HELP = """\
# One entry per file / une entrée par fichier:
#   name:    the source's name: lowercase letters, digits, _ / nom : minuscules, chiffres, _
#   path:    the file, relative to this folder (raw/population.xlsx) / chemin relatif
#   format:  csv, xlsx or parquet
#   table:   the contract table it feeds / table du contrat qu'il alimente: territories,
#            territory_groups, admin_codebook, population, population_totals,
#            survey_responses, admin_measures, commuting
#   options: how to read it; anything left out is detected / comment le lire ; ce qui est
#            omis est détecté:
#              delimiter: ";"        CSV separator / séparateur (";", ",", tab, "|")
#              decimal: ","          decimal mark / marque décimale ("." or ",")
#              thousands: "."        thousands separator under a decimal comma (1.234,5)
#              encoding: cp1252      utf-8, cp1252 (Windows), latin-1 … or auto
#              sheet: "Population"   Excel sheet (default: the first) / feuille Excel
#              header_row: 3         row of the header, under a title / ligne de l'en-tête
#   columns: contract column: column in your file (CODGEO, ANNEE …); leave it out when the
#            file already uses the contract's names / colonne du contrat : colonne du fichier
#   recode:  values of your file turned into the contract's / valeurs recodées:
#              sex: {"1": "M", "2": "F"}
#   missing_codes: codes meaning "no answer" / codes « sans réponse »:  {"*": ["9", "99"]}
"""

SOURCE_EXAMPLES = """\
  # Examples, to copy and adapt / exemples à copier et adapter:
  #
  # - name: population
  #   path: raw/population.xlsx
  #   format: xlsx
  #   table: population
  #   options: {sheet: "Population", header_row: 3}
  #   columns: {territory_code: CODGEO, year: ANNEE, sex: SEXE, age_group: TRANCHE_AGE,
  #             population: POP}
  #   recode:
  #     sex: {"1": "M", "2": "F"}
  #
  # - name: admin_measures
  #   path: raw/admin_measures.csv
  #   format: csv
  #   options: {delimiter: ";", decimal: ",", encoding: cp1252}
  #   table: admin_measures
  #   columns: {territory_code: code_commune, year: annee, measure_id: indicateur,
  #             value: valeur, source: source}
  #
  # - name: survey
  #   path: raw/survey.parquet
  #   format: parquet
  #   table: survey_responses
  #   missing_codes: {"*": ["9"]}
"""

TEMPLATE_HELP: dict[str, str] = {
    "territories": (
        "  # Every territory shown or used: communes, EPCIs, départements, régions. Fill in\n"
        "  # {path} / toutes les communes, EPCI, départements et régions :\n"
        "  #   territory_code,level,name,epci_code,departement_code,region_code,valid_from,"
        "valid_to\n"
        "  #   56260,COM,Vannes,200067932,56,53,,\n"),
    "territory_groups": (
        "  # Custom groups of communes (optional: uncomment once {path} lists some)\n"
        "  # groupes de communes (facultatif : décommentez quand le fichier en liste) :\n"
        "  #   group_code,group_name_en,group_name_fr,member_code\n"
        "  #   PAYS-VANNES,Pays de Vannes,Pays de Vannes,56260\n"),
    "admin_codebook": (
        "  # The administrative measures and their allowed range; fill in {path}\n"
        "  # les mesures administratives et leurs bornes :\n"
        "  #   measure_id,label_en,label_fr,unit,min_value,max_value,description_en\n"
        "  #   library_active_users,Active library users,Usagers actifs des bibliothèques,"
        "persons,0,1000000,\n"),
}

FOOTER = """\
# What the report shows / ce que montre le rapport.
report:
  title:
    en: {title}
    fr: {title}
  # territories: ["56260", "56243", "PAYS-VANNES"]   # shown, in this order (default: all)

# How strict validation is (the defaults) / sévérité de la validation (valeurs par défaut).
validation:
  max_rejected_share: 0.05     # the run fails above 5 % of rows rejected in a source
  lonely_psu: fail             # a survey stratum with one PSU: fail, adjust, average,
                               # certainty or remove (as R's survey.lonely.psu)
  population_tolerance: 0.005  # gap allowed between the age-sex detail and the totals

# Resources DuckDB may use / ressources allouées à DuckDB.
database:
  memory_limit: 1.5GB          # or 1,5 Go, 800 Mo; null leaves DuckDB its own
  # threads: 2                 # default: all cores / par défaut : tous les cœurs

# Known failures accepted for a while / échecs connus acceptés pour un temps:
# waivers:
#   - source: population
#     check: population.territory_code.known_commune
#     territory: "56260"
#     reason: "Commune merged in 2024; territories file to be updated"
#     owner: "Service statistique"
#     expires: 2026-12-31
"""


def _comment(text: str) -> str:
    """Text from a file (a column name, a path) safe inside a YAML comment: one line."""
    return "".join(c if c.isprintable() else "?" for c in text)


def render_project(folder: Path, proposals: list[Proposal], unmatched: list[Proposal],
                   skipped: list[Skipped], templates: dict[str, Path], today: date) -> str:
    """The project file's text: the header, one source per proposal (guesses marked), the
    codebook sources, the files not proposed in comments, and the settings with their
    defaults."""
    from pipelines.config import PROJECT_FILE
    years = sorted(set().union(*(p.years for p in proposals))) if proposals else []
    years_mark = f"   {GUESSED} (found in the files / trouvées dans les fichiers)"
    if not years:
        years, years_mark = [today.year], "   # the year of your first report / votre " \
                                          "première année"
    project = folder.resolve().name or "project"
    parts = [HEADER.format(today=today.isoformat(), guessed=GUESSED,
                           project_file=_comment(str(folder / PROJECT_FILE)),
                           name=_quoted(project), years=", ".join(str(y) for y in years[:200]),
                           years_mark=years_mark)]
    parts.append("\n" + SOURCES_HELP + "sources:\n")
    for p in proposals:
        parts.append(_render_source(p))
    taken = {p.name for p in proposals + unmatched}
    for table, path in templates.items():
        relative = path.relative_to(folder).as_posix()
        name = table if table not in taken else f"{table}_template"
        parts.append(TEMPLATE_HELP[table].format(path=relative))
        lines = [f"- name: {name}", f"  path: {relative}", "  format: csv",
                 f"  table: {table}"]
        # a codebook nothing needs yet stays commented out: empty, it would stop the run
        optional = table == "territory_groups" or (table == "admin_codebook" and proposals and
                                                   all(p.table != "admin_measures"
                                                       for p in proposals))
        if optional and table == "admin_codebook":
            parts.append("  # (uncomment with your first administrative measures / décommentez"
                         " avec vos premières mesures administratives)\n")
        prefix = "  # " if optional else "  "
        parts.append("".join(f"{prefix}{line}\n" for line in lines) + "\n")
    for p in unmatched:
        parts.append(_render_unmatched(p))
    if skipped:
        parts.append("  # Files not read / fichiers non lus:\n")
        for s in skipped:
            parts.append(f"  #   {_comment(str(s.file))}: {_comment(s.why.en)}\n")
        parts.append("\n")
    if not proposals:
        parts.append(SOURCE_EXAMPLES + "\n")
    parts.append(FOOTER.format(title=_quoted(project)))
    return "".join(parts)


def _render_options(p: Proposal, indent: str) -> list[str]:
    lines = []
    if p.options:
        lines.append(f"{indent}options:")
        for key, value in p.options.items():
            if key == "header_row":
                why = f"# detected: the header is on row {value}"
            elif key == "sheet":
                why = "# detected / détectée"
            else:
                why = "# detected / détecté"
            shown = str(value) if isinstance(value, int) else _quoted(value)
            lines.append(f"{indent}  {key}: {shown}".ljust(40) + f" {why}")
    return lines


def _render_source(p: Proposal) -> str:
    from pipelines.validating.contracts import SCHEMAS

    assert p.table is not None
    origin = f"# copied from / copié depuis {_comment(str(p.copy_from.resolve()))}" \
        if p.copy_from else "# in the project folder / dans le dossier du projet"
    if p.reuse:
        origin = ("# already there, same as / déjà là, identique à "
                  f"{_comment(str(p.copy_from.resolve()))}")
    lines = [f"  - name: {p.name}",
             f"    path: {_quoted(p.path)}".ljust(40) + f" {origin}",
             f"    format: {p.format}".ljust(40) + " # detected from its content / détecté",
             f"    table: {p.table}".ljust(40) + f" {GUESSED}"]
    for note in p.notes:
        lines.append(f"    # {_comment(note.en)} / {_comment(note.fr)}")
    lines += _render_options(p, "    ")
    lines.append("    columns:".ljust(40) + " # contract column: column in your file")
    for c in p.columns:
        mark = {"exact": "", "name": f" {GUESSED}",
                "values": f" {GUESSED} (from its values / d'après ses valeurs)"}[c.how]
        lines.append(f"      {c.contract}: {_quoted(c.file)}".ljust(40) + mark
                     if mark else f"      {c.contract}: {_quoted(c.file)}")
    schema = SCHEMAS[p.table]
    for column in p.missing:
        if schema.columns[column].nullable:
            lines.append(f"      # {column}:    # not in the file; it may stay empty / absente "
                         "du fichier ; elle peut rester vide")
        else:
            lines.append(f"      # {column}: ???    # not found: name the file's column, then "
                         "uncomment / introuvable : nommez la colonne du fichier")
    if p.unused:
        shown = ", ".join(_comment(u) for u in p.unused)
        lines.append(f"      # not used / non utilisées: {shown}")
    if p.recode or p.unrecognised:
        lines.append("    recode:".ljust(40) + " # your values: the contract's")
        for column, mapping in p.recode.items():
            pairs = ", ".join(f"{_quoted(k)}: {_quoted(v)}" for k, v in mapping.items())
            lines.append(f"      {column}: {{{pairs}}}".ljust(40) + f" {GUESSED}")
        for column, left in p.unrecognised.items():
            allowed = ", ".join(_allowed(p.table, column) or [])
            shown = ", ".join(_comment(v) for v in left[:20])
            lines.append(f"      # {column}: values not recognised / non reconnues: {shown} "
                         f"(allowed / admises: {allowed})")
    return "\n".join(lines) + "\n\n"


def _render_unmatched(p: Proposal) -> str:
    shown = ", ".join(_comment(h) for h in p.header[:40])
    lines = ["  # This file's columns match no contract table: fill in table and columns,",
             "  # then uncomment / les colonnes de ce fichier ne correspondent à aucune table :",
             "  # complétez table et columns, puis décommentez.",
             f"  # Its columns / ses colonnes: {shown}",
             f"  # - name: {p.name}",
             f"  #   path: {_quoted(p.path)}",
             f"  #   format: {p.format}",
             "  #   table: ???"]
    if p.options:
        shown = ", ".join(f"{k}: {v if isinstance(v, int) else _quoted(v)}"
                          for k, v in p.options.items())
        lines.append(f"  #   options: {{{shown}}}   # detected / détecté")
    lines.append("  #   columns: {contract_column: \"column in the file\"}")
    return "\n".join(lines) + "\n\n"


def _shown_option(value: object) -> str:
    return "tab" if value == "\t" else str(value) if isinstance(value, int) else f"'{value}'"


def summary(result: InitResult) -> Iterable[Text]:
    """What to tell the user, line by line: what was written, what to check, what next."""
    from pipelines.config import PROJECT_FILE
    if result.found_in_folder:
        yield Text(f"No file given: the data files already in {result.folder} are proposed "
                   "(read where they are).",
                   f"Aucun fichier donné : les fichiers de données déjà dans {result.folder} "
                   "sont proposés (lus là où ils sont).")
    for path in result.written:
        yield Text(f"Written: {path}", f"Écrit : {path}")
    for p in result.proposals:
        where = f" (copied from {p.copy_from})" if p.copy_from and not p.reuse else ""
        where_fr = f" (copié depuis {p.copy_from})" if p.copy_from and not p.reuse else ""
        read = ", ".join(f"{k} {_shown_option(v)}" for k, v in p.options.items())
        read = f" ({read})" if read else ""
        yield Text(f"  {p.path}: {p.format}{read}, table {p.table}, {len(p.columns)} "
                   f"column(s) mapped{where}",
                   f"  {p.path} : {p.format}{read}, table {p.table}, {len(p.columns)} "
                   f"colonne(s) associée(s){where_fr}")
        if p.missing:
            yield Text(f"    not found in the file: {', '.join(p.missing)}",
                       f"    introuvables dans le fichier : {', '.join(p.missing)}")
        for note in p.notes:
            yield Text(f"    {note.en}", f"    {note.fr}")
    for p in result.unmatched:
        yield Text(f"{p.given}: its columns match no contract table ({', '.join(p.header[:12])}"
                   f"): left commented out in {PROJECT_FILE}, to complete",
                   f"{p.given} : ses colonnes ne correspondent à aucune table du contrat "
                   f"({', '.join(p.header[:12])}) : laissé en commentaire dans {PROJECT_FILE}, "
                   "à compléter")
    for s in result.skipped:
        yield Text(f"{s.file}: not read: {s.why.en}", f"{s.file} : non lu : {s.why.fr}")
    if any(p.copy_from for p in result.proposals + result.unmatched):
        yield Text(f"Files from elsewhere were copied into {result.folder} (raw/, reference/) "
                   "so that the project folder holds everything; your files are untouched.",
                   f"Les fichiers venus d'ailleurs ont été copiés dans {result.folder} (raw/, "
                   "reference/) pour que le dossier du projet contienne tout ; vos fichiers "
                   "n'ont pas été modifiés.")
    templates = result.templates
    if templates:
        yield Text("Fill in the codebooks: " + ", ".join(str(t) for t in templates),
                   "Complétez les référentiels : " + ", ".join(str(t) for t in templates))
    if result.proposals:
        yield Text(f"Check every line marked '{GUESSED}' in {result.project_file}.",
                   f"Vérifiez chaque ligne marquée « {GUESSED} » dans {result.project_file}.")
    yield Text(f"Next: lci validate --config {result.project_file}",
               f"Ensuite : lci validate --config {result.project_file}")
