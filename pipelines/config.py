"""The project configuration: which files feed which contract table, and how the report looks.

Everything a city may need to change (sources, territories shown, language, title) lives in one
YAML file, read here into frozen, typed objects whose errors name the file, the line and the
field.

Reading is safe against hostile or unlucky files: the file is at most
:data:`MAX_FILE_BYTES` (checked before parsing), must be UTF-8, nests at most
:data:`MAX_DEPTH` levels and holds at most :data:`MAX_NODES` values once aliases are expanded;
only plain YAML values are constructed (no Python objects, no binary or set tags); a key
written twice in one mapping is an error naming both lines. Source paths stay inside the
project folder, or inside a data root the project declares (``data_roots``);
:meth:`ProjectConfig.path_of` is the one place they are resolved.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path, PurePosixPath
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, SequenceNode

from indicators.catalogue.project import ProjectIndicators
from indicators.territories import FRENCH_LEVELS, Level, TerritoryModel
from pipelines.problems import Problem, Text
from pipelines.validating.contracts import (
    AES_ITEMS,
    AGE_GROUPS,
    SURVEY_DESIGN_COLUMNS,
    Contracts,
    SurveyItem,
    build_contracts,
)

SourceFormat = Literal["csv", "xlsx", "parquet"]
CONTRACT_TABLES = (
    "territories",
    "territory_groups",
    "admin_codebook",
    "population",
    "population_totals",
    "survey_responses",
    "admin_measures",
    "commuting",
)

MAX_FILE_BYTES = 1_000_000
"""A project file is a page of settings; anything larger is refused before it is parsed."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists (the sample project nests 6 deep)."""
MAX_NODES = 100_000
"""Most values in the file, counting every use of an alias (the sample holds about 300)."""
MAX_SHOWN = 80
"""Longest value quoted in a message."""
MAX_LISTED = 30
"""Most problems listed in the console message (all are kept in ``ConfigError.problems``)."""


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field.

    ``problems`` says the same as data: one :class:`Problem` per thing wrong, with its code
    (``config.not_found``, ``config.extra_field`` …), the file, the line, the field, the value
    as written and the message in English and French.
    """

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class _Invalid(ValueError):
    """A value refused by a validator, with its problem code and bilingual message.

    ``items`` holds problems found by a cross-field check: (location below the model, the
    problem, the value as written), each reported at its own field.
    """

    def __init__(self, code: str, message: Text, hint: Text | None = None,
                 items: tuple[tuple[tuple, _Invalid, object], ...] = ()) -> None:
        super().__init__(message.en)
        self.code, self.message, self.hint, self.items = code, message, hint, items


# Pydantic's error types, as problem codes with a French rendering of the message.
PYDANTIC_CODES: dict[str, tuple[str, str]] = {
    "extra_forbidden": ("extra_field", "champ non prévu"),
    "missing": ("missing_field", "champ obligatoire manquant"),
    "literal_error": ("invalid_choice", "valeur non admise"),
}
ALLOWED_FIELDS_HINT = Text("see the project file reference for the allowed fields and values",
                           "voir la référence du fichier de projet pour les champs et valeurs "
                           "admis")
REFERENCE = "docs/city-departments.md#the-project-file"


def _shown(value: object) -> str | None:
    """A value as a message may quote it: one line, control characters escaped, short."""
    if value is None or isinstance(value, dict | list | tuple | set):
        return None
    text = str(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: MAX_SHOWN * 2])
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _problem(path: Path, code: str, message: Text, *, field: str | None = None,
             value: object = None, hint: Text | None = None, row: int | None = None) -> Problem:
    return Problem(f"config.{code}", "error", message, file=str(path), row=row, field=field,
                   value=_shown(value), hint=hint)


# --- values with a form of their own -------------------------------------------------------

def _no_bool(value: object) -> object:
    """YAML reads yes/no/on/off as booleans: never take them for numbers."""
    if isinstance(value, bool):
        raise _Invalid("invalid_value", Text(
            f"expected a number, not {str(value).lower()} (yes/no/on/off are read as booleans)",
            f"nombre attendu, pas {str(value).lower()} (yes/no/on/off sont lus comme des "
            "booléens)"))
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]
Share = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1, allow_inf_nan=False)]

DELIMITER_WORDS = {"\\t": "\t", "tab": "\t", "tabulation": "\t", "semicolon": ";",
                   "point-virgule": ";", "comma": ",", "virgule": ",", "pipe": "|"}
DELIMITER_HINT = Text(
    "write one character in quotes, e.g. delimiter: \";\", or one of the words tab, "
    "tabulation, \\t, semicolon, comma, pipe (point-virgule, virgule); leave it out to detect it",
    "indiquez un caractère entre guillemets, par ex. delimiter: \";\", ou l'un des mots tab, "
    "tabulation, \\t, point-virgule, virgule, pipe ; omettez-le pour le détecter")


def parse_delimiter(value: object) -> str | None:
    """A CSV delimiter as one character: the escapes and words for a tab normalised."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid("invalid_delimiter", Text(
            "the delimiter must be one character, written in quotes",
            "le séparateur doit être un caractère, écrit entre guillemets"), DELIMITER_HINT)
    if value == "":
        raise _Invalid("invalid_delimiter", Text(
            "the delimiter is empty (for '|', write it in quotes: delimiter: \"|\")",
            "le séparateur est vide (pour '|', écrivez-le entre guillemets : delimiter: \"|\")"),
            DELIMITER_HINT)
    word = value.strip().lower()
    delimiter = DELIMITER_WORDS.get(word, value if not word or len(value) == 1 else word)
    if delimiter in ("\n", "\r", "\r\n"):
        problem = Text("a line break cannot be the delimiter",
                       "un saut de ligne ne peut pas être le séparateur")
    elif delimiter in ('"', "'"):
        problem = Text("a quote cannot be the delimiter (quotes enclose values)",
                       "un guillemet ne peut pas être le séparateur (il entoure les valeurs)")
    elif len(delimiter) != 1:
        problem = Text(f"the delimiter must be a single character, not {len(delimiter)}",
                       f"le séparateur doit être un seul caractère, pas {len(delimiter)}")
    elif delimiter.isalnum():
        problem = Text("a letter or digit cannot be the delimiter",
                       "une lettre ou un chiffre ne peut pas être le séparateur")
    elif not (delimiter.isprintable() or delimiter == "\t"):
        problem = Text("the delimiter is an invisible control character",
                       "le séparateur est un caractère de contrôle invisible")
    else:
        return delimiter
    raise _Invalid("invalid_delimiter", problem, DELIMITER_HINT)


COMMON_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "iso-8859-15",
                    "cp850", "mac-roman", "ascii")
# Text codecs that are not file encodings.
NOT_FILE_ENCODINGS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}


def parse_encoding(value: object) -> str:
    """A text encoding Python knows (or ``auto``), as written; ``None`` means ``auto``."""
    if value is None:
        return "auto"
    hint = Text("common encodings: utf-8, cp1252 (Windows), latin-1; or auto to detect it",
                "encodages courants : utf-8, cp1252 (Windows), latin-1 ; ou auto pour le "
                "détecter")
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("invalid_encoding", Text("the encoding must be a name, e.g. utf-8",
                                                "l'encodage doit être un nom, par ex. utf-8"),
                       hint)
    name = value.strip()
    if name.lower() == "auto":
        return "auto"
    try:
        info = codecs.lookup(name) if len(name) <= 40 else None
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None:
        close = difflib.get_close_matches(name.lower(), COMMON_ENCODINGS, n=1, cutoff=0.5)
        guess = f" — did you mean {close[0]}?" if close else ""
        french = f" — vouliez-vous dire {close[0]} ?" if close else ""
        raise _Invalid("invalid_encoding", Text(f"unknown encoding{guess}",
                                                f"encodage inconnu{french}"), hint)
    if not getattr(info, "_is_text_encoding", True) or info.name in NOT_FILE_ENCODINGS:
        raise _Invalid("invalid_encoding", Text(
            f"{info.name} is not a text encoding (it transforms bytes, not characters)",
            f"{info.name} n'est pas un encodage de texte (il transforme des octets, pas des "
            "caractères)"), hint)
    return name


