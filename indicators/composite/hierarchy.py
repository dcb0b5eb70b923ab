"""The hierarchy of a composite index: indicators → aggregates → … → one index.

A hierarchy is data, not code: each node names its parent, its weight relative to its siblings
and, for indicators, its direction. It comes from the indicator catalogue (indicators → action
domains → index) or from a COINr ``iMeta`` table for any other framework, and is checked once,
here, so that every later step can trust it: one root, no cycle, every parent known, each child
exactly one level below its parent (COINr aggregates level by level), indicators only at level 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property


class CompositeError(ValueError):
    """Inputs or choices a composite index cannot be built from; the message says which."""


@dataclass(frozen=True)
class Node:
    """One indicator (level 1) or aggregate (level ≥ 2) of the hierarchy.

    ``weight`` is relative to the node's siblings (COINr rescales weights within each parent);
    ``direction`` is +1 when higher values are better and −1 otherwise (indicators only);
    ``target`` feeds distance-to-target normalisation; ``denominator`` names the column an
    indicator is divided by when the denomination step is chosen.
    """

    code: str
    level: int
    parent: str | None
    weight: float = 1.0
    direction: int = 1
    name: str = ""
    target: float | None = None
    denominator: str | None = None


@dataclass(frozen=True)
class Hierarchy:
    """A checked tree of nodes, in the order given (the order of columns in every output)."""

    nodes: tuple[Node, ...]
    _by_code: dict[str, Node] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", _check_codes(self.nodes))
        _check_parents(self.nodes, self._by_code)
        _check_levels(self.nodes, self._by_code)
        _check_values(self.nodes)

    def node(self, code: str) -> Node:
        try:
            return self._by_code[code]
        except KeyError:
            raise CompositeError(f"no node {code!r} in the hierarchy") from None

    @cached_property
    def indicators(self) -> tuple[str, ...]:
        return tuple(n.code for n in self.nodes if n.level == 1)

    @cached_property
    def aggregates(self) -> tuple[str, ...]:
        """Aggregates from the lowest level up to the index: the order they are computed in."""
        ordered = sorted((n for n in self.nodes if n.level > 1), key=lambda n: n.level)
        return tuple(n.code for n in ordered)

    @cached_property
    def root(self) -> str:
        return next(n.code for n in self.nodes if n.parent is None)

    @property
    def depth(self) -> int:
        return self._by_code[self.root].level

    def children(self, code: str) -> tuple[str, ...]:
        return tuple(n.code for n in self.nodes if n.parent == code)

    def directions(self) -> tuple[int, ...]:
        return tuple(self._by_code[c].direction for c in self.indicators)

    def weights(self) -> dict[str, float]:
        """The weight of every node but the root, which has no siblings to be weighed against."""
        return {n.code: n.weight for n in self.nodes if n.parent is not None}

    def with_weights(self, weights: Mapping[str, float]) -> Hierarchy:
        """A copy with some weights replaced; an unknown code is an error, not ignored."""
        unknown = sorted(set(weights) - set(self._by_code))
        if unknown:
            raise CompositeError(f"weights given for codes not in the hierarchy: {unknown}")
        if self.root in weights:
            raise CompositeError(f"the index {self.root!r} has no siblings: it takes no weight")
        return Hierarchy(tuple(replace(n, weight=float(weights.get(n.code, n.weight)))
                               for n in self.nodes))

    def without(self, codes: Iterable[str]) -> tuple[Hierarchy, tuple[str, ...]]:
        """Drop indicators, then every aggregate left without children.

        Returns the pruned hierarchy and the aggregates that were dropped with them; losing
        the whole index is an error.
        """
        dropped = set(codes)
        unknown = sorted(dropped - set(self.indicators))
        if unknown:
            raise CompositeError(f"cannot drop {unknown}: not indicators of the hierarchy")
        pruned: list[str] = []
        for code in self.aggregates:
            if all(child in dropped for child in self.children(code)):
                dropped.add(code)
                pruned.append(code)
        if self.root in dropped:
            raise CompositeError("no indicator is left to build the index from")
        return Hierarchy(tuple(n for n in self.nodes if n.code not in dropped)), tuple(pruned)


def _check_codes(nodes: tuple[Node, ...]) -> dict[str, Node]:
    if not nodes:
        raise CompositeError("the hierarchy is empty")
    by_code: dict[str, Node] = {}
    for node in nodes:
        if not node.code:
            raise CompositeError("a node has an empty code")
        if node.code in by_code:
            raise CompositeError(f"code {node.code!r} appears twice in the hierarchy")
        by_code[node.code] = node
    return by_code


def _check_parents(nodes: tuple[Node, ...], by_code: dict[str, Node]) -> None:
    for node in nodes:
        if node.parent is not None and node.parent not in by_code:
            raise CompositeError(
                f"parent {node.parent!r} of {node.code!r} does not exist in the hierarchy")
    for node in nodes:
        seen = [node.code]
        current = node
        while current.parent is not None:
            current = by_code[current.parent]
            if current.code in seen:
                cycle = " → ".join([*seen[seen.index(current.code):], current.code])
                raise CompositeError(f"cycle in the hierarchy: {cycle}")
            seen.append(current.code)
    roots = [n.code for n in nodes if n.parent is None]
    if len(roots) != 1:
        raise CompositeError(f"the hierarchy needs exactly one index (a node without parent); "
                             f"found {len(roots)}: {roots}")


def _check_levels(nodes: tuple[Node, ...], by_code: dict[str, Node]) -> None:
    parents = {n.parent for n in nodes if n.parent is not None}
    for node in nodes:
        if node.level < 1:
            raise CompositeError(f"{node.code!r} has level {node.level}; levels start at 1")
        if node.level == 1 and node.code in parents:
            raise CompositeError(f"indicator {node.code!r} (level 1) cannot have children")
        if node.level > 1 and node.code not in parents:
            raise CompositeError(f"aggregate {node.code!r} (level {node.level}) has no children")
        if node.parent is not None and by_code[node.parent].level != node.level + 1:
            parent = by_code[node.parent]
            raise CompositeError(
                f"{node.code!r} is at level {node.level} but its parent {parent.code!r} is at "
                f"level {parent.level}; a parent must be exactly one level above its children")


def _check_values(nodes: tuple[Node, ...]) -> None:
    for node in nodes:
        if not math.isfinite(node.weight) or node.weight < 0:
            raise CompositeError(f"weight of {node.code!r} is {node.weight}; "
                                 "weights must be finite and not negative")
        if node.level == 1 and node.direction not in (-1, 1):
            raise CompositeError(f"direction of {node.code!r} is {node.direction}; "
                                 "expected 1 (higher is better) or -1 (lower is better)")
        if node.target is not None and not math.isfinite(node.target):
            raise CompositeError(f"target of {node.code!r} is not a finite number")
    totals: dict[str, float] = {}
    for node in nodes:
        if node.parent is not None:
            totals[node.parent] = totals.get(node.parent, 0.0) + node.weight
    zero = sorted(code for code, total in totals.items() if total <= 0)
    if zero:
        raise CompositeError(f"the children of {zero} all have weight 0")
