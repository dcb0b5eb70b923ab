"""A project's own indicators: the built-in ones it keeps, what it changes in them, what it adds.

The project file's ``indicators:`` section is read into :class:`ProjectIndicators` with the
rest of the project file, so its mistakes are reported like any other setting's (file, line,
field). :func:`project_catalogue` then reads the YAML files the section names and builds the
catalogue a run uses: the same :class:`Catalogue` as the built-in one, whose ``sha256`` covers
the project's definitions too (manifests record it), and whose indicators each name the file
that defines them (``defined_in``). :func:`check_measures` checks the administrative measures
against the project's codebook once the warehouse holds it.

A project may only change how a built-in indicator is published and read (label, target,
thresholds, decimals), never what it measures: an indicator computed another way is the
project's own, with an id of its own (or the built-in one, dropped).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from indicators.catalogue.definitions import (
    AdminRatio,
    Catalogue,
    CatalogueError,
    Domain,
    Indicator,
    LocalisedText,
    MeasureQuantity,
    SurveyComputation,
    Target,
    load_catalogue,
)
from indicators.conditions import ConditionError, check_expression

MAX_FILE_BYTES = 1_000_000
"""An indicator file is a few pages of definitions; anything larger is refused unread."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists in an indicator file (a definition nests 4 deep)."""
MAX_NODES = 100_000
"""Most values in a file, counting every use of an alias."""
MAX_LISTED = 40
"""Most ids quoted in a message listing the known ones."""


@lru_cache(maxsize=1)
def _builtin() -> Catalogue:
    """The catalogue shipped with LCI, read once: every project starts from it."""
    return load_catalogue()


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" … ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def _error(kind: str, message: str) -> PydanticCustomError:
    """A refusal whose message pydantic passes on as written (no 'Value error,' before it)."""
    return PydanticCustomError(kind, message)


# --- the section of the project file ------------------------------------------------------

def _builtin_ref(value: str) -> str:
    """An id of a built-in indicator or the code of a built-in domain (for use and drop)."""
    builtin = _builtin()
    if value in {i.id for i in builtin} or value in {d.code for d in builtin.domains}:
        return value
    raise _error("unknown_indicator", f"no built-in indicator or domain {value!r}; indicators: "
                 f"{_listed(i.id for i in builtin)}; domains: "
                 f"{', '.join(d.code for d in builtin.domains)}")


def _builtin_id(value: str) -> str:
    """An id of a built-in indicator (for override: the project's own are defined as wanted)."""
    builtin = _builtin()
    if value in {i.id for i in builtin}:
        return value
    raise _error("unknown_indicator", f"no built-in indicator {value!r} (override changes "
                 f"built-in indicators; define your own as you want them); built-in: "
                 f"{_listed(i.id for i in builtin)}")


def _relative_yaml(value: str) -> str:
    """A YAML file inside the project folder, written relative to the project file."""
    text = value.replace("\\", "/")
    if not text.strip() or "\x00" in text or len(text) > 1000:
        raise _error("invalid_path", "not a file name (a relative path such as "
                     "indicators/ours.yaml)")
    if text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
        raise _error("path_outside_project", "absolute paths are not allowed: the file must "
                     "be inside the project folder (e.g. indicators/ours.yaml)")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _error("path_outside_project", "'..' is not allowed: the file must be inside "
                     "the project folder")
    if not parts or not parts[-1].lower().endswith((".yaml", ".yml")):
        raise _error("invalid_path", "expected a YAML file (.yaml or .yml)")
    return PurePosixPath(*parts).as_posix()