MEMORY_FORM = re.compile(r"^(\d{1,6}(?:[.,]\d{1,3})?)\s*([kmgt])(i?)([bo])$", re.IGNORECASE)
MEMORY_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4}
MEMORY_MIN, MEMORY_MAX = 100 * 1000**2, 1000 * 1000**4
MEMORY_HINT = Text(
    "write a size with its unit: 1.5GB, 1,5 Go, 800MB, 800 Mo, 2GiB, 512MB "
    "(KB, MB, GB, TB or Ko, Mo, Go, To; KiB, MiB, GiB, TiB); null leaves DuckDB its own "
    "limit",
    "indiquez une taille avec son unité : 1.5GB, 1,5 Go, 800MB, 800 Mo, 2GiB, 512MB "
    "(Ko, Mo, Go, To ou KB, MB, GB, TB ; KiB, MiB, GiB, TiB) ; null laisse la limite de DuckDB")


def parse_memory_limit(value: object) -> str | None:
    """A memory size in French or English units, as DuckDB reads it: '1,5 Go' -> '1.5GB'."""
    if value is None:
        return None
    match = MEMORY_FORM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _Invalid("invalid_memory_limit", Text("not a memory size with its unit",
                                                    "pas une taille mémoire avec son unité"),
                       MEMORY_HINT)
    number, prefix, binary, _ = match.groups()
    amount = Decimal(number.replace(",", "."))
    power = MEMORY_POWERS[prefix.upper()]
    size = amount * (1024 if binary else 1000) ** power
    if not MEMORY_MIN <= size <= MEMORY_MAX:
        raise _Invalid("invalid_memory_limit", Text(
            "the memory limit must be between 100MB and 1000TB",
            "la limite de mémoire doit être comprise entre 100 Mo et 1000 To"), MEMORY_HINT)
    shown = format(amount.normalize(), "f")
    return f"{shown}{prefix.upper()}{'iB' if binary else 'B'}"


NAME_FORM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CODE_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
LEVEL_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]{0,15}:")


def _source_name(value: object) -> object:
    if isinstance(value, str) and NAME_FORM.match(value):
        return value
    raise _Invalid("invalid_name", Text(
        "a source name is 1 to 64 lowercase letters, digits or _, starting with a letter "
        "(e.g. admin_measures)",
        "un nom de source compte 1 à 64 lettres minuscules, chiffres ou _, et commence par "
        "une lettre (par ex. admin_measures)"))


def _territory_code(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _Invalid("invalid_code", Text(
            "a territory code is text: write it in quotes (\"01053\"); unquoted, it is read as "
            "a number and loses its leading zeros",
            "un code de territoire est du texte : écrivez-le entre guillemets (\"01053\") ; "
            "sans guillemets, il est lu comme un nombre et perd ses zéros en tête"))
    if isinstance(value, str) and CODE_FORM.match(LEVEL_PREFIX.sub("", value, count=1)):
        return value
    raise _Invalid("invalid_code", Text(
        "a territory code is 1 to 40 letters, digits, '-', '_' or '.' (e.g. \"2A004\"), "
        "optionally after its level and a colon when levels share the code (\"REG:11\")",
        "un code de territoire compte 1 à 40 lettres, chiffres, '-', '_' ou '.' (par ex. "
        "\"2A004\"), éventuellement précédé de son niveau et de deux-points quand des niveaux "
        "partagent le code (\"REG:11\")"))


def _data_root_name(value: object) -> object:
    if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]{1,31}", value):
        return value
    raise _Invalid("invalid_data_root", Text(
        "a data root name is 2 to 32 lowercase letters, digits or _, starting with a letter "
        "(e.g. insee)", "un nom de racine de données compte 2 à 32 lettres minuscules, chiffres "
        "ou _, et commence par une lettre (par ex. insee)"))


def _one_line(value: object) -> object:
    if isinstance(value, str) and not value.isprintable():
        raise _Invalid("invalid_value", Text(
            "contains a line break or control character", "contient un saut de ligne ou un "
            "caractère de contrôle"))
    return value


TerritoryCode = Annotated[str, BeforeValidator(_territory_code)]
Line = Annotated[str, BeforeValidator(_one_line)]


# --- paths ---------------------------------------------------------------------------------

DATA_ROOT_PREFIX = re.compile(r"^([a-z][a-z0-9_]+):(.*)$", re.DOTALL)
WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:|/|~)")
PATH_HINT = Text(
    "write paths relative to the project file's folder (raw/file.csv); a file elsewhere "
    "needs a data root: data_roots: {insee: /srv/insee} and path: insee:file.parquet",
    "écrivez les chemins relativement au dossier du fichier de projet (raw/fichier.csv) ; "
    "un fichier ailleurs demande une racine de données : data_roots: {insee: /srv/insee} et "
    "path: insee:fichier.parquet")


def _split_path(path: Path | str) -> tuple[str | None, PurePosixPath]:
    """The data root named by a path (``insee:pop.parquet``) and the path below it, with ``.``
    and ``..`` folded; raises :class:`_Invalid` for an absolute path or one climbing out."""
    text = str(path).replace("\\", "/")
    root, rest = None, text
    if match := DATA_ROOT_PREFIX.match(text):
        root, rest = match.groups()
    if not rest.strip():
        raise _Invalid("invalid_path", Text("the path names no file",
                                            "le chemin ne nomme aucun fichier"), PATH_HINT)
    if "\x00" in rest:
        raise _Invalid("invalid_path", Text("the path contains a NUL character",
                                            "le chemin contient un caractère NUL"), PATH_HINT)
    if WINDOWS_ABSOLUTE.match(rest):
        raise _Invalid("path_outside_project", Text(
            "absolute paths are not allowed: the path must stay inside the project folder"
            + (" (or its data root)" if root else ""),
            "les chemins absolus ne sont pas admis : le chemin doit rester dans le dossier du "
            "projet" + (" (ou sa racine de données)" if root else "")), PATH_HINT)
    parts: list[str] = []
    for part in rest.split("/"):
        if part == "..":
            if not parts:
                raise _Invalid("path_outside_project", Text(
                    "'..' leaves the " + ("data root" if root else "project folder"),
                    "'..' sort " + ("de la racine de données" if root else
                                    "du dossier du projet")), PATH_HINT)
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    if not parts:
        raise _Invalid("invalid_path", Text("the path names no file",
                                            "le chemin ne nomme aucun fichier"), PATH_HINT)
    return root, PurePosixPath(*parts)


def _source_path(value: object) -> object:
    if not isinstance(value, str | Path):
        raise _Invalid("invalid_path", Text("the path must be text, e.g. raw/file.csv",
                                            "le chemin doit être du texte, par ex. "
                                            "raw/fichier.csv"), PATH_HINT)
    if len(str(value)) > 1000:
        raise _Invalid("invalid_path", Text("the path is longer than 1000 characters",
                                            "le chemin dépasse 1000 caractères"), PATH_HINT)
    _split_path(value)
    return str(value).replace("\\", "/")


# --- the models ----------------------------------------------------------------------------

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: object) -> object:
        """A setting left empty (``report:``, ``header_row:``) takes its default, unless None
        means something of its own there (``memory_limit: null``)."""
        if not isinstance(data, dict):
            return data
        empty = set()
        for key, value in data.items():
            field = cls.model_fields.get(key) if isinstance(key, str) else None
            if value is None and field is not None and not field.is_required() and (
                    field.default is not None or field.default_factory is not None) and (
                    type(None) not in get_args(field.annotation)):
                empty.add(key)
        return {k: v for k, v in data.items() if k not in empty} if empty else data


