"""How one territory stands against others: its rank among its peers, the gap to a reference
territory with its significance, and the distance to a target.

Territory profiles read these; they are computed here so that reports compute no statistics.
Ranks and gaps are computed in DuckDB for a whole batch of territories at once (one query each,
whatever the batch's size), from the published rows of ``indicator_values``.

A territory inside its reference (a commune in its département) shares respondents with it:
the run tests those gaps with the covariance of the two estimates and the pair's degrees of
freedom (``indicator_gaps``, as R's ``svycontrast`` over both domains of one design). Any other
pair is tested as if the two estimates were independent: the variance of the difference is
the sum of the two variances. Administrative values come from exhaustive counts and carry no
standard error: their gaps are exact and not tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from indicators.compute.publication import Z_95

PUBLISHED_STATUSES: tuple[str, ...] = ("ok", "low_reliability")
"""Statuses whose value is published: the only values ranked and compared."""


@dataclass(frozen=True)
class Gap:
    """A territory's value minus its reference's, and whether the difference is significant
    (``None``: not tested, a value without standard error)."""

    gap: float
    se: float | None
    significant: bool | None


def gap_test(value: float, se: float | None, reference: float,
             reference_se: float | None) -> Gap:
    """Two-sided test at the 5 % level of ``value - reference``, estimates independent."""
    gap = value - reference
    if se is None or reference_se is None:
        return Gap(gap, None, None)
    se_gap = math.sqrt(se * se + reference_se * reference_se)
    if se_gap == 0:
        return Gap(gap, 0.0, None)
    return Gap(gap, se_gap, abs(gap) / se_gap > Z_95)


@dataclass(frozen=True)
class TargetDistance:
    """``value - target``, and whether the target is reached (``None`` for a context
    indicator, which has no better side)."""

    distance: float
    reached: bool | None


def target_distance(value: float, target: float, direction: str) -> TargetDistance:
    """The distance to a target, judged with the indicator's direction."""
    distance = value - target
    if direction == "higher_is_better":
        return TargetDistance(distance, value >= target)
    if direction == "lower_is_better":
        return TargetDistance(distance, value <= target)
    return TargetDistance(distance, None)


