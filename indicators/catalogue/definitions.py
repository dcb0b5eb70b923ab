"""The indicator catalogue: declarative definitions read from YAML into frozen, typed objects.

What an indicator *is* (labels, domain, unit, direction, inputs) lives here; how it is computed
lives in ``_compute.py``, keyed by the definition's ``kind``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from indicators.conditions import ConditionError, check_expression

Direction = Literal["higher_is_better", "lower_is_better", "context"]
Breakdown = Literal["sex"]
_M = TypeVar("_M", bound=BaseModel)
AGE_GROUPS = ("00-14", "15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-69", "70+")


class CatalogueError(ValueError):
    """A catalogue file that cannot be read; the message names the file, indicator and field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalisedText(_Frozen):
    """The same text in English and French: every label a reader sees exists in both."""

    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)

    def __call__(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def _split_languages(english: str, french: str) -> Callable[[object], object]:
    """Read ``{en, fr}`` under ``english`` as the English text and its ``french`` field, so that
    a definition may give a text in both languages in the catalogue's usual form; older files
    giving the English alone keep working."""
    def split(value: object) -> object:
        if isinstance(value, dict) and isinstance(value.get(english), dict):
            texts = value[english]
            if set(texts) - {"en", "fr"} or "en" not in texts:
                raise PydanticCustomError(
                    "localised_text", "'{field}' in both languages takes the keys en and fr",
                    {"field": english})
            if french in value:
                raise PydanticCustomError(
                    "french_twice", "the French of '{field}' is given twice ({field}.fr and "
                    "{french})", {"field": english, "french": french})
            return {**value, english: texts["en"], french: texts.get("fr")}
        return value
    return split


class Target(_Frozen):
    """A target to reach, with where it comes from (in English, and in French when given:
    ``source: {en: …, fr: …}`` or ``source_fr``)."""

    value: float
    source: str = Field(min_length=1)
    source_fr: str | None = Field(default=None, min_length=1)

    _languages = model_validator(mode="before")(_split_languages("source", "source_fr"))

    def source_in(self, lang: str) -> str:
        """Where the target comes from, in ``lang``; in English when no French was given."""
        return self.source_fr if lang == "fr" and self.source_fr else self.source


class Domain(_Frozen):
    """An action domain of the learning city (or the cross-cutting participation block)."""

    code: str = Field(pattern=r"^[A-Z]{2,4}$")
    label: LocalisedText
    description: LocalisedText


class MeasureQuantity(_Frozen):
    """The sum of one administrative measure (from ``admin_measures``) over the territory."""

    measure: str


class PopulationQuantity(_Frozen):
    """Resident population of the territory, optionally restricted to age groups and a sex.

    The age groups are the project's own bands (``population.age_bands`` in the project file;
    INSEE's by default): an indicator asking for a band the project's population does not give
    is not computed, and the run says why, rather than showing a wrong or empty value.
    """

    population: Literal["residents"] = "residents"
    age_groups: tuple[Annotated[str, Field(min_length=1, max_length=20)], ...] = ()
    sex: Literal["F", "M"] | None = None

    @field_validator("age_groups")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) < len(value):
            raise ValueError(f"age groups listed twice in {list(value)}")
        return value

    @property
    def detailed(self) -> bool:
        """Whether it needs the population's age or sex detail (not totals alone)."""
        return bool(self.age_groups) or self.sex is not None


Quantity = MeasureQuantity | PopulationQuantity


class SurveyProportion(_Frozen):
    """Share of a survey population meeting a condition, with the full sampling design.

    ``condition`` and ``population`` are DuckDB SQL boolean expressions over the columns of
    ``survey_responses``; respondents with a missing answer leave the estimate, not the design.
    A catalogue file may come from anywhere: both are checked when it is read (one
    expression, allowed operators and functions only, see ``indicators.conditions``), and
    their columns against the table when it is known (``load_catalogue(survey_columns=)``,
    or when the indicator is planned).
    """

    kind: Literal["survey_proportion"]
    condition: str
    population: str = "TRUE"
    EXPRESSIONS: ClassVar[tuple[str, ...]] = ("condition", "population")

    @field_validator("condition", "population")
    @classmethod
    def _one_allowed_expression(cls, value: str, info: ValidationInfo) -> str:
        check_expression(value, None, role=info.field_name or "condition")
        return value


def _allowed_expression(value: str, info: ValidationInfo) -> str:
    """One expression with the allowed operators and functions (``indicators.conditions``);
    its columns are checked against ``survey_responses`` when the table is known."""
    check_expression(value, None, role=info.field_name or "variable")
    return value


Scale = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class SurveyMean(_Frozen):
    """Weighted mean of a number over a survey population, with the full sampling design.

    ``variable`` is a DuckDB SQL numeric expression over the columns of ``survey_responses``
    (a respondent for whom it is NULL leaves the estimate, not the design), ``population`` a
    boolean one, as for proportions. The published value is ``scale`` × the mean.
    """

    kind: Literal["survey_mean"]
    variable: str
    population: str = "TRUE"
    scale: Scale = 1.0
    EXPRESSIONS: ClassVar[tuple[str, ...]] = ("variable", "population")

    _one_allowed_expression = field_validator("variable", "population")(_allowed_expression)