class ReaderOptions(_Frozen):
    """How to read one file. Anything left empty is detected, and the read report says so."""

    delimiter: Annotated[str | None, BeforeValidator(parse_delimiter)] = Field(
        default=None, description="CSV field separator, one character (detected)")
    decimal: Literal[".", ","] | None = Field(default=None, description="decimal mark (detected)")
    encoding: Annotated[str, BeforeValidator(parse_encoding)] = Field(
        default="auto", description="CSV text encoding, e.g. utf-8, cp1252")
    sheet: Line | None = Field(default=None, min_length=1, max_length=31,
                               description="Excel sheet name (default: first)")
    header_row: Int = Field(default=1, ge=1, le=1_048_576,
                            description="spreadsheet row holding the header")
    thousands: Literal[".", " "] | None = Field(
        default=None, description="thousands separator written between groups of three digits: "
        "'.' under a decimal comma (1.234,5); spaces are always read as such")

    @model_validator(mode="after")
    def _thousands_unlike_decimal(self) -> ReaderOptions:
        if self.thousands == "." and self.decimal != ",":
            raise ValueError("thousands '.' needs decimal ',' (as in 1.234,5): with a decimal "
                             "point, '1.234' would be read two ways")
        return self


class Source(_Frozen):
    """One input file and the contract table it feeds."""

    name: Annotated[str, BeforeValidator(_source_name)]
    path: Annotated[Path, BeforeValidator(_source_path)] = Field(
        description="relative to the project folder, or data_root:path")
    format: SourceFormat
    table: Literal[CONTRACT_TABLES]  # type: ignore[valid-type]
    options: ReaderOptions = ReaderOptions()
    columns: dict[str, Line | None] = Field(
        default_factory=dict, description="contract column -> column name in the file "
        "(empty: the file has no such column; only for optional columns)"
    )
    recode: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="contract column -> {value in file: contract value}"
    )
    missing_codes: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="contract column (or '*' for all) -> codes meaning 'no answer' (codebook)",
    )
    max_rejected_share: Share | None = None

    @model_validator(mode="after")
    def _recode_mapped_columns(self) -> Source:
        unknown = sorted(set(self.recode) - set(self.columns))
        if self.columns and unknown:
            raise _Invalid("invalid_value", Text(
                f"recode names columns that are not mapped: {unknown}",
                f"recode nomme des colonnes absentes de columns : {unknown}"))
        return self


class Waiver(_Frozen):
    """An accepted, known failure: it is reported as waived instead of rejecting rows."""

    source: str
    check: Line = Field(min_length=1, max_length=200,
                        description="check id, as in the validation report")
    rows: tuple[Annotated[int, BeforeValidator(_no_bool), Field(ge=1)], ...] = Field(
        default=(), description="file row numbers (default: all)")
    territory: TerritoryCode | None = Field(default=None,
                                            description="only rows of this territory")
    reason: str = Field(min_length=3, max_length=2000)
    owner: Line = Field(min_length=2, max_length=200)
    expires: date


LonelyPsu = Literal["fail", "adjust", "average", "certainty", "remove"]


class DatabaseSettings(_Frozen):
    """Resources DuckDB may use for the run; beyond the memory limit it spills to disk."""

    memory_limit: Annotated[str | None, BeforeValidator(parse_memory_limit)] = Field(
        default="1.5GB", description="DuckDB's memory limit (1.5GB, 1,5 Go, 800 Mo, 2GiB); "
                                     "None leaves DuckDB's (80 % of RAM)")
    threads: Int | None = Field(default=None, ge=1, le=1024, description="default: all cores")


class IndexSettings(_Frozen):
    """How much data the learning-city index needs, and its Monte Carlo analysis.

    A commune enters the index when it has values for at least ``min_indicator_share_per_unit``
    of the index's indicators (COINr ``Screen(unit_screen = "byNA", dat_thresh)``, whose
    default is 2/3); a domain when at least ``min_indicator_share_per_domain`` of its
    indicators can enter. With fewer than two communes or indicators left, or no domain, the
    index is left out and the report says why.
    """

    min_indicator_share_per_unit: Share = Field(
        default=0.5, description="share of the index's indicators a commune needs values for")
    min_indicator_share_per_domain: Share = Field(
        default=0.5, description="share of a domain's indicators that must have values")
    draws: Int = Field(default=500, ge=10, le=100_000,
                       description="Monte Carlo base draws (runs: draws × (choices + 2))")


class ValidationSettings(_Frozen):
    """How strict the run is."""

    max_rejected_share: Share = Field(
        default=0.05,
        description="the run fails when a source rejects a larger share of its rows")
    lonely_psu: LonelyPsu = Field(
        default="fail",
        description="rule for survey strata with a single PSU; 'fail' rejects their rows")
    panel_psus: bool = Field(
        default=True,
        description="a PSU code found in two survey years is the same PSU, surveyed again: "
                    "changes between those years take the covariance of its answers (false "
                    "when each year draws new PSUs under reused codes)")
    population_tolerance: Share = Field(
        default=0.005, description="relative gap allowed between detail and totals")


class ReliabilitySettings(_Frozen):
    """When a published survey cell is flagged as of low reliability, besides the indicator's
    ``reliable_n`` and ``max_cv``; the defaults are the NCHS Data Presentation Standards for
    Proportions (2017). A minimum of 0, or a width of 100, turns a rule off."""

    min_df: Int = Field(
        default=8, ge=0, le=1000,
        description="fewest design degrees of freedom (the cell's PSUs minus its strata)",
        json_schema_extra={"description_fr": (
            "nombre minimal de degrés de liberté du plan de sondage (unités primaires de la "
            "case moins ses strates)")})
    min_effective_n: Annotated[float, BeforeValidator(_no_bool)] = Field(
        default=30.0, ge=0, le=100_000, allow_inf_nan=False,
        description="smallest effective sample size (respondents over the design effect)",
        json_schema_extra={"description_fr": (
            "taille d'échantillon effective minimale (répondants divisés par l'effet de plan)")})
    max_interval_width: Annotated[float, BeforeValidator(_no_bool)] = Field(
        default=30.0, gt=0, le=100, allow_inf_nan=False,
        description="widest 95 % interval of a proportion, in percentage points",
        json_schema_extra={"description_fr": (
            "largeur maximale de l'intervalle à 95 % d'une proportion, en points")})
    symmetric_cv: bool = Field(
        default=True,
        description="a proportion's coefficient of variation is taken on the smaller of p and "
                    "1 − p, so that a share and its complement get the same verdict (false: "
                    "on p)",
        json_schema_extra={"description_fr": (
            "le coefficient de variation d'une proportion est calculé sur la plus petite de p "
            "et 1 − p, de sorte qu'une part et son complément reçoivent le même verdict "
            "(false : sur p)")})
    max_item_nonresponse: Share = Field(
        default=0.3,
        description="largest share of a cell's respondents without an answer to the "
                    "indicator's questions (OMB Standards for Statistical Surveys, 2006, "
                    "guideline 3.2.9: below a 70 % item response rate, nonresponse may bias "
                    "the estimate); 1 turns the rule off",
        json_schema_extra={"description_fr": (
            "part maximale des répondants d'une case sans réponse aux questions de "
            "l'indicateur (normes OMB des enquêtes statistiques, 2006, ligne directrice "
            "3.2.9 : sous 70 % de réponse à une question, la non-réponse peut biaiser "
            "l'estimation) ; 1 désactive la règle")})


