"""The choices that make a composite index, as frozen, validated, JSON-serialisable objects.

What a user chooses lives here; how each choice is carried out lives in the step modules. Every
spec dumps to JSON for the log of choices and loads back from it, which is how a result is
replayed. Defaults are COINr's: min-max onto [0, 100], weighted arithmetic mean, and — when
outlier treatment is asked for — its ``Treat`` defaults (|skew| 2, kurtosis 3.5, 5 points).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Denominate(_Spec):
    """Divide indicators by a denominator column (COINr ``Denominate``).

    ``by`` maps an indicator to its denominator; empty means "as declared in the hierarchy".
    ``scale`` maps an indicator to COINr's ``ScaleFactor``: the denominator is divided by it
    first (GDP in dollars gives tiny ratios; a factor of 1e9 gives ratios per billion).
    """

    by: dict[str, str] = Field(default_factory=dict)
    scale: dict[str, float] = Field(default_factory=dict)


class Screen(_Spec):
    """Drop units short of data, then indicators short of coverage.

    A unit is kept when the share of indicators it has a value for is at least
    ``unit_min_availability`` (COINr ``Screen(unit_screen = "byNA", dat_thresh)``); an
    indicator is kept when the share of the remaining units with a value is at least
    ``indicator_min_coverage``.
    """

    unit_min_availability: float | None = Field(default=None, ge=0, le=1)
    indicator_min_coverage: float | None = Field(default=None, ge=0, le=1)


ImputeMethod = Literal["none", "mean", "median", "group_mean", "previous_year"]


class Impute(_Spec):
    """Fill missing values: column mean or median, mean within a group, or last year's value."""

    method: ImputeMethod = "none"
    group: str | None = Field(default=None, description="group column, for group_mean only")

    @model_validator(mode="after")
    def _group_only_for_group_mean(self) -> Impute:
        if (self.method == "group_mean") != (self.group is not None):
            raise ValueError("a group column is needed for group_mean, and only for it")
        return self


class Treat(_Spec):
    """COINr's default outlier treatment: winsorise, else log-transform (see ``treat``)."""

    skew_threshold: float = Field(default=2.0, gt=0)
    kurtosis_threshold: float = 3.5
    max_winsorised: int = Field(default=5, ge=0)


class _Bounded(_Spec):
    lower: float = 0.0
    upper: float = 100.0

    @model_validator(mode="after")
    def _ordered(self) -> _Bounded:
        if not self.upper > self.lower:
            raise ValueError(f"upper ({self.upper}) must exceed lower ({self.lower})")
        return self


class MinMax(_Bounded):
    """(x − min) / (max − min) onto [lower, upper], bounds over the units present."""

    method: Literal["minmax"] = "minmax"


class ZScore(_Spec):
    """(x − mean) / sd (sample standard deviation), rescaled to the given mean and sd."""

    method: Literal["zscore"] = "zscore"
    mean: float = 0.0
    sd: float = Field(default=1.0, gt=0)


class Rank(_Spec):
    """Rank of each unit, 1 for the worst (ties share the lowest rank), as COINr ``n_rank``."""

    method: Literal["rank"] = "rank"


class PercentRank(_Spec):
    """(rank − 1) / (units present − 1): 0 for the worst, 1 for the best, as ``n_prank``."""

    method: Literal["prank"] = "prank"


class DistanceToTarget(_Bounded):
    """(x − worst) / (target − worst) onto [lower, upper], after applying the direction.

    ``targets`` maps indicators to targets in their own units; empty means "the targets of
    the hierarchy" (COINr ``iMeta$Target``). With ``cap``, values beyond the target score
    ``upper``. With ``lower=0, upper=1`` this is COINr's ``n_dist2targ``.
    """

    method: Literal["target"] = "target"
    targets: dict[str, float] = Field(default_factory=dict)
    cap: bool = False


class Goalposts(_Bounded):
    """(x − low) / (high − low), reversed for lower-is-better, truncated to [0, 1], then
    mapped onto [lower, upper] (COINr ``n_goalposts`` with ``trunc2posts``)."""

    method: Literal["goalposts"] = "goalposts"
    posts: dict[str, tuple[float, float]]
    truncate: bool = True

    @model_validator(mode="after")
    def _posts_ordered(self) -> Goalposts:
        bad = sorted(code for code, (low, high) in self.posts.items() if not high > low)
        if bad:
            raise ValueError(f"goalposts must have high > low; not so for {bad}")
        return self


Normalisation = Annotated[
    MinMax | ZScore | Rank | PercentRank | DistanceToTarget | Goalposts,
    Field(discriminator="method"),
]
NORMALISATIONS = ("minmax", "zscore", "rank", "prank", "target", "goalposts")
AggregationMethod = Literal["amean", "gmean", "hmean"]


class Aggregate(_Spec):
    """Weighted mean of each node's children, level by level.

    A missing child's weight goes to its available siblings (COINr's rule). With
    ``min_share``, a node whose share of available children is below it is missing instead.
    """

    method: AggregationMethod = "amean"
    min_share: float | None = Field(default=None, gt=0, le=1)


class CompositeSpec(_Spec):
    """Every choice of one composite index; ``None`` means the step is not applied.

    Steps run in this order: denominate → screen → impute → treat → normalise → aggregate.
    ``weights`` overrides the hierarchy's weights (codes not listed keep theirs).
    """

    weights: dict[str, float] = Field(default_factory=dict)
    denominate: Denominate | None = None
    screen: Screen | None = None
    impute: Impute = Field(default_factory=Impute)
    treat: Treat | None = None
    normalise: Normalisation = Field(default_factory=MinMax)
    aggregate: Aggregate = Field(default_factory=Aggregate)


class Uncertainty(_Spec):
    """What a Monte Carlo uncertainty and sensitivity analysis varies, and how much.

    Each tuple lists alternatives drawn with equal probability (include the nominal choice if
    it should be drawn too); an empty tuple keeps the nominal choice. ``weight_noise`` moves
    each weight uniformly within ±that share of its value (COINr ``get_noisy_weights``) at the
    given child levels (``None``: every level). ``sampling`` draws survey values from their
    sampling distributions. With ``sensitivity``, the Saltelli design runs ``draws × (d + 2)``
    times for ``d`` uncertain choices and yields first-order and total sensitivity indices;
    rank intervals use its ``2 × draws`` independent runs, as COINr does.
    """

    normalise: tuple[Normalisation, ...] = ()
    aggregate: tuple[Aggregate, ...] = ()
    impute: tuple[Impute, ...] = ()
    weight_noise: float = Field(default=0.0, ge=0, lt=1)
    weight_levels: tuple[int, ...] | None = None
    sampling: bool = False
    draws: int = Field(default=500, ge=10)
    seed: int = 0
    sensitivity: bool = True

    @model_validator(mode="after")
    def _real_alternatives(self) -> Uncertainty:
        for name in ("normalise", "aggregate", "impute"):
            if len(getattr(self, name)) == 1:
                raise ValueError(f"{name}: give at least two alternatives (one choice is not "
                                 "an uncertainty; set it in the nominal specification)")
        return self