class SurveyTotal(_Frozen):
    """Estimated population total of a number (e.g. hours of training), with the full design.

    Fields as for ``SurveyMean``; the published value is ``scale`` × the total (e.g. 0.001
    for thousands).
    """

    kind: Literal["survey_total"]
    variable: str
    population: str = "TRUE"
    scale: Scale = 1.0
    EXPRESSIONS: ClassVar[tuple[str, ...]] = ("variable", "population")

    _one_allowed_expression = field_validator("variable", "population")(_allowed_expression)


class SurveyRatio(_Frozen):
    """Ratio of two estimated population totals, as R's ``svyratio``, with the full design.

    ``numerator`` and ``denominator`` are numeric expressions over ``survey_responses``; a
    respondent missing either leaves the estimate. The published value is ``scale`` × the
    ratio (100 for a percentage).
    """

    kind: Literal["survey_ratio"]
    numerator: str
    denominator: str
    population: str = "TRUE"
    scale: Scale = 1.0
    EXPRESSIONS: ClassVar[tuple[str, ...]] = ("numerator", "denominator", "population")

    _one_allowed_expression = field_validator("numerator", "denominator", "population")(
        _allowed_expression)


SurveyComputation = SurveyProportion | SurveyMean | SurveyTotal | SurveyRatio
"""The kinds computed from the survey microdata; ``EXPRESSIONS`` names their SQL fields."""


class AdminRatio(_Frozen):
    """Ratio of sums: sum(numerator) × scale ÷ sum(denominator) over the territory's communes."""

    kind: Literal["admin_ratio"]
    numerator: Quantity
    denominator: Quantity
    scale: float = 1.0


CommutingMeasure = Literal[
    "employment_concentration", "local_job_retention", "residents_share_of_qualified_jobs"
]


class CommutingRatio(_Frozen):
    """An indicator from home-work flows, computed with both ends of each flow placed."""

    kind: Literal["commuting"]
    measure: CommutingMeasure
    scale: float = 100.0


Computation = Annotated[
    SurveyProportion | SurveyMean | SurveyTotal | SurveyRatio | AdminRatio | CommutingRatio,
    Field(discriminator="kind")
]
KINDS: tuple[str, ...] = tuple(
    sorted(m.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
           for m in (SurveyProportion, SurveyMean, SurveyTotal, SurveyRatio,
                     AdminRatio, CommutingRatio)))
"""The computation kinds a definition may name (``computation.kind``)."""


def _known_kind(value: object) -> object:
    """Say plainly which kinds exist: pydantic's own message for a tagged union is obscure."""
    if isinstance(value, BaseModel):
        return value  # already checked
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "computation_type", "expected a mapping with a 'kind' (one of {kinds})",
            {"kinds": ", ".join(KINDS)})
    kind = value.get("kind")
    if kind is None:
        raise PydanticCustomError("missing_kind", "field 'kind' missing; valid kinds: {kinds}",
                                  {"kinds": ", ".join(KINDS)})
    if kind not in KINDS:
        raise PydanticCustomError("unknown_kind",
                                  "kind '{kind}' does not exist; valid kinds: {kinds}",
                                  {"kind": str(kind)[:80], "kinds": ", ".join(KINDS)})
    return value


class Indicator(_Frozen):
    """One published indicator: what it means, how to read it and what it is computed from."""

    id: str = Field(pattern=r"^[A-Z]{2,4}\d{2}$")
    domain: str
    label: LocalisedText
    description: LocalisedText
    unit: LocalisedText
    direction: Direction
    kflc: tuple[str, ...] = Field(description="UNESCO Key Features of Learning Cities codes")
    reference: str | None = None
    reference_fr: str | None = Field(default=None, min_length=1,
                                     description="the reference in French, when it differs")
    target: Target | None = None
    decimals: int = Field(default=1, ge=0, le=3)
    min_n: int = Field(default=30, ge=1, description="suppress below this unweighted count")
    reliable_n: int = Field(default=100, ge=1, description="flag low reliability below this")
    max_cv: float = Field(default=0.2, gt=0, description="flag low reliability above this CV")
    breakdowns: tuple[Breakdown, ...] = ()
    source: LocalisedText
    computation: Annotated[Computation, BeforeValidator(_known_kind)]
    defined_in: str | None = Field(default=None, exclude=True,
                                   description="the catalogue file that defines it")

    _languages = model_validator(mode="before")(_split_languages("reference", "reference_fr"))

    def reference_in(self, lang: str) -> str | None:
        """The reference frameworks the indicator answers to, in ``lang``; in English when no
        French was given."""
        return self.reference_fr if lang == "fr" and self.reference_fr else self.reference

    @field_validator("kflc")
    @classmethod
    def _kflc_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        valid = {f"{block}{i}" for block, top in (("W", 3), ("B", 6), ("F", 3))
                 for i in range(1, top + 1)}
        unknown = sorted(set(value) - valid)
        if unknown:
            raise ValueError(f"unknown KFLC codes {unknown}; valid: {sorted(valid)}")
        return value

    @model_validator(mode="after")
    def _reliability_order(self) -> Indicator:
        if self.reliable_n < self.min_n:
            raise ValueError("reliable_n must be at least min_n")
        return self

    @property
    def kind(self) -> str:
        return self.computation.kind