def peer_ranks(con: duckdb.DuckDBPyConnection, year: int,
               territories: Sequence[tuple[str, str]],
               indicators: Mapping[str, tuple[str, int]],
               statuses: Sequence[str] = PUBLISHED_STATUSES
               ) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(indicator, level, code) → (rank, peers) of each of ``territories`` (level, code).

    Peers are the territories of the same level with a published value in ``year``
    (breakdown total). ``indicators`` maps an id to its direction and decimals: rank 1 is the
    best value (the highest, or the lowest when lower is better), values equal at the
    published decimals share the best rank, and a context indicator is not ranked. One query.
    """
    ranked = [(i, d, n) for i, (d, n) in indicators.items() if d != "context"]
    if not ranked or not territories:
        return {}
    rows = con.execute(
        """
        WITH meta AS (
          SELECT unnest($ids) AS indicator_id, unnest($directions) AS direction,
                 unnest($decimals) AS decimals),
        wanted AS (
          SELECT unnest($levels) AS territory_level, unnest($codes) AS territory_code),
        published AS (
          SELECT v.indicator_id, v.territory_level, v.territory_code,
                 CASE WHEN m.direction = 'lower_is_better' THEN 1 ELSE -1 END
                   * round(v.value, m.decimals) AS ordered
          FROM indicator_values v JOIN meta m USING (indicator_id)
          WHERE v.year = $year AND v.breakdown = 'total' AND v.value IS NOT NULL
            AND list_contains($statuses, v.status)
            AND v.territory_level IN (SELECT territory_level FROM wanted)),
        ranked AS (
          SELECT indicator_id, territory_level, territory_code,
                 rank() OVER (PARTITION BY indicator_id, territory_level ORDER BY ordered)
                   AS rank,
                 count(*) OVER (PARTITION BY indicator_id, territory_level) AS peers
          FROM published)
        SELECT r.indicator_id, r.territory_level, r.territory_code, r.rank, r.peers
        FROM ranked r JOIN wanted w USING (territory_level, territory_code)
        """,
        {"ids": [i for i, _, _ in ranked], "directions": [d for _, d, _ in ranked],
         "decimals": [n for _, _, n in ranked], "year": year,
         "levels": [level for level, _ in territories],
         "codes": [code for _, code in territories], "statuses": list(statuses)},
    ).fetchall()
    return {(i, level, code): (int(rank), int(peers)) for i, level, code, rank, peers in rows}


def reference_gaps(con: duckdb.DuckDBPyConnection, year: int,
                   pairs: Sequence[tuple[str, str, str, str]],
                   statuses: Sequence[str] = PUBLISHED_STATUSES
                   ) -> dict[tuple[str, str, str, str, str], Gap]:
    """(indicator, level, code, reference level, reference code) → :class:`Gap` for each pair
    (level, code, reference level, reference code) and each indicator both have a published
    value for in ``year`` (breakdown total), in one query.

    A pair the run tested with the design (``indicator_gaps``: a survey cell against a
    territory containing it) takes that test; any other pair :func:`gap_test`'s.
    """
    if not pairs:
        return {}
    tested = bool(con.execute("SELECT count(*) FROM duckdb_tables() "
                              "WHERE table_name = 'indicator_gaps'").fetchall()[0][0])
    design = ("SELECT indicator_id, territory_level, territory_code, reference_level, "
              "reference_code, se_gap, significant FROM indicator_gaps "
              "WHERE year = $year AND breakdown = 'total'") if tested else (
              "SELECT NULL::VARCHAR AS indicator_id, NULL::VARCHAR AS territory_level, "
              "NULL::VARCHAR AS territory_code, NULL::VARCHAR AS reference_level, "
              "NULL::VARCHAR AS reference_code, NULL::DOUBLE AS se_gap, "
              "NULL::BOOLEAN AS significant WHERE FALSE")
    rows = con.execute(
        f"""
        WITH pairs AS (
          SELECT unnest($levels) AS territory_level, unnest($codes) AS territory_code,
                 unnest($reference_levels) AS reference_level,
                 unnest($reference_codes) AS reference_code),
        published AS (
          SELECT indicator_id, territory_level, territory_code, value, se
          FROM indicator_values
          WHERE year = $year AND breakdown = 'total' AND value IS NOT NULL
            AND list_contains($statuses, status)),
        design AS ({design}),
        gaps AS (
          SELECT a.indicator_id, p.territory_level, p.territory_code, p.reference_level,
                 p.reference_code, a.value - b.value AS gap,
                 sqrt(a.se * a.se + b.se * b.se) AS se_independent
          FROM pairs p
          JOIN published a ON a.territory_level = p.territory_level
                          AND a.territory_code = p.territory_code
          JOIN published b ON b.indicator_id = a.indicator_id
                          AND b.territory_level = p.reference_level
                          AND b.territory_code = p.reference_code)
        SELECT g.indicator_id, g.territory_level, g.territory_code, g.reference_level,
               g.reference_code, g.gap,
               CASE WHEN d.indicator_id IS NOT NULL THEN d.se_gap ELSE g.se_independent END,
               CASE WHEN d.indicator_id IS NOT NULL THEN d.significant
                    WHEN g.se_independent IS NULL OR g.se_independent = 0 THEN NULL
                    ELSE abs(g.gap) / g.se_independent > $z END
        FROM gaps g LEFT JOIN design d USING (indicator_id, territory_level, territory_code,
                                              reference_level, reference_code)
        """,
        {"levels": [p[0] for p in pairs], "codes": [p[1] for p in pairs],
         "reference_levels": [p[2] for p in pairs], "reference_codes": [p[3] for p in pairs],
         "year": year, "statuses": list(statuses), "z": Z_95},
    ).fetchall()
    return {(i, level, code, ref_level, ref_code): Gap(gap, se_gap, significant)
            for i, level, code, ref_level, ref_code, gap, se_gap, significant in rows}
