"""Composite indices the OECD/JRC way (as COINr builds them), with a replayable log of choices.

``build_composite`` runs the steps in a fixed order — denominate → screen → impute → treat →
normalise → aggregate → rank — each optional and each recorded in the result's log: the choice
made (with everything resolved, e.g. every weight and target) and what it did (units removed,
cells imputed, points winsorised). ``replay`` rebuilds the same result from that log alone, so a
published index can be audited and reproduced.

>>> result = build_composite(read_coinr("asem_idata.csv", "asem_imeta.csv"))  # doctest: +SKIP
>>> result.to_frame().head()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from indicators.composite.aggregate import aggregate_array, compile_plan, rank_descending
from indicators.composite.data import CompositeData
from indicators.composite.hierarchy import Hierarchy
from indicators.composite.normalise import normalise_array, resolve
from indicators.composite.preprocess import denominate, impute, screen, treat
from indicators.composite.specification import CompositeSpec


class LogEntry(BaseModel):
    """One step of the log: the choice made (``None``: step not applied) and what it did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    choice: Any = None
    effect: dict[str, Any] = Field(default_factory=dict)

    def choice_json(self) -> str:
        return json.dumps(self.choice, sort_keys=True, ensure_ascii=False)

    def effect_json(self) -> str:
        return json.dumps(self.effect, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, eq=False)
class CompositeResult:
    """Everything a composite run produced, with the log that reproduces it.

    ``prepared`` holds the indicator values after denomination and screening, before
    imputation: where the Monte Carlo analysis starts from. ``values`` are those that entered
    normalisation; ``imputed`` flags the cells that imputation filled.
    """

    spec: CompositeSpec
    hierarchy: Hierarchy
    prepared: pd.DataFrame
    values: pd.DataFrame
    imputed: pd.DataFrame
    normalised: pd.DataFrame
    aggregates: pd.DataFrame
    ranks: pd.Series
    log: tuple[LogEntry, ...]

    @property
    def index(self) -> pd.Series:
        return self.aggregates[self.hierarchy.root]

    def scores(self) -> pd.DataFrame:
        """Normalised indicators and every aggregate, one column per node."""
        return pd.concat([self.normalised, self.aggregates], axis=1)

    def to_frame(self) -> pd.DataFrame:
        """COINr-style results: uCode, normalised indicators, aggregates (lowest level first),
        Rank; rows in the data's order."""
        frame = self.scores().rename_axis("uCode").reset_index()
        frame["Rank"] = self.ranks.to_numpy()
        return frame


def build_composite(data: CompositeData, spec: CompositeSpec | None = None) -> CompositeResult:
    """Build the composite index of ``data`` with the choices of ``spec`` (default: COINr's)."""
    spec = spec or CompositeSpec()
    hierarchy = data.hierarchy.with_weights(spec.weights)
    weights = hierarchy.weights()
    log = [
        LogEntry(step="weights", choice=weights),
        LogEntry(step="hierarchy", choice=_structure(hierarchy)),
    ]
    values = data.indicator_values()
    if spec.denominate is not None:
        values, effect = denominate(values, data, spec.denominate)
        log.append(LogEntry(step="denominate", choice=_dump(spec.denominate), effect=effect))
    else:
        log.append(LogEntry(step="denominate"))
    if spec.screen is not None:
        values, hierarchy, effect = screen(values, hierarchy, spec.screen)
        log.append(LogEntry(step="screen", choice=_dump(spec.screen), effect=effect))
    else:
        log.append(LogEntry(step="screen"))
    prepared = values
    values, imputed, effect = impute(values, data, spec.impute)
    log.append(LogEntry(step="impute", choice=_dump(spec.impute), effect=effect))
    if spec.treat is not None:
        values, effect = treat(values, spec.treat)
        log.append(LogEntry(step="treat", choice=_dump(spec.treat), effect=effect))
    else:
        log.append(LogEntry(step="treat"))
    normalisation = resolve(spec.normalise, hierarchy)
    directions = np.array(hierarchy.directions(), dtype=float)
    normalised = normalise_array(values.to_numpy(dtype=float), directions, normalisation,
                                 hierarchy.indicators)
    log.append(LogEntry(step="normalise", choice=_dump(normalisation)))
    plan = compile_plan(hierarchy)
    units = [str(u) for u in values.index]
    scores = aggregate_array(normalised, plan, plan.weights(hierarchy.weights()), spec.aggregate,
                             units)
    missing = [u for u, s in zip(units, scores[:, -1], strict=True) if np.isnan(s)]
    log.append(LogEntry(step="aggregate", choice=_dump(spec.aggregate),
                        effect={"index_missing_for": missing}))
    ranks = rank_descending(scores[:, -1])
    log.append(LogEntry(step="rank", choice={"order": "descending", "ties": "share the best"}))
    frame = pd.DataFrame(scores, index=values.index, columns=list(plan.codes))
    resolved = spec.model_copy(update={"weights": weights, "normalise": normalisation})
    return CompositeResult(
        spec=resolved,
        hierarchy=hierarchy,
        prepared=prepared,
        values=values,
        imputed=imputed,
        normalised=frame[list(hierarchy.indicators)],
        aggregates=frame[list(hierarchy.aggregates)],
        ranks=pd.Series(ranks, index=values.index, name="Rank"),
        log=tuple(log),
    )


def spec_from_log(log: Iterable[LogEntry]) -> CompositeSpec:
    """The specification a log records; with the same data it rebuilds the same result."""
    fields = set(CompositeSpec.model_fields)
    return CompositeSpec.model_validate({e.step: e.choice for e in log if e.step in fields
                                         and e.choice is not None})


def replay(data: CompositeData, log: Iterable[LogEntry]) -> CompositeResult:
    """Rebuild a composite index from the log of a previous run."""
    return build_composite(data, spec_from_log(log))


def log_from_json(rows: Iterable[tuple[str, str, str]]) -> tuple[LogEntry, ...]:
    """Read back a log stored as (step, choice JSON, effect JSON) rows, in order."""
    return tuple(LogEntry(step=step, choice=json.loads(choice), effect=json.loads(effect))
                 for step, choice, effect in rows)


def _dump(spec: BaseModel) -> dict[str, Any]:
    return spec.model_dump(mode="json")


def _structure(hierarchy: Hierarchy) -> dict[str, Any]:
    return {
        "index": hierarchy.root,
        "nodes": [{"code": n.code, "level": n.level, "parent": n.parent,
                   "direction": n.direction} for n in hierarchy.nodes],
    }