class ReportSettings(_Frozen):
    """What the annual report shows and in which words."""

    title: dict[Literal["en", "fr"], Annotated[Line, Field(min_length=1, max_length=200)]] = (
        Field(default_factory=dict))
    territories: tuple[TerritoryCode, ...] = Field(
        default=(), max_length=10_000,
        description="territory or group codes, in display order (default: all)"
    )
    rows_per_level: Int = Field(
        default=100, ge=1, le=100_000,
        description="most territories of one level a table lists; a level with more shows "
                    "the distribution of its values, the index its 10 first and 10 last ranks",
        json_schema_extra={"description_fr": (
            "nombre maximal de territoires d'un niveau listés par tableau ; au-delà, la "
            "distribution de leurs valeurs, et pour l'indice ses 10 premiers et 10 derniers "
            "rangs")})
    highlight: tuple[TerritoryCode, ...] = Field(
        default=(), max_length=1_000,
        description="the report's own territories (e.g. the learning cities among their "
                    "peers): first in their level, in bold, in every table",
        json_schema_extra={"description_fr": (
            "les territoires propres au rapport (par exemple les villes apprenantes parmi "
            "leurs pairs) : en tête de leur niveau, en gras, dans chaque tableau")})
    contact: Line | None = Field(
        default=None, min_length=3, max_length=300,
        description="who answers readers' questions (printed in the colophon of every PDF)",
        json_schema_extra={"description_fr": (
            "qui répond aux questions des lecteurs (imprimé dans le colophon de chaque PDF)")})
    pdf: bool = Field(
        default=True,
        description="print the report and every profile to PDF as well (false: HTML only, "
                    "quicker, e.g. while setting a project up)",
        json_schema_extra={"description_fr": (
            "imprimer aussi le rapport et chaque portrait en PDF (false : HTML seulement, "
            "plus rapide, par exemple pendant la mise au point d'un projet)")})
    references: tuple[Annotated[Line, Field(min_length=1, max_length=60)], ...] | None = Field(
        default=None, max_length=50,
        description="what a territory profile compares a territory with: territory level "
                    "codes (EPCI, DEP…) and group codes; default: every level above the "
                    "territory's own and every group holding it",
        json_schema_extra={"description_fr": (
            "ce à quoi un portrait de territoire le compare : codes de niveaux (EPCI, DEP…) "
            "et codes de groupes ; par défaut, chaque niveau au-dessus du sien et chaque "
            "groupe qui le contient")})

    @field_validator("territories")
    @classmethod
    def _each_once(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted(c for c, n in Counter(codes).items() if n > 1)  # 10,000 codes: linear
        if repeated:
            raise _Invalid("invalid_value", Text(f"territories listed twice: {repeated}",
                                                 f"territoires cités deux fois : {repeated}"))
        return codes


class ExportSettings(_Frozen):
    """How the machine-readable exports are written."""

    csv: Literal["standard", "spreadsheet"] = Field(
        default="standard",
        description="'standard': comma, decimal point, UTF-8; 'spreadsheet': the run "
                    "language's spreadsheet conventions (French: ';', decimal comma and a "
                    "byte-order mark, as French Excel opens it); both in the run's language "
                    "(programs read the Parquet files or the SDMX-CSV, whose codes never change)",
        json_schema_extra={"description_fr": (
            "« standard » : virgule, point décimal, UTF-8 ; "
            "« spreadsheet » : les conventions du tableur de la langue du rapport (français : "
            "« ; », virgule décimale et marque d'ordre d'octets, comme Excel en français "
            "l'ouvre) ; l'un et l'autre dans la langue du rapport (les programmes lisent les "
            "fichiers Parquet ou le SDMX-CSV, dont les codes ne changent jamais)")})


class PopulationSettings(_Frozen):
    """What the population table gives: its age bands (none: totals only) and a sex split."""

    age_bands: tuple[Annotated[Line, Field(min_length=1, max_length=20)], ...] | None = Field(
        default=tuple(AGE_GROUPS), max_length=100,
        description="age bands as written in the age_group column (default: INSEE's); "
                    "null when the population has no age detail")
    sex: bool = Field(default=True, description="the population is split by sex (F, M)")

    @field_validator("age_bands")
    @classmethod
    def _bands_once(cls, bands: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if bands is not None and len(set(bands)) < len(bands):
            twice = sorted({b for b in bands if bands.count(b) > 1})
            raise ValueError(f"age bands listed twice: {twice}")
        return bands or None


class ItemLabel(_Frozen):
    en: Line = Field(min_length=1, max_length=300)
    fr: Line = Field(min_length=1, max_length=300)


class SurveyItemSetting(_Frozen):
    """One survey question (a column of ``survey_responses``) and the answers it allows."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$",
                      description="the contract column name conditions use")
    label: ItemLabel
    codes: tuple[Annotated[int, BeforeValidator(_no_bool)] | Line, ...] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="allowed answers (numbers or text codes)")
    range: tuple[float, float] | None = Field(default=None,
                                              description="[smallest, largest] allowed number")
    integer: bool = Field(default=True, description="a range item holds whole numbers")
    required: bool = Field(default=False, description="every respondent must answer")
    missing: tuple[Line, ...] = Field(default=(), max_length=100,
                                      description="codes in the file meaning 'no answer'")

    @model_validator(mode="after")
    def _answers(self) -> SurveyItemSetting:
        if self.name in SURVEY_DESIGN_COLUMNS:
            raise ValueError(f"{self.name} is a column of the sampling design, not an item")
        if self.codes is not None and self.range is not None:
            raise ValueError("give either codes or range, not both")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError("range: the smallest value comes first")
        kinds = {type(c) for c in self.codes or ()}
        if len(kinds) > 1:
            raise ValueError("codes are all numbers or all text")
        return self

    def item(self) -> SurveyItem:
        low, high = (tuple(int(v) if float(v).is_integer() else v for v in self.range)
                     if self.range is not None else (None, None))
        return SurveyItem(self.name, self.label.en, codes=self.codes, minimum=low, maximum=high,
                          integer=self.integer, required=self.required, missing=self.missing)


class CalibrationSettings(_Frozen):
    """Survey weights calibrated to the population table by sex and age (as R's
    ``survey::calibrate``), within each territory and year; off unless the section is given.
    Estimates and their standard errors then use the calibrated weights and the calibration
    residuals."""

    method: Literal["linear", "raking"] = Field(
        default="raking",
        description="'raking' (multiplicative, weights stay positive) or 'linear' (GREG)",
        json_schema_extra={"description_fr": (
            "« raking » (calage multiplicatif, les poids restent positifs) ou « linear » "
            "(estimateur GREG)")})
    margins: tuple[Annotated[tuple[Literal["sex", "age_group"], ...], BeforeValidator(
        lambda v: (v,) if isinstance(v, str) else v), Field(min_length=1, max_length=2)],
        ...] = Field(
        default=(("sex",), ("age_group",)), min_length=1, max_length=3,
        description="population margins the weights must reproduce: sex, age_group, or "
                    "[sex, age_group] for the two crossed",
        json_schema_extra={"description_fr": (
            "marges de population que les poids doivent reproduire : sex, age_group, ou "
            "[sex, age_group] pour les deux croisés")})
    level: Annotated[str, Field(min_length=1, max_length=20)] | None = Field(
        default=None,
        description="territory level whose territories each have their own population "
                    "(default: the base unit, the respondents' own commune)",
        json_schema_extra={"description_fr": (
            "niveau territorial dont chaque territoire a sa propre population (par défaut : "
            "l'unité de base, la commune des répondants)")})
    age_bands: tuple[Annotated[Line, Field(min_length=1, max_length=20)], ...] = Field(
        default_factory=lambda: tuple(next(i.codes for i in AES_ITEMS if i.name == "age_group")),
        min_length=1, max_length=100,
        description="the population's age bands the survey covers (default: the survey's "
                    "age_group codes)",
        json_schema_extra={"description_fr": (
            "tranches d'âge de la population que l'enquête couvre (par défaut : les codes "
            "age_group de l'enquête)")})
    bounds: tuple[Annotated[float, BeforeValidator(_no_bool)],
                  Annotated[float, BeforeValidator(_no_bool)]] | None = Field(
        default=None,
        description="[lower, upper] limits of each calibrated weight over its sampling weight",
        json_schema_extra={"description_fr": (
            "[minimum, maximum] du rapport entre chaque poids calé et son poids de sondage")})
    max_iterations: Int = Field(
        default=50, ge=1, le=1000, description="iterations before the calibration gives up",
        json_schema_extra={"description_fr": "itérations avant que le calage n'abandonne"})

    @field_validator("bounds")
    @classmethod
    def _bounds_surround_one(cls, bounds: tuple[float, float] | None
                             ) -> tuple[float, float] | None:
        if bounds is not None and not bounds[0] < 1 < bounds[1]:
            raise ValueError("bounds are [lower, upper] with lower < 1 < upper")
        return bounds

    def rules(self):  # noqa: ANN201 - indicators' CalibrationRules, imported when asked
        """The rules the survey indicators read (``ComputeOptions.calibration``)."""
        from indicators.compute.calibration import CalibrationRules

        return CalibrationRules(method=self.method, margins=self.margins, level=self.level,
                                age_bands=self.age_bands, bounds=self.bounds,
                                maxit=self.max_iterations)


class ProjectConfig(_Frozen):
    """A project: its sources, the years it covers and its report settings."""

    name: Line = Field(min_length=1, max_length=200)
    years: tuple[Annotated[int, BeforeValidator(_no_bool), Field(ge=1900, le=2100)], ...] = (
        Field(min_length=1, max_length=200))
    sources: tuple[Source, ...] = Field(min_length=1, max_length=1000)
    report: ReportSettings = ReportSettings()
    exports: ExportSettings = ExportSettings()
    validation: ValidationSettings = ValidationSettings()
    reliability: ReliabilitySettings = ReliabilitySettings()
    calibration: CalibrationSettings | None = Field(
        default=None, description="calibrate the survey weights to the population "
                                  "(off unless given)")
    database: DatabaseSettings = DatabaseSettings()
    index: IndexSettings = IndexSettings()
    waivers: tuple[Waiver, ...] = ()
    territory_levels: tuple[Level, ...] = Field(
        default=FRENCH_LEVELS.levels, min_length=1, max_length=12,
        description="territory levels, base unit first (default: COM, EPCI, DEP, REG)")
    population: PopulationSettings = PopulationSettings()
    survey_items: tuple[SurveyItemSetting, ...] | None = Field(
        default=None, max_length=2000,
        description="the survey's questions (default: the EU AES items of the catalogue)")
    indicators: ProjectIndicators = Field(
        default_factory=ProjectIndicators,
        description="built-in indicators kept or left out, changes to them, and the "
                    "project's own (see indicators.catalogue.project)")
    data_roots: dict[Annotated[str, BeforeValidator(_data_root_name)],
                     Annotated[Path, BeforeValidator(_one_line)]] = Field(
        default_factory=dict,
        description="named folders outside the project that sources may read "
                    "(path: name:file); absolute, or relative to the project folder")
    root: Path = Field(default=Path("."), description="folder that source paths are relative to")
    file: Path | None = Field(default=None, description="the project file itself")

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        items: list[tuple[tuple, _Invalid, object]] = []
        bad_roots = set()
        for name in self.data_roots:
            try:
                self._data_root(name)
            except _Invalid as problem:
                items.append((("data_roots", name), problem, self.data_roots[name]))
                bad_roots.add(name)
        seen: set[str] = set()
        for i, source in enumerate(self.sources):
            if source.name in seen:
                items.append((("sources", i, "name"), _Invalid("duplicate_source", Text(
                    "two sources have this name; each name must be unique",
                    "deux sources portent ce nom ; chaque nom doit être unique")), source.name))
            seen.add(source.name)
            if _split_path(source.path)[0] in bad_roots:
                continue  # said once, at the data root
            try:
                self._resolve(source)
            except _Invalid as problem:
                items.append((("sources", i, "path"), problem, source.path))
        for i, waiver in enumerate(self.waivers):
            if waiver.source not in seen:
                items.append((("waivers", i, "source"), _Invalid("unknown_source", Text(
                    f"the waiver names an unknown source; sources: {sorted(seen)}",
                    f"la dérogation nomme une source inconnue ; sources : {sorted(seen)}")),
                    waiver.source))
        try:
            model = self.territory_model
        except ValidationError as error:
            reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
            items.append((("territory_levels",), _Invalid("invalid_value", Text(
                reason, reason)), None))
            model = None
        if model is not None:
            known = [*model.codes, "GROUP"]
            for i, reference in enumerate(self.report.territories):
                level = reference.partition(":")[0] if LEVEL_PREFIX.match(reference) else None
                if level is not None and level not in known:
                    items.append((("report", "territories", i), _Invalid("invalid_value", Text(
                        f"level {level} is not a territory level of the project; levels: "
                        f"{known}", f"le niveau {level} n'est pas un niveau de territoire du "
                        f"projet ; niveaux : {known}")), reference))
        if self.survey_items is not None:
            names = [i.name for i in self.survey_items]
            for i, name in enumerate(names):
                if names.index(name) != i:
                    items.append((("survey_items", i, "name"), _Invalid("invalid_value", Text(
                        "item declared twice", "question déclarée deux fois")), name))
        for i, year in enumerate(self.years):
            if self.years.index(year) != i:
                items.append((("years", i), _Invalid("invalid_value", Text(
                    "year listed twice", "année citée deux fois")), year))
        if items:
            raise _Invalid("invalid_value", Text("invalid configuration",
                                                 "configuration invalide"), items=tuple(items))
        return self

    @property
    def territory_model(self) -> TerritoryModel:
        return TerritoryModel(levels=self.territory_levels)

    @property
    def contracts(self) -> Contracts:
        """The contract tables for this project's levels, population detail and items."""
        items = AES_ITEMS if self.survey_items is None else tuple(
            i.item() for i in self.survey_items)
        return build_contracts(self.territory_model, self.population.age_bands,
                               self.population.sex, items)

    def expired_waivers(self, today: date) -> list[Waiver]:
        return [w for w in self.waivers if w.expires < today]

    def _data_root(self, name: str) -> Path:
        """The data root's folder, resolved; :class:`_Invalid` when it cannot be."""
        try:
            folder = (self.root / self.data_roots[name].expanduser()).resolve()
        except (OSError, RuntimeError, ValueError) as error:
            raise _Invalid("invalid_data_root", Text(
                f"the data root cannot be resolved: {error}",
                f"la racine de données ne peut être résolue : {error}")) from None
        if folder == Path(folder.anchor):
            raise _Invalid("invalid_data_root", Text(
                "a data root cannot be the whole disk; name the folder holding the data",
                "une racine de données ne peut pas être tout le disque ; indiquez le dossier "
                "des données"))
        return folder

    def _resolve(self, source: Source) -> Path:
        root_name, relative = _split_path(source.path)
        if root_name is None:
            base = self.root.resolve()
        elif root_name in self.data_roots:
            base = self._data_root(root_name)
        else:
            declared = ", ".join(sorted(self.data_roots)) or "none"
            raise _Invalid("unknown_data_root", Text(
                f"the path names the data root '{root_name}', which the project does not "
                f"declare (data_roots: {declared})",
                f"le chemin nomme la racine de données '{root_name}', que le projet ne déclare "
                f"pas (data_roots : {declared})"), PATH_HINT)
        try:
            target = (base / relative).resolve()
        except (OSError, RuntimeError, ValueError) as error:
            raise _Invalid("invalid_path", Text(f"the path cannot be resolved: {error}",
                                                f"le chemin ne peut être résolu : {error}"),
                           PATH_HINT) from None
        if not target.is_relative_to(base):
            where = (f"data root '{root_name}'", f"la racine de données '{root_name}'") \
                if root_name else ("project folder", "du dossier du projet")
            raise _Invalid("path_outside_project", Text(
                f"the path leads outside the {where[0]} through a symbolic link",
                f"le chemin sort {where[1] if root_name is None else 'de ' + where[1]} par "
                f"un lien symbolique"), PATH_HINT)
        return target

    def path_of(self, source: Source) -> Path:
        """The file a source reads, resolved (symbolic links followed): inside the project
        folder, or inside the data root its path names (``insee:population_2024.parquet``).

        Raises :class:`ConfigError` when the path leaves them (checked when the project is
        loaded, and again here in case the folder changed since)."""
        try:
            return self._resolve(source)
        except _Invalid as problem:
            field = f"sources[{source.name}].path"
            file = self.file or self.root
            raise ConfigError(
                f"{file}: {field}: {problem.message.en} (value: '{_shown(source.path)}')",
                (_problem(file, problem.code, problem.message, field=field,
                          value=source.path, hint=problem.hint),)) from None

    @property
    def latest_year(self) -> int:
        return max(self.years)


def project_reliability(raw: dict) -> ReliabilitySettings:
    """The ``reliability`` section of a project file's parsed YAML, for readers of a bundle
    that hold only the project file; the defaults when it is absent or cannot be read."""
    try:
        return ReliabilitySettings.model_validate(raw.get("reliability") or {})
    except (ValidationError, TypeError, AttributeError):
        return ReliabilitySettings()


def project_contracts(raw: dict) -> Contracts:
    """The contract tables a project file's parsed YAML declares (``territory_levels``,
    ``population``, ``survey_items``), for readers of a bundle that hold only the project file;
    the defaults for what it leaves out or cannot be read."""
    try:
        levels = TerritoryModel(levels=raw.get("territory_levels") or FRENCH_LEVELS.levels)
        population = PopulationSettings.model_validate(raw.get("population") or {})
        declared = raw.get("survey_items")
        items = AES_ITEMS if declared is None else tuple(
            SurveyItemSetting.model_validate(i).item() for i in declared)
    except (ValidationError, TypeError, AttributeError):
        return build_contracts()
    return build_contracts(levels, population.age_bands, population.sex, items)


PROJECT_FILE = "lci.yaml"  # the project file's name, as ``lci init`` writes it


def bundled_sample_config() -> Path:
    """The sample project shipped in ``data/sample``, used when no ``--config`` is given and
    the current folder holds no project file."""
    return Path(__file__).resolve().parent.parent / "data" / "sample" / "lci.yaml"


def default_config(folder: Path | None = None) -> Path:
    """The project a command runs without ``--config``: the project file of the current
    folder (a city's own project, where its analyst works), else the bundled sample."""
    here = (folder or Path.cwd()) / PROJECT_FILE
    return here if here.is_file() else bundled_sample_config()


# --- reading the YAML ----------------------------------------------------------------------

class _Refused(Exception):
    """The file cannot be parsed safely or correctly; says why, and where when known."""

    def __init__(self, code: str, message: Text, line: int | None = None,
                 hint: Text | None = None) -> None:
        super().__init__(message.en)
        self.code, self.message, self.line, self.hint = code, message, line, hint


START = object()  # key under which a container's own line is kept


class _ProjectLoader(yaml.SafeLoader):
    """PyYAML's safe loader with limits on nesting and size, no duplicated keys, and the line
    of every key and list item kept for messages."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name
        self.depth = 0
        self.nodes = 0
        self.lines: dict[int, dict] = {}
        self.keep: list[object] = []  # containers whose id() is in ``lines``
        self.duplicates: list[tuple[object, object, int, int]] = []
        self.mappings: dict[int, dict] = {}

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 (PyYAML's signature)
        if self.check_event(AliasEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH:
            raise _Refused("too_deep", Text(
                f"nested more than {MAX_DEPTH} levels deep", f"imbriqué sur plus de "
                f"{MAX_DEPTH} niveaux"), self.peek_event().start_mark.line + 1)
        if self.nodes > MAX_NODES:
            raise _Refused("too_many_values", Text(
                f"more than {MAX_NODES:,} values", f"plus de {MAX_NODES:,} valeurs"),
                self.peek_event().start_mark.line + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def measure(self, root: yaml.Node) -> None:
        """Refuse aliases that expand past the limits (billion laughs) or refer to themselves."""
        sizes: dict[int, tuple[int, int]] = {}
        open_: set[int] = set()

        def visit(node: yaml.Node, depth: int) -> tuple[int, int]:
            if id(node) in open_:
                raise _Refused("recursive_alias", Text(
                    "an alias refers to the mapping or list that contains it",
                    "un alias renvoie au dictionnaire ou à la liste qui le contient"),
                    node.start_mark.line + 1)
            if id(node) not in sizes:
                open_.add(id(node))
                size, height = 1, 0
                children = [] if not isinstance(node, MappingNode | SequenceNode) else (
                    [n for pair in node.value for n in pair] if isinstance(node, MappingNode)
                    else node.value)
                for child in children:
                    if depth + 1 > MAX_DEPTH:
                        raise _Refused("too_deep", Text(
                            f"nested more than {MAX_DEPTH} levels deep (counting aliases)",
                            f"imbriqué sur plus de {MAX_DEPTH} niveaux (alias compris)"),
                            child.start_mark.line + 1)
                    child_size, child_height = visit(child, depth + 1)
                    size += child_size
                    height = max(height, child_height + 1)
                    if size > MAX_NODES:
                        break
                open_.discard(id(node))
                sizes[id(node)] = (size, height)
            size, height = sizes[id(node)]
            if depth + height > MAX_DEPTH:
                raise _Refused("too_deep", Text(
                    f"nested more than {MAX_DEPTH} levels deep (counting aliases)",
                    f"imbriqué sur plus de {MAX_DEPTH} niveaux (alias compris)"),
                    node.start_mark.line + 1)
            if size > MAX_NODES:
                raise _Refused("too_many_values", Text(
                    f"more than {MAX_NODES:,} values once aliases are expanded",
                    f"plus de {MAX_NODES:,} valeurs une fois les alias développés"),
                    node.start_mark.line + 1, Text(
                        "a project file needs few aliases, if any; write the values out",
                        "un fichier de projet n'a guère besoin d'alias : écrivez les valeurs"))
            return size, height

        visit(root, 1)

    def construct_object(self, node, deep=False):  # noqa: ANN001, ANN201
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, IndexError, OverflowError) as error:
            reason = "the number has too many digits" if "digits" in str(error) else error
            raise ConstructorError(None, None, f"cannot read the value '{_shown(node.value)}':"
                                   f" {reason}", node.start_mark) from None

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        if isinstance(node, MappingNode):
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: PyYAML says so below
                line = key_node.start_mark.line + 1
                if first is not None:
                    self.duplicates.append((node, key, first, line))
                else:
                    seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def _remember(self, data: object, node: yaml.Node, lines: dict) -> None:
        lines[START] = node.start_mark.line + 1
        self.lines[id(data)] = lines
        self.keep.append(data)

    def construct_lined_map(self, node):  # noqa: ANN001, ANN201
        data: dict = {}
        yield data
        data.update(self.construct_mapping(node))
        lines = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node)
            with contextlib.suppress(TypeError):
                lines.setdefault(key, key_node.start_mark.line + 1)
        self._remember(data, node, lines)
        self.mappings[id(node)] = data

    def construct_lined_seq(self, node):  # noqa: ANN001, ANN201
        data: list = []
        yield data
        data.extend(self.construct_sequence(node))
        self._remember(data, node, {i: n.start_mark.line + 1 for i, n in enumerate(node.value)})

    def construct_lenient_timestamp(self, node):  # noqa: ANN001, ANN201
        """A date that does not exist (2026-02-30) stays text, for the field to refuse."""
        try:
            return SafeConstructor.construct_yaml_timestamp(self, node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_refused(self, node):  # noqa: ANN001, ANN201
        raise ConstructorError(None, None, f"the tag {node.tag} is not allowed in a project "
                               "file", node.start_mark)


_ProjectLoader.add_constructor("tag:yaml.org,2002:map", _ProjectLoader.construct_lined_map)
_ProjectLoader.add_constructor("tag:yaml.org,2002:seq", _ProjectLoader.construct_lined_seq)
_ProjectLoader.add_constructor("tag:yaml.org,2002:timestamp",
                               _ProjectLoader.construct_lenient_timestamp)
for _tag in ("binary", "omap", "pairs", "set"):
    _ProjectLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _ProjectLoader.construct_refused)


def _read_text(path: Path) -> str:
    """The project file's text: a regular file, at most MAX_FILE_BYTES, in UTF-8."""
    def refuse(code: str, message: Text, hint: Text | None = None,
               row: int | None = None) -> ConfigError:
        where = f", line {row}" if row else ""
        return ConfigError(f"{path}{where}: {message.en}",
                           (_problem(path, code, message, hint=hint, row=row),))

    try:
        if not path.exists():
            raise refuse("not_found", Text("configuration file not found",
                                           "fichier de configuration introuvable"))
        if not path.is_file():
            raise refuse("not_a_file", Text(
                "not a regular file (a folder or a device?); give the project's YAML file",
                "pas un fichier ordinaire (un dossier ou un périphérique ?) ; indiquez le "
                "fichier YAML du projet"))
        size = path.stat().st_size
        if size <= MAX_FILE_BYTES:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            size = len(data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise refuse("unreadable", Text(f"cannot be read: {reason}",
                                        f"illisible : {reason}")) from None
    if size > MAX_FILE_BYTES:
        raise refuse("too_large", Text(
            f"the project file is larger than {MAX_FILE_BYTES // 1_000_000} MB; is it really "
            "a project file?",
            f"le fichier de projet dépasse {MAX_FILE_BYTES // 1_000_000} Mo ; est-ce bien un "
            "fichier de projet ?"), Text(
            "a project file lists sources and settings; the data stay in the source files",
            "un fichier de projet liste les sources et réglages ; les données restent dans les "
            "fichiers sources"))
    save_as = Text("save the file as UTF-8 (in Notepad or LibreOffice: Save as…, encoding "
                   "UTF-8)", "enregistrez le fichier en UTF-8 (Bloc-notes ou LibreOffice : "
                   "Enregistrer sous…, encodage UTF-8)")
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        guess = bytes([byte]).decode("cp1252", errors="replace")
        looks = (f" (in Windows-1252 it would be '{guess}')",
                 f" (en Windows-1252, ce serait « {guess} »)") if guess.isprintable() and \
            guess != "\ufffd" else ("", "")
        raise refuse("not_utf8", Text(
            f"not UTF-8 text: byte 0x{byte:02X} at line {line} (byte {error.start:,}) is not "
            f"UTF-8{looks[0]}; save the file as UTF-8",
            f"pas du texte UTF-8 : l'octet 0x{byte:02X} ligne {line} (octet {error.start:,}) "
            f"n'est pas de l'UTF-8{looks[1]} ; enregistrez le fichier en UTF-8"),
            save_as, row=line) from None


def _parse(path: Path, text: str) -> tuple[object, dict[int, dict], list]:
    """The YAML document, the line of each key and item (by container id), and the keys
    written twice as (mapping, key, first line, second line)."""
    loader = None
    try:
        loader = _ProjectLoader(text, str(path))
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        loader.measure(node)
        data = loader.construct_document(node)
        duplicates = [(loader.mappings.get(id(n)), key, first, second)
                      for n, key, first, second in loader.duplicates]
        return data, loader.lines, duplicates
    except _Refused as refused:
        where = f", line {refused.line}" if refused.line else ""
        raise ConfigError(f"{path}{where}: {refused.message.en}", (_problem(
            path, refused.code, refused.message, hint=refused.hint, row=refused.line),)) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deep", (_problem(path, "too_deep", Text(
            "nested too deep", "imbriqué trop profondément")),)) from None
    except yaml.YAMLError as error:
        raise _yaml_error(path, text, error) from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_error(path: Path, text: str, error: yaml.YAMLError) -> ConfigError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark else None
    if isinstance(error, yaml.reader.ReaderError):
        line = text[: error.position].count("\n") + 1
        what = (f"a control character (#x{error.character:04x}) that YAML does not allow"
                if isinstance(error.character, int) else "a character YAML does not allow")
        english, french = what, "un caractère de contrôle que YAML n'admet pas"
    elif isinstance(error, yaml.MarkedYAMLError):
        english = "; ".join(str(p) for p in (error.context, error.problem) if p)
        french = f"YAML invalide : {english}"
    else:
        english, french = str(error), f"YAML invalide : {error}"
    hint = (Text("indent with spaces, not tabs", "indentez avec des espaces, pas des "
                 "tabulations") if "\\t" in english else Text(
        "tags (!!binary, !!python/…) are not allowed; write plain values",
        "les étiquettes (!!binary, !!python/…) ne sont pas admises ; écrivez des valeurs "
        "simples") if "tag" in english else Text(
        "check the indentation, and put in quotes values holding ': ', '#', '[' or '{'",
        "vérifiez l'indentation, et mettez entre guillemets les valeurs contenant ': ', '#', "
        "'[' ou '{'"))
    where = f", line {line}" if line else ""
    written = text.split("\n")[line - 1] if line and line <= text.count("\n") + 1 else None
    shown = _shown(written.rstrip("\r")) if written and written.strip() else None
    problem = Problem("config.invalid_yaml", "error",
                      Text(f"not valid YAML: {english}", french if french.startswith("YAML")
                           else f"YAML invalide : {french}"),
                      file=str(path), row=line, value=shown, hint=hint)
    reads = f"\n  line {line} reads: {shown}" if shown else ""
    return ConfigError(f"{path}{where}: not valid YAML: {english}{reads}", (problem,))


