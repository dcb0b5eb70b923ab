"""The project configuration: which files feed which contract table, and how the report looks.

Everything a city may need to change (sources, territories shown, language, title) lives in one
YAML file, read here into frozen, typed objects whose errors name the file and the field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.problems import Problem, Text

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


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field.

    ``problems`` says the same as data: one :class:`Problem` per thing wrong, with its code
    (``config.not_found``, ``config.extra_field`` …), the file, the field, the value as written
    and the message in English and French.
    """

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


# Pydantic's error types, as problem codes with a French rendering of the message.
PYDANTIC_CODES: dict[str, tuple[str, str]] = {
    "extra_forbidden": ("extra_field", "champ non prévu"),
    "missing": ("missing_field", "champ obligatoire manquant"),
    "literal_error": ("invalid_choice", "valeur non admise"),
}
ALLOWED_FIELDS_HINT = Text("see the project file reference for the allowed fields and values",
                           "voir la référence du fichier de projet pour les champs et valeurs "
                           "admis")


def _problem(path: Path, code: str, message: Text, *, field: str | None = None,
             value: object = None, hint: Text | None = None) -> Problem:
    shown = None if value is None or isinstance(value, dict | list) else str(value)
    return Problem(f"config.{code}", "error", message, file=str(path), field=field,
                   value=shown, hint=hint)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReaderOptions(_Frozen):
    """How to read one file. Anything left empty is detected, and the read report says so."""

    delimiter: str | None = Field(default=None, description="CSV field separator (detected)")
    decimal: Literal[".", ","] | None = Field(default=None, description="decimal mark (detected)")
    encoding: str = Field(default="auto", description="CSV text encoding, e.g. utf-8, cp1252")
    sheet: str | None = Field(default=None, description="Excel sheet name (default: first)")
    header_row: int = Field(default=1, ge=1, description="spreadsheet row holding the header")


class Source(_Frozen):
    """One input file and the contract table it feeds."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: Path
    format: SourceFormat
    table: Literal[CONTRACT_TABLES]  # type: ignore[valid-type]
    options: ReaderOptions = ReaderOptions()
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column -> column name in the file"
    )
    recode: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="contract column -> {value in file: contract value}"
    )
    missing_codes: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="contract column (or '*' for all) -> codes meaning 'no answer' (codebook)",
    )
    max_rejected_share: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _recode_mapped_columns(self) -> Source:
        unknown = sorted(set(self.recode) - set(self.columns))
        if self.columns and unknown:
            raise ValueError(f"recode names columns that are not mapped: {unknown}")
        return self


class Waiver(_Frozen):
    """An accepted, known failure: it is reported as waived instead of rejecting rows."""

    source: str
    check: str = Field(description="check id, as in the validation report")
    rows: tuple[int, ...] = Field(default=(), description="file row numbers (default: all)")
    territory: str | None = Field(default=None, description="only rows of this territory")
    reason: str = Field(min_length=3)
    owner: str = Field(min_length=2)
    expires: date


LonelyPsu = Literal["fail", "adjust", "average", "certainty", "remove"]


class DatabaseSettings(_Frozen):
    """Resources DuckDB may use for the run; beyond the memory limit it spills to disk."""

    memory_limit: str | None = Field(
        default="1.5GB", description="DuckDB's memory limit; None leaves DuckDB's (80 % of RAM)")
    threads: int | None = Field(default=None, ge=1, description="default: all cores")


class ValidationSettings(_Frozen):
    """How strict the run is."""

    max_rejected_share: float = Field(
        default=0.05, ge=0, le=1,
        description="the run fails when a source rejects a larger share of its rows")
    lonely_psu: LonelyPsu = Field(
        default="fail",
        description="rule for survey strata with a single PSU; 'fail' rejects their rows")
    population_tolerance: float = Field(
        default=0.005, ge=0, description="relative gap allowed between detail and totals")


class ReportSettings(_Frozen):
    """What the annual report shows and in which words."""

    title: dict[Literal["en", "fr"], str] = Field(default_factory=dict)
    territories: tuple[str, ...] = Field(
        default=(), description="territory or group codes, in display order (default: all)"
    )


class ProjectConfig(_Frozen):
    """A project: its sources, the years it covers and its report settings."""

    name: str
    years: tuple[int, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)
    report: ReportSettings = ReportSettings()
    validation: ValidationSettings = ValidationSettings()
    database: DatabaseSettings = DatabaseSettings()
    waivers: tuple[Waiver, ...] = ()
    root: Path = Field(default=Path("."), description="folder that source paths are relative to")
    file: Path | None = Field(default=None, description="the project file itself")

    @model_validator(mode="after")
    def _one_source_name_each(self) -> ProjectConfig:
        names = [s.name for s in self.sources]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"source names must be unique; repeated: {duplicated}")
        unknown = sorted({w.source for w in self.waivers} - set(names))
        if unknown:
            raise ValueError(f"waivers name unknown sources {unknown}; sources: {names}")
        return self

    def expired_waivers(self, today: date) -> list[Waiver]:
        return [w for w in self.waivers if w.expires < today]

    def path_of(self, source: Source) -> Path:
        return source.path if source.path.is_absolute() else self.root / source.path

    @property
    def latest_year(self) -> int:
        return max(self.years)


def bundled_sample_config() -> Path:
    """The sample project shipped in ``data/sample``, used when no ``--config`` is given."""
    return Path(__file__).resolve().parent.parent / "data" / "sample" / "lci.yaml"


def load_config(path: Path | str) -> ProjectConfig:
    """Read a project file; source paths are taken relative to the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found", (_problem(
            path, "not_found", Text("configuration file not found",
                                    "fichier de configuration introuvable")),))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = Problem("config.invalid_yaml", "error",
                          Text(f"not valid YAML: {error}", f"YAML invalide : {error}"),
                          file=str(path), row=mark.line + 1 if mark else None)
        raise ConfigError(f"{path}: not valid YAML: {error}", (problem,)) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name', 'years' and 'sources'", (
            _problem(path, "not_a_mapping",
                     Text("expected a mapping with 'name', 'years' and 'sources'",
                          "attendu : un dictionnaire avec 'name', 'years' et 'sources'")),))
    try:
        return ProjectConfig.model_validate(
            {**raw, "root": path.resolve().parent, "file": path.resolve()})
    except ValidationError as error:
        problems = tuple(_field_problem(path, raw, e) for e in error.errors())
        lines = "\n".join(f"  - {p.field}: {p.message.en}" for p in problems)
        raise ConfigError(f"{path}: invalid configuration\n{lines}", problems) from None


def _field_problem(path: Path, raw: dict, error: dict) -> Problem:
    """One pydantic error as a problem naming the field as the reader wrote it."""
    code, french = PYDANTIC_CODES.get(error["type"], ("invalid_value", "valeur invalide"))
    if error["type"] not in PYDANTIC_CODES:
        french = f"{french} : {error['msg']}"
    elif error["type"] == "literal_error" and "expected" in error.get("ctx", {}):
        french = f"{french} : attendu {error['ctx']['expected']}"
    value = None if error["type"] == "missing" else error.get("input")
    return _problem(path, code, Text(error["msg"], french), field=_location(raw, error["loc"]),
                    value=value, hint=ALLOWED_FIELDS_HINT)


def _location(raw: dict, loc: tuple) -> str:
    """Name a field as a reader finds it: 'sources[population].format' rather than 'sources.2'."""
    parts: list[str] = []
    node: object = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            item = node[key]
            label = item.get("name", key) if isinstance(item, dict) else key
            parts[-1] = f"{parts[-1]}[{label}]" if parts else f"[{label}]"
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)