class Catalogue(_Frozen):
    """Every domain and indicator, in publication order."""

    domains: tuple[Domain, ...]
    indicators: tuple[Indicator, ...]
    sha256: str = Field(description="hash of the catalogue files, for manifests")

    def __iter__(self) -> Iterator[Indicator]:  # type: ignore[override]
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(f"no indicator {indicator_id!r}; known: {[i.id for i in self]}")

    def domain(self, code: str) -> Domain:
        for domain in self.domains:
            if domain.code == code:
                return domain
        raise KeyError(f"no domain {code!r}; known: {[d.code for d in self.domains]}")

    def in_domain(self, code: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.domain == code)


def bundled_catalogue_dir() -> Path:
    """The catalogue shipped with LCI (one YAML file per domain plus ``domains.yaml``)."""
    return Path(str(resources.files("indicators") / "catalogue"))


def load_catalogue(directory: Path | str | None = None, *,
                   survey_columns: Iterable[str] | None = None) -> Catalogue:
    """Read ``domains.yaml`` and every other ``*.yaml`` file of a catalogue directory.

    Errors name the file, the indicator and the field, so an analyst editing YAML can fix them.
    With ``survey_columns`` (the columns of ``survey_responses``), the survey conditions must
    name only those columns; without, their columns are checked when they are planned.
    """
    directory = Path(directory) if directory is not None else bundled_catalogue_dir()
    domains_file = directory / "domains.yaml"
    if not domains_file.is_file():
        raise CatalogueError(f"{domains_file}: missing (a catalogue needs its list of domains)")
    digest = hashlib.sha256()
    raw_domains = _read_yaml(domains_file, digest)
    domains = tuple(_parse(Domain, item, domains_file, f"domain #{n + 1}")
                    for n, item in enumerate(_require_list(raw_domains, "domains", domains_file)))
    domain_codes = [d.code for d in domains]
    indicators: list[Indicator] = []
    for path in sorted(directory.glob("*.yaml")):
        if path == domains_file:
            continue
        raw = _read_yaml(path, digest)
        domain = raw.get("domain") if isinstance(raw, dict) else None
        if domain not in domain_codes:
            raise CatalogueError(f"{path.name}: field 'domain' is {domain!r}; "
                                 f"expected one of {domain_codes}")
        for n, item in enumerate(_require_list(raw, "indicators", path)):
            where = f"indicator {item.get('id', f'#{n + 1}')}" if isinstance(item, dict) else n
            item = {"domain": domain, **item, "defined_in": path.name} if isinstance(item, dict) \
                else item
            indicators.append(_parse(Indicator, item, path, where))
    _check_unique_ids(indicators)
    if survey_columns is not None:
        _check_survey_columns(indicators, list(survey_columns))
    order = {code: n for n, code in enumerate(domain_codes)}
    indicators.sort(key=lambda i: (order[i.domain], i.id))
    return Catalogue(domains=domains, indicators=tuple(indicators), sha256=digest.hexdigest())


def _read_yaml(path: Path, digest: hashlib._Hash) -> object:
    content = path.read_bytes()
    digest.update(path.name.encode() + b"\0" + content)
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path.name}: not valid YAML: {error}") from None


def _require_list(raw: object, key: str, path: Path) -> list:
    items = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise CatalogueError(f"{path.name}: expected a non-empty list under '{key}'")
    return items


def _parse(model: type[_M], item: object, path: Path, where: object) -> _M:
    try:
        return model.model_validate(item)
    except ValidationError as error:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in e['loc']) or '(whole entry)'}': {e['msg']}"
            for e in error.errors()
        )
        raise CatalogueError(f"{path.name}, {where}: {problems}") from None


def _check_survey_columns(indicators: list[Indicator], columns: list[str]) -> None:
    for indicator in indicators:
        spec = indicator.computation
        if not isinstance(spec, SurveyComputation):
            continue
        for field in spec.EXPRESSIONS:
            try:
                check_expression(getattr(spec, field), columns, role=field)
            except ConditionError as error:
                raise CatalogueError(f"{indicator.defined_in}, indicator {indicator.id}: "
                                     f"field 'computation.{field}': {error}") from None


def _check_unique_ids(indicators: list[Indicator]) -> None:
    seen: set[str] = set()
    for indicator in indicators:
        if indicator.id in seen:
            raise CatalogueError(f"indicator id {indicator.id} is defined twice")
        seen.add(indicator.id)