# --- load ----------------------------------------------------------------------------------

def load_config(path: Path | str) -> ProjectConfig:
    """Read a project file; source paths are taken relative to the file's folder.

    Every mistake is a :class:`ConfigError` naming the file, the line, the field and the value;
    its ``problems`` hold each one in English and French."""
    path = Path(path)
    raw, lines, duplicates = _parse(path, _read_text(path))
    if raw is None:
        raise ConfigError(f"{path}: the project file is empty", (_problem(
            path, "empty", Text("the project file is empty; it needs 'name', 'years' and "
                                "'sources'", "le fichier de projet est vide ; il lui faut "
                                "'name', 'years' et 'sources'")),))
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name', 'years' and 'sources'", (
            _problem(path, "not_a_mapping",
                     Text("expected a mapping with 'name', 'years' and 'sources'",
                          "attendu : un dictionnaire avec 'name', 'years' et 'sources'"),
                     row=1),))
    problems = [_duplicate_problem(path, raw, lines, *d) for d in duplicates]
    reserved = [k for k in ("root", "file") if k in raw]
    for key in reserved:
        problems.append(_problem(path, "extra_field", Text(
            f"unknown field '{key}' (the project folder is the project file's folder)",
            f"champ non prévu '{key}' (le dossier du projet est celui du fichier de projet)"),
            field=key, value=raw[key], hint=ALLOWED_FIELDS_HINT,
            row=lines.get(id(raw), {}).get(key)))
    config = None
    try:
        fields = {k: v for k, v in raw.items() if k not in reserved}
        config = ProjectConfig.model_validate(
            {**fields, "root": path.resolve().parent, "file": path.resolve()})
    except ValidationError as error:
        problems.extend(_validation_problems(path, raw, lines, error.errors()))
    except (ValueError, TypeError, OSError, RuntimeError) as error:  # a last safety net
        problems.append(_problem(path, "unreadable", Text(
            f"cannot be used: {error}", f"inutilisable : {error}")))
    if problems or config is None:
        raise ConfigError(_summary(path, problems), tuple(problems))
    return config