BuiltinRef = Annotated[str, AfterValidator(_builtin_ref)]
BuiltinId = Annotated[str, AfterValidator(_builtin_id)]
IndicatorFile = Annotated[str, AfterValidator(_relative_yaml)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Override(_Frozen):
    """What a project may change in a built-in indicator: how it is published and read.

    A field left out keeps the built-in value; ``target: null`` removes the built-in target.
    """

    label: LocalisedText | None = None
    target: Target | None = None
    min_n: int | None = Field(default=None, ge=1, description="suppress below this count")
    reliable_n: int | None = Field(default=None, ge=1, description="low reliability below")
    max_cv: float | None = Field(default=None, gt=0, description="low reliability above")
    decimals: int | None = Field(default=None, ge=0, le=3)
    source: LocalisedText | None = Field(
        default=None, description="who produces the data where the project is (the built-in "
                                  "sources name French offices)")

    @model_validator(mode="after")
    def _null_only_for_target(self) -> Override:
        empty = sorted(f for f in self.model_fields_set if getattr(self, f) is None
                       and f != "target")
        if empty:
            raise _error("empty_override", f"{', '.join(empty)}: write a value, or leave the "
                         f"field out to keep the built-in one (only target may be null, "
                         f"to remove it)")
        return self

    def changes(self) -> dict[str, object]:
        """The fields the project changes, with their new values (None: target removed)."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name in self.model_fields_set}


class ProjectIndicators(_Frozen):
    """The project file's ``indicators:`` section; left out, the built-in catalogue as it is."""

    use: tuple[BuiltinRef, ...] | None = Field(
        default=None, description="built-in indicators or whole domains to keep (default: all)")
    drop: tuple[BuiltinRef, ...] = Field(
        default=(), description="built-in indicators or domains to leave out")
    files: tuple[IndicatorFile, ...] = Field(
        default=(), max_length=100, description="YAML files with the schema of a catalogue "
        "domain file (domain + indicators), relative to the project file")
    domains: tuple[Domain, ...] = Field(default=(), description="the project's own domains")
    define: tuple[Indicator, ...] = Field(default=(), description="the project's own "
                                          "indicators, written in the project file")
    override: dict[BuiltinId, Override] = Field(
        default_factory=dict, description="built-in indicator id -> what the project changes")

    @field_validator("files")
    @classmethod
    def _each_file_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({f for f in value if value.count(f) > 1})
        if repeated:
            raise _error("duplicate_file", f"files listed twice: {', '.join(repeated)}")
        return value

    @field_validator("domains")
    @classmethod
    def _own_domain_codes(cls, value: tuple[Domain, ...]) -> tuple[Domain, ...]:
        builtin = {d.code for d in _builtin().domains}
        codes = [d.code for d in value]
        for code in codes:
            if code in builtin:
                raise _error("builtin_domain", f"domain {code} is a built-in domain: put your "
                             f"indicators in it as it is, or give yours another code")
            if codes.count(code) > 1:
                raise _error("duplicate_domain", f"domain {code} is declared twice")
        return value

    @field_validator("define")
    @classmethod
    def _own_indicators(cls, value: tuple[Indicator, ...],
                        info: ValidationInfo) -> tuple[Indicator, ...]:
        selection = "use" in info.data and "drop" in info.data  # else said there
        kept = _kept_ids(info.data["use"], info.data["drop"]) if selection else set()
        domains = _domain_codes(info.data.get("domains", ()))
        seen: set[str] = set()
        for n, indicator in enumerate(value):
            problem = _own_problem(indicator, kept, domains, seen)
            if problem:
                raise _error("invalid_indicator", f"define[{n}], indicator {indicator.id}: "
                             f"{problem}")
            seen.add(indicator.id)
        return value

    @field_validator("override")
    @classmethod
    def _overrides_in_use(cls, value: dict[str, Override],
                          info: ValidationInfo) -> dict[str, Override]:
        if "use" not in info.data or "drop" not in info.data:
            return value  # said at use or drop
        kept = _kept_ids(info.data["use"], info.data["drop"])
        left_out = sorted(set(value) - kept)
        if left_out:
            raise _error("override_unused", f"override names indicators the project does not "
                         f"use: {', '.join(left_out)} (see use and drop)")
        builtin = _builtin()
        for indicator_id, override in value.items():
            try:
                _overridden(builtin.get(indicator_id), override)
            except ValidationError as error:
                raise _error("invalid_override", f"{indicator_id}: {_problems(error)}") \
                    from None
        return value

    @property
    def is_builtin(self) -> bool:
        """Nothing chosen, changed or added: the run uses the built-in catalogue as it is."""
        return not self.model_fields_set or self == ProjectIndicators()


def _kept_ids(use: tuple[str, ...] | None, drop: tuple[str, ...] | None) -> set[str]:
    """The built-in indicators a project keeps (``use``, whole domains expanded, less ``drop``)."""
    builtin = _builtin()

    def expand(refs: Iterable[str]) -> set[str]:
        return {i.id for i in builtin if i.id in refs or i.domain in refs}

    kept = {i.id for i in builtin} if use is None else expand(use)
    return kept - expand(drop or ())


def _domain_codes(own: Iterable[Domain]) -> set[str]:
    return {d.code for d in _builtin().domains} | {d.code for d in own}


def _own_problem(indicator: Indicator, kept: set[str], domains: set[str],
                 seen: set[str]) -> str | None:
    """What is wrong with one of the project's own indicators beside its fields, if anything."""
    if indicator.id in seen:
        return "this id is defined twice"
    if indicator.id in kept:
        return (f"{indicator.id} is a built-in indicator; give yours another id, or leave the "
                f"built-in one out (drop: [{indicator.id}]) to replace it")
    if indicator.domain not in domains:
        return (f"field 'domain' is {indicator.domain!r}, which is not a domain; domains: "
                f"{', '.join(sorted(domains))} (declare your own under indicators.domains)")
    return None


def _overridden(indicator: Indicator, override: Override) -> Indicator:
    """The built-in indicator with the project's changes, checked again as a whole."""
    fields = indicator.model_dump()
    fields.update({k: (v.model_dump() if isinstance(v, BaseModel) else v)
                   for k, v in override.changes().items()})
    return Indicator.model_validate({**fields, "defined_in": indicator.defined_in})


def _problems(error: ValidationError) -> str:
    return "; ".join(f"field '{'.'.join(str(p) for p in e['loc']) or '(whole entry)'}': "
                     f"{e['msg']}" for e in error.errors())


# --- the effective catalogue --------------------------------------------------------------

def project_catalogue(project: ProjectIndicators, *, root: Path,
                      project_file: Path | None = None,
                      survey_columns: Iterable[str] | None = None) -> Catalogue:
    """The catalogue a project's run uses: the built-in indicators it keeps, with its changes,
    and its own (from the project file and the files it names), in publication order.

    Every definition is checked here, errors naming the file, the indicator and the field: its
    fields, its domain, its id (unique, and never a kept built-in one), and with
    ``survey_columns`` the columns of its survey conditions.
    """
    builtin = _builtin()
    project_file = project_file or root / "lci.yaml"
    if project.is_builtin:
        return builtin
    kept = _kept_ids(project.use, project.drop)
    indicators = [_overridden(i, project.override[i.id]) if i.id in project.override else i
                  for i in builtin if i.id in kept]
    domains = _domain_codes(project.domains)
    own_name = _shown_name(project_file, root)
    own = [i.model_copy(update={"defined_in": own_name}) for i in project.define]
    for relative in project.files:
        content = _read_file(root, relative)
        own.extend(_file_indicators(root, relative, content, domains))
    seen: set[str] = set()
    for indicator in own:
        problem = _own_problem(indicator, kept, domains, seen)
        if problem:
            raise CatalogueError(f"{_where(indicator, root)}, indicator {indicator.id}: "
                                 f"{problem}")
        seen.add(indicator.id)
    _check_conditions(own, survey_columns, root)
    indicators.extend(own)
    if not indicators:
        raise CatalogueError(f"{project_file}: indicators: no indicator is left in use (see "
                             f"use and drop, or define your own)")
    order = [d for d in (*builtin.domains, *project.domains)
             if any(i.domain == d.code for i in indicators)]
    rank = {d.code: n for n, d in enumerate(order)}
    indicators.sort(key=lambda i: (rank[i.domain], i.id))
    return Catalogue(domains=tuple(order), indicators=tuple(indicators),
                     sha256=_sha256(builtin, order, indicators))


def _sha256(builtin: Catalogue, domains: Iterable[Domain], indicators: Iterable[Indicator]) -> str:
    """The hash a manifest records: the built-in files, then every definition the run uses
    as it was read (after the project's changes) and the file that defines it."""
    content = {"domains": [d.model_dump(mode="json") for d in domains],
               "indicators": [{**i.model_dump(mode="json"), "defined_in": i.defined_in}
                              for i in indicators]}
    return hashlib.sha256(builtin.sha256.encode() + b"\0" + json.dumps(
        content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def is_builtin_definition(indicator: Indicator) -> bool:
    """Whether an indicator is one of the built-in ones (with at most the project's changes),
    rather than the project's own (even one that replaces a built-in under the same id)."""
    try:
        shipped = _builtin().get(indicator.id)
    except KeyError:
        return False
    return (shipped.defined_in, shipped.computation) == (indicator.defined_in,
                                                         indicator.computation)


def _shown_name(path: Path, root: Path) -> str:
    """A file as the project names it: relative to the project folder (never a local path)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.name


def _where(indicator: Indicator, root: Path) -> str:
    """The file defining an indicator, as a message names it (the project's files in full)."""
    if is_builtin_definition(indicator) or not indicator.defined_in:
        return indicator.defined_in or "catalogue"
    return str(root / indicator.defined_in)


def _read_file(root: Path, relative: str) -> bytes:
    """A named indicator file's bytes: inside the project folder (links followed), small."""
    shown = root / relative
    try:
        base = root.resolve()
        path = (base / relative).resolve()
    except (OSError, RuntimeError) as error:
        raise CatalogueError(f"{shown}: cannot be resolved: {error}") from None
    if not path.is_relative_to(base):
        raise CatalogueError(f"{shown}: leads outside the project folder through a symbolic "
                             f"link; indicator files must be inside it")
    if not path.is_file():
        raise CatalogueError(f"{shown}: no such file (indicators.files names it, relative to "
                             f"the project file's folder)")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogueError(f"{shown}: larger than {MAX_FILE_BYTES:,} bytes; an indicator "
                                 f"file holds definitions only")
        with path.open("rb") as handle:
            content = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CatalogueError(f"{shown}: cannot be read: {error.strerror or error}") from None
    if len(content) > MAX_FILE_BYTES:
        raise CatalogueError(f"{shown}: larger than {MAX_FILE_BYTES:,} bytes")
    return content


def _file_indicators(root: Path, relative: str, content: bytes,
                     domains: set[str]) -> list[Indicator]:
    """The definitions of one indicator file (``domain`` and ``indicators``, as a catalogue
    domain file), each checked, errors naming the file, the indicator and the field."""
    shown = root / relative
    raw = _safe_yaml(content, shown)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{shown}: expected a mapping with 'domain' and 'indicators'")
    unknown = sorted(str(k) for k in raw if k not in ("domain", "indicators"))
    if unknown:
        raise CatalogueError(f"{shown}: unknown field(s) {', '.join(unknown)}; an indicator "
                             f"file holds 'domain' and 'indicators'")
    domain = raw.get("domain")
    if not isinstance(domain, str) or domain not in domains:
        raise CatalogueError(f"{shown}: field 'domain' is {domain!r}; expected one of "
                             f"{', '.join(sorted(domains))} (declare your own under "
                             f"indicators.domains)")
    items = raw.get("indicators")
    if not isinstance(items, list) or not items:
        raise CatalogueError(f"{shown}: expected a non-empty list under 'indicators'")
    found = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise CatalogueError(f"{shown}, indicator #{n + 1}: expected a mapping (id, "
                                 f"label, …, computation)")
        name = item.get("id")
        where = f"indicator {name}" if isinstance(name, str) else f"indicator #{n + 1}"
        try:
            found.append(Indicator.model_validate(
                {"domain": domain, **item, "defined_in": relative}))
        except ValidationError as error:
            raise CatalogueError(f"{shown}, {where}: {_problems(error)}") from None
    return found


def read_project_catalogue(project_file: Path, *,
                           survey_columns: Iterable[str] | None = None) -> Catalogue:
    """The catalogue of the project whose file this is, from its ``indicators:`` section alone
    (the files it names read beside it): for those who have a project file but no run, such as
    an auditor holding a bundle. Errors are :class:`CatalogueError` naming the file and field."""
    project_file = Path(project_file)
    root = project_file.parent
    if not project_file.is_file():
        raise CatalogueError(f"{project_file}: no such file")
    if project_file.stat().st_size > MAX_FILE_BYTES:
        raise CatalogueError(f"{project_file}: larger than {MAX_FILE_BYTES:,} bytes")
    raw = _safe_yaml(project_file.read_bytes(), project_file, aliases=True)
    section = raw.get("indicators") if isinstance(raw, dict) else None
    try:
        project = ProjectIndicators.model_validate(section or {})
    except ValidationError as error:
        raise CatalogueError(f"{project_file}: indicators: {_problems(error)}") from None
    return project_catalogue(project, root=root, project_file=project_file,
                             survey_columns=survey_columns)


def _safe_yaml(content: bytes, shown: Path, *, aliases: bool = False) -> object:
    """Plain YAML values only: no tags beyond the safe ones, no aliases (unless allowed, and
    then counted as expanded), no deep nesting, no key written twice (which YAML would
    otherwise read as the last one, silently)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CatalogueError(f"{shown}: not UTF-8 text (byte {error.start + 1})") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise CatalogueError(f"{shown}: the file is empty")
        _check_nodes(node, shown, aliases)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CatalogueError(f"{shown}{line}: not valid YAML: {problem}") from None
    except RecursionError:
        raise CatalogueError(f"{shown}: nested too deeply") from None
    finally:
        loader.dispose()


def _check_nodes(top: Node, shown: Path, aliases: bool = False) -> None:
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(top, 1)]
    visited = 0
    while stack:
        node, depth = stack.pop()
        line = node.start_mark.line + 1
        visited += 1
        if visited > MAX_NODES:
            raise CatalogueError(f"{shown}: more than {MAX_NODES:,} values once aliases are "
                                 f"expanded")
        if id(node) in seen and not aliases:
            raise CatalogueError(f"{shown}, line {line}: aliases (*name) are not allowed in "
                                 f"an indicator file; write the value out")
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise CatalogueError(f"{shown}, line {line}: nested more than {MAX_DEPTH} deep")
        if isinstance(node, MappingNode):
            keys: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    if key.value in keys:
                        raise CatalogueError(
                            f"{shown}, line {key.start_mark.line + 1}: the key "
                            f"'{key.value[:80]}' is written twice (first on line "
                            f"{keys[key.value]}); keep one")
                    keys[key.value] = key.start_mark.line + 1
                stack.extend(((key, depth + 1), (value, depth + 1)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _check_conditions(indicators: Iterable[Indicator], survey_columns: Iterable[str] | None,
                      root: Path) -> None:
    """The project's own survey expressions name only the columns of ``survey_responses``
    (when they are given). Built-in indicators are not held to the project's survey items: one
    reading items the project lacks is not computed, and the run says which (see
    ``indicators.compute.registry``)."""
    if survey_columns is None:
        return
    columns = list(survey_columns)
    for indicator in indicators:
        spec = indicator.computation
        if not isinstance(spec, SurveyComputation):
            continue
        for field in spec.EXPRESSIONS:
            try:
                check_expression(getattr(spec, field), columns, role=field)
            except ConditionError as error:
                raise CatalogueError(f"{_where(indicator, root)}, indicator {indicator.id}: "
                                     f"field 'computation.{field}': {error}") from None
        known = {c.lower() for c in columns}
        for n, breakdown in enumerate(indicator.breakdowns):
            if breakdown.lower() not in known:
                raise CatalogueError(
                    f"{_where(indicator, root)}, indicator {indicator.id}: field "
                    f"'breakdowns[{n}]': the survey has no column {breakdown!r} to break the "
                    f"estimate down by (declare it in survey_items, or remove the breakdown)")


# --- the codebook -------------------------------------------------------------------------

def check_measures(catalogue: Catalogue, codebook: Iterable[str], *,
                   root: Path | None = None) -> list[str]:
    """Every administrative measure the project's own indicators read is in its codebook
    (``admin_codebook``), or a :class:`CatalogueError` naming the file, the indicator and the
    field; returns notes for the run: built-in indicators whose measure the codebook lacks
    (they will have no values) and codebook measures no indicator in use reads."""
    measures = set(codebook)
    root = root or Path(".")
    read: set[str] = set()
    missing_builtin: list[str] = []
    for indicator in catalogue:
        spec = indicator.computation
        if not isinstance(spec, AdminRatio):
            continue
        for side in ("numerator", "denominator"):
            quantity = getattr(spec, side)
            if not isinstance(quantity, MeasureQuantity):
                continue
            read.add(quantity.measure)
            if quantity.measure in measures:
                continue
            if is_builtin_definition(indicator):
                missing_builtin.append(f"{indicator.id} ({quantity.measure})")
                continue
            raise CatalogueError(
                f"{_where(indicator, root)}, indicator {indicator.id}: field "
                f"'computation.{side}.measure': {quantity.measure!r} is not a measure of the "
                f"codebook (admin_codebook: {_listed(sorted(measures)) or 'no measures'})")
    notes = []
    if missing_builtin:
        notes.append("built-in indicators read measures the codebook does not declare, so "
                     f"they have no values: {', '.join(missing_builtin)}; leave them out "
                     "(indicators: drop) or add the measures to the codebook")
    unused = sorted(measures - read)
    if unused:
        notes.append(f"the codebook declares measures no indicator in use reads: "
                     f"{', '.join(unused)} (an indicator of your own can read them: "
                     f"indicators: define)")
    return notes