def _summary(path: Path, problems: list[Problem]) -> str:
    """The console message: one line per problem, naming line, field and value plainly."""
    lines = []
    for p in problems[:MAX_LISTED]:
        where = ", ".join(x for x in (f"line {p.row}" if p.row else "", p.field or "") if x)
        value = f" (value: '{p.value}')" if p.value is not None else ""
        lines.append(f"  - {where}: {p.message.en}{value}" if where
                     else f"  - {p.message.en}{value}")
    if len(problems) > MAX_LISTED:
        lines.append(f"  … and {len(problems) - MAX_LISTED:,} more")
    return f"{path}: invalid configuration\n" + "\n".join(lines)


def _duplicate_problem(path: Path, raw: dict, lines: dict, mapping: object, key: object,
                       first: int, second: int) -> Problem:
    loc = _path_to(raw, mapping) if mapping is not None else None
    where = _locate(raw, lines, loc)[0] if loc else ""
    field = f"{where}.{_shown(key)}" if where else _shown(key)
    return _problem(path, "duplicate_key", Text(
        f"the key '{_shown(key)}' is written twice, on lines {first} and {second}",
        f"la clé '{_shown(key)}' est écrite deux fois, lignes {first} et {second}"),
        field=field, row=second, hint=Text("keep one of them", "n'en gardez qu'une"))


def _path_to(raw: object, target: object) -> tuple | None:
    """The location (keys and indexes) of the container ``target`` inside ``raw``."""
    stack: list[tuple[object, tuple]] = [(raw, ())]
    seen: set[int] = set()
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            stack.extend((v, (*loc, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(node))
    return None


def _validation_problems(path: Path, raw: dict, lines: dict, errors: list[dict]) -> list[Problem]:
    """Pydantic's errors as problems: one per field, a misspelt key reported once."""
    expanded: list[tuple[tuple, dict]] = []
    for error in errors:
        invalid = (error.get("ctx") or {}).get("error")
        if isinstance(invalid, _Invalid) and invalid.items:
            for loc, item, value in invalid.items:
                expanded.append(((*error["loc"], *loc), {"type": "value_error", "input": value,
                                                         "ctx": {"error": item}, "msg": ""}))
        else:
            expanded.append((tuple(error["loc"]), error))
    # a list with a bad item is also said to be too short: the item's error is enough
    expanded = [(loc, e) for loc, e in expanded if e["type"] != "too_short" or not any(
        len(other) > len(loc) and other[:len(loc)] == loc for other, _ in expanded)]
    suggested: set[tuple] = set()
    suggestions: dict[tuple, str | None] = {}
    missing = {loc for loc, e in expanded if e["type"] == "missing"}
    for loc, error in expanded:
        if error["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = [f for f in model.model_fields if f not in ("root", "file")] \
                if model else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            suggestions[loc] = close[0] if close else None
            if close and (*loc[:-1], close[0]) in missing:
                suggested.add((*loc[:-1], close[0]))
    problems, done = [], set()
    for loc, error in expanded:
        if loc in suggested or loc in done:
            continue
        done.add(loc)
        problems.append(_field_problem(path, raw, lines, loc, error, suggestions.get(loc)))
    return problems


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model describing the mapping at ``loc`` (e.g. ('sources', 0, 'options'))."""
    annotation: object = ProjectConfig
    for key in loc:
        model = _as_model(annotation)
        if model is not None:
            if not isinstance(key, str) or key not in model.model_fields:
                return None
            annotation = model.model_fields[key].annotation
            continue
        origin, args = get_origin(annotation), [a for a in get_args(annotation)
                                                if a is not type(None) and a is not Ellipsis]
        if origin is tuple and isinstance(key, int) and args:
            annotation = args[0]
        elif origin is dict and args:
            annotation = args[-1]
        else:
            return None
    return _as_model(annotation)


def _as_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) not in (Union, UnionType):
        return None
    for arg in get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


DATE_HINT = Text("write the date YYYY-MM-DD, e.g. 2025-12-31",
                 "écrivez la date AAAA-MM-JJ, par ex. 2025-12-31")


def _messages(error: dict) -> tuple[str, Text, Text | None]:
    """The problem code, message and hint for one pydantic error."""
    kind, ctx, msg = error["type"], error.get("ctx") or {}, error.get("msg", "")
    invalid = ctx.get("error")
    if isinstance(invalid, _Invalid):
        return invalid.code, invalid.message, invalid.hint
    code = PYDANTIC_CODES.get(kind, ("invalid_value", ""))[0]
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return code, Text(f"not an allowed value: expected {expected}",
                          f"valeur non admise : attendu {expected}"), ALLOWED_FIELDS_HINT
    if kind == "missing":
        return code, Text("required field missing", "champ obligatoire manquant"), \
            ALLOWED_FIELDS_HINT
    if kind.startswith("date") or kind.startswith("datetime"):
        written = str(error.get("input", ""))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", written):
            return code, Text("this date does not exist (no such day in that month)",
                              "cette date n'existe pas (ce jour n'existe pas dans ce mois)"), \
                DATE_HINT
        return code, Text("not a date", "pas une date"), DATE_HINT
    simple = {
        "string_type": ("expected text (write it in quotes)",
                        "texte attendu (écrivez-le entre guillemets)"),
        "int_type": ("expected a whole number", "nombre entier attendu"),
        "int_parsing": ("expected a whole number", "nombre entier attendu"),
        "int_from_float": ("expected a whole number", "nombre entier attendu"),
        "float_type": ("expected a number", "nombre attendu"),
        "float_parsing": ("expected a number", "nombre attendu"),
        "finite_number": ("expected a finite number", "nombre fini attendu"),
        "dict_type": ("expected a mapping (key: value)",
                      "attendu : un dictionnaire (clé : valeur)"),
        "model_type": ("expected a mapping (key: value)",
                       "attendu : un dictionnaire (clé : valeur)"),
        "model_attributes_type": ("expected a mapping (key: value)",
                                  "attendu : un dictionnaire (clé : valeur)"),
        "tuple_type": ("expected a list", "attendu : une liste"),
        "list_type": ("expected a list", "attendu : une liste"),
        "invalid_key": ("keys must be text (write the key in quotes)",
                        "les clés doivent être du texte (écrivez la clé entre guillemets)"),
        "path_type": ("expected a path (text)", "attendu : un chemin (texte)"),
    }
    if kind in simple:
        return code, Text(*simple[kind]), None
    bounds = {
        "greater_than_equal": ("ge", "must be at least {}", "doit être au moins {}"),
        "less_than_equal": ("le", "must be at most {}", "doit être au plus {}"),
        "greater_than": ("gt", "must be more than {}", "doit être supérieur à {}"),
        "less_than": ("lt", "must be less than {}", "doit être inférieur à {}"),
        "string_too_short": ("min_length", "too short: at least {} character(s)",
                             "trop court : au moins {} caractère(s)"),
        "string_too_long": ("max_length", "too long: at most {} character(s)",
                            "trop long : au plus {} caractère(s)"),
        "too_short": ("min_length", "too few items: at least {}", "trop peu d'éléments : au "
                      "moins {}"),
        "too_long": ("max_length", "too many items: at most {}", "trop d'éléments : au plus {}"),
        "string_pattern_mismatch": ("pattern", "not in the expected form ({})",
                                    "pas dans la forme attendue ({})"),
    }
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str):
        kind = f"string_{kind}"
    if kind in bounds:
        key, english, french = bounds[kind]
        return code, Text(english.format(ctx.get(key, "")), french.format(ctx.get(key, ""))), \
            None
    return code, Text(msg, f"valeur invalide : {msg}"), ALLOWED_FIELDS_HINT


def _field_problem(path: Path, raw: dict, lines: dict, loc: tuple, error: dict,
                   suggestion: str | None = None) -> Problem:
    """One pydantic error as a problem naming the field as the reader wrote it, and its line."""
    if error["type"] == "invalid_key":  # pydantic names the key by its repr; use the key
        loc = (*loc[:-1], error.get("input"))
    field, row = _locate(raw, lines, loc)
    if error["type"] == "extra_forbidden":
        key = _shown(loc[-1]) if loc else ""
        english, french = f"unknown field '{key}'", f"champ non prévu '{key}'"
        if suggestion:
            english += f" — did you mean '{suggestion}'?"
            french += f" — vouliez-vous dire '{suggestion}' ?"
        return _problem(path, "extra_field", Text(english, french), field=field,
                        value=error.get("input"), hint=ALLOWED_FIELDS_HINT, row=row)
    code, message, hint = _messages(error)
    value = None if error["type"] == "missing" else error.get("input")
    return _problem(path, code, message, field=field, value=value, hint=hint, row=row)


def _location(raw: dict, loc: tuple) -> str:
    """Name a field as a reader finds it: 'sources[population].format' rather than 'sources.2'."""
    return _locate(raw, {}, loc)[0]


def _locate(raw: object, lines: dict, loc: tuple) -> tuple[str, int | None]:
    """The field's name as a reader finds it ('sources[population].format', not 'sources.2')
    and the line it is on (or the line of the closest enclosing mapping or list)."""
    parts: list[str] = []
    node: object = raw
    row = lines.get(id(raw), {}).get(START)
    for key in loc:
        if key == "[key]":
            continue
        here = lines.get(id(node), {}) if isinstance(node, dict | list) else {}
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            name = item.get("name") if isinstance(item, dict) else None
            label = name if isinstance(name, str) and NAME_FORM.match(name) else key
            parts[-1:] = [f"{parts[-1]}[{label}]"] if parts else [f"[{label}]"]
            row = here.get(key, row)
            node = item
        else:
            parts.append(_shown(key) or "")
            try:
                inside = isinstance(node, dict) and key in node
            except TypeError:
                inside = False
            if inside:
                row = here.get(key, row)
                node = node[key]
            else:
                node = None
    return ".".join(parts), row
