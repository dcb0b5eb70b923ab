"""Complementary (secondary) suppression: a withheld survey cell cannot be recalculated
from the cells that are published beside it.

Primary suppression withholds a cell with too few respondents, but the published table is
additive: a territory's numerator and denominator are the sums of its member communes' (the
survey pools their respondents), and a total is the sum of its breakdown's categories when
they hold all its respondents. An EPCI minus its published communes gives a withheld commune
exactly. This module applies the protection against exact recalculation of the statistical
disclosure control tools (tau-Argus, R's sdcTable): the attacker's model is the linear system
of those additive relations over the published numerators and denominators, and a withheld
cell is disclosed when that system determines it (its unit vector lies in the row space of
the relations and the published cells). Complementary cells are withheld greedily, the least
information lost first (the smallest published n in a relation of the disclosed cell, ties
broken by code), until the system determines no withheld cell.

A relation counts only where the attacker can see that it holds exactly: where its parts'
published unweighted n add up to the whole's (a breakdown with respondents of unknown
category, or a territory with a member commune left out, is no exact sum). The test runs
per indicator × year (a total links all its breakdown variables) and, within it, per
connected component of the withheld cells, by the null space of the relations restricted to
the withheld cells (SciPy's SVD): a cell is determined exactly when every null vector is zero
on it. Numerators and denominators are withheld together and obey the same relations, so one
test serves both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
from scipy import linalg, sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import lsqr

from indicators.territories import member_in_year

REASON = "complementary suppression (protects {}:{}, {})"
"""The reason of a complementary cell: the withheld cell it keeps from being recalculated
(the first one it protects, in the table's order)."""
NULL_TOLERANCE = 1e-9
RESIDUAL_TOLERANCE = 1e-6  # distance of a free cell's unit vector from the row space: ≫ 1e-6
EXACT_SIZE = 150  # cells of a component tested at once by its SVD
LEAST_SQUARES = (2, 5)  # LSQR's stops on a least-squares solution of an inconsistent system
CANDIDATES_TRIED = 25  # per disclosed cell, alone; then pairs of the first PAIRS_TRIED
PAIRS_TRIED = 6

CELLS_SQL = """
CREATE OR REPLACE TEMP TABLE _sdc_cells AS
WITH parts AS (SELECT DISTINCT indicator_id, year FROM indicator_values
               WHERE status = 'suppressed'),
levels AS (SELECT level AS territory_level, ordinal AS level_ordinal FROM territory_levels)
SELECT dense_rank() OVER (ORDER BY v.indicator_id, v.year) - 1 AS part,
       row_number() OVER (PARTITION BY v.indicator_id, v.year
                          ORDER BY v.territory_code, l.level_ordinal, v.breakdown) - 1 AS cell,
       v.indicator_id, v.year, v.territory_code, v.territory_level, v.breakdown,
       split_part(v.breakdown, '=', 1) AS variable, v.n_unweighted,
       v.status = 'suppressed' AS withheld,
       CASE WHEN v.status = 'suppressed' OR v.numerator IS NULL OR v.denominator IS NULL
                 OR coalesce(v.n_unweighted, 0) = 0 THEN NULL
            ELSE v.status IN ('ok', 'low_reliability') END AS publishable,
       l.level_ordinal = (SELECT min(ordinal) FROM territory_levels) AS base
FROM indicator_values v JOIN parts USING (indicator_id, year) JOIN levels l USING (territory_level)
"""
"""Every cell of each indicator × year holding a withheld cell, numbered by part and by code
(the order of the tie-break); a base-level (commune) cell is the sum of nothing."""

BREAKDOWN_RELATIONS_SQL = """
CREATE OR REPLACE TEMP TABLE _sdc_relations AS
WITH categories AS (
    SELECT t.part, t.cell AS whole, c.cell AS piece, c.variable, t.n_unweighted AS whole_n,
           c.n_unweighted AS piece_n, t.territory_code, t.territory_level
    FROM _sdc_cells t JOIN _sdc_cells c ON c.part = t.part AND c.territory_code = t.territory_code
         AND c.territory_level = t.territory_level AND c.breakdown <> 'total'
    WHERE t.breakdown = 'total'),
exact AS (
    SELECT part, whole, variable FROM categories GROUP BY part, whole, variable
    HAVING sum(piece_n) = any_value(whole_n))
SELECT part, whole, 'breakdown:' || variable AS kind, piece
FROM categories JOIN exact USING (part, whole, variable)
"""
"""A territory's total is the sum of one breakdown's categories, where their n add up."""

HIERARCHY_RELATIONS_SQL = f"""
INSERT INTO _sdc_relations
WITH parts AS (SELECT DISTINCT part, indicator_id, year FROM _sdc_cells),
pieces AS (
    SELECT a.part, a.cell AS whole, a.n_unweighted AS whole_n, c.cell AS piece,
           c.n_unweighted AS piece_n
    FROM _sdc_cells a
    JOIN territory_members m ON m.territory_code = a.territory_code
         AND m.territory_level = a.territory_level AND {member_in_year("m", "a.year")}
    JOIN _sdc_cells c ON c.part = a.part AND c.base AND c.territory_code = m.commune_code
         AND c.breakdown = a.breakdown
    WHERE NOT a.base),
exact AS (SELECT part, whole FROM pieces GROUP BY part, whole
          HAVING sum(piece_n) = any_value(whole_n))
SELECT part, whole, 'members' AS kind, piece FROM pieces JOIN exact USING (part, whole)
"""
"""An aggregate cell (EPCI, département, région, group) is the sum of its member communes'
cells of the same breakdown in that year, where their n add up; a member commune without a
cell has no respondent there and adds nothing."""

RELATION_IDS_SQL = """
CREATE OR REPLACE TEMP TABLE _sdc_relation_ids AS
SELECT part, whole, kind, dense_rank() OVER (PARTITION BY part ORDER BY whole, kind) - 1
       AS relation
FROM (SELECT DISTINCT part, whole, kind FROM _sdc_relations)
"""

INCIDENCE_SQL = """
SELECT part, relation, whole AS cell, 1.0 AS coefficient FROM _sdc_relation_ids
UNION ALL
SELECT r.part, r.relation, s.piece, -1.0
FROM _sdc_relations s JOIN _sdc_relation_ids r USING (part, whole, kind)
ORDER BY part, relation, cell
"""

TILED_SQL = """
WITH members AS (SELECT part, whole, piece FROM _sdc_relations WHERE kind = 'members'),
wholes AS (
    SELECT m.part, m.whole, any_value(l.ordinal) AS level_ordinal,
           bool_or(c.withheld) AS withheld, count(*) AS pieces
    FROM members m JOIN _sdc_cells c ON c.part = m.part AND c.cell = m.whole
    JOIN territory_levels l ON l.level = c.territory_level
    GROUP BY m.part, m.whole),
shared AS (
    SELECT a.part, a.whole, b.whole AS tile, count(*) AS shared
    FROM members a JOIN members b ON b.part = a.part AND b.piece = a.piece
         AND b.whole <> a.whole
    GROUP BY a.part, a.whole, b.whole),
tiles AS (
    SELECT s.part, s.whole, s.tile, t.level_ordinal AS tile_level, t.pieces
    FROM shared s JOIN wholes w ON w.part = s.part AND w.whole = s.whole
    JOIN wholes t ON t.part = s.part AND t.whole = s.tile
    WHERE s.shared = t.pieces AND t.level_ordinal < w.level_ordinal
      AND NOT w.withheld AND NOT t.withheld),
covers AS (
    SELECT part, whole, tile_level, sum(pieces) AS pieces, list(tile ORDER BY tile) AS tiles
    FROM tiles GROUP BY part, whole, tile_level)
SELECT r.part, r.relation, c.whole, c.tiles
FROM covers c JOIN wholes w USING (part, whole)
JOIN _sdc_relation_ids r ON r.part = c.part AND r.whole = c.whole AND r.kind = 'members'
WHERE c.pieces = w.pieces
QUALIFY row_number() OVER (PARTITION BY c.part, c.whole ORDER BY c.tile_level) = 1
ORDER BY r.part, r.relation
"""
"""Aggregate relations that published aggregates of a lower level tile exactly (a région
by its départements, a département by its EPCIs): restricted to the withheld cells, such a
row is the sum of its tiles' rows, so it tells the attacker nothing more while the aggregate
and its tiles stay published. Dropping it keeps the components to the size of the lowest
level; a tile chosen as a complement brings it back. Levels come in order, so no two
relations can each stand for the other."""


@dataclass(frozen=True)
class _Part:
    """One indicator × year: its cells' n, which are withheld and which may be withheld
    instead of published, and the relations (rows) over its cells (columns)."""

    n: np.ndarray
    withheld: np.ndarray
    publishable: np.ndarray
    """True for a published cell with a value, False for one without (``missing``), taken
    only when no other is left; an empty cell (n = 0) is never taken: n tells it is zero."""
    can_withhold: np.ndarray
    by_row: sparse.csr_matrix
    by_column: sparse.csc_matrix
    tiled: dict[int, frozenset[int]]
    """Relations standing for the sum of others while these cells (the aggregate and its
    tiles) are published."""


def complementary_suppression(con: duckdb.DuckDBPyConnection) -> int:
    """Withhold, in ``indicator_values``, the cells that would let the published ones
    recalculate a suppressed cell; return how many."""
    if not con.execute("SELECT count(*) FROM indicator_values WHERE status = 'suppressed'"
                       ).fetchall()[0][0]:
        return 0
    con.execute(CELLS_SQL)
    con.execute(BREAKDOWN_RELATIONS_SQL)
    if con.execute("SELECT count(*) FROM _sdc_cells WHERE NOT base").fetchall()[0][0]:
        con.execute(HIERARCHY_RELATIONS_SQL)  # a warehouse of communes alone has no members
    cells = con.execute("SELECT part, cell, n_unweighted, withheld, publishable FROM _sdc_cells "
                        "ORDER BY part, cell").fetchnumpy()
    con.execute(RELATION_IDS_SQL)
    incidence = con.execute(INCIDENCE_SQL).fetchnumpy()
    tiled = con.execute(TILED_SQL).fetchall() if (
        con.execute("SELECT count(*) FROM _sdc_relations WHERE kind = 'members'"
                    ).fetchall()[0][0]) else []
    chosen: list[tuple[int, int, int]] = []  # (part, complementary cell, protected cell)
    cell_parts, relation_parts = cells["part"], incidence["part"]
    for part in np.unique(cell_parts).tolist():
        in_part = cell_parts == part
        rows = relation_parts == part
        size = int(in_part.sum())
        n_rows = int(incidence["relation"][rows].max()) + 1 if rows.any() else 0
        matrix = sparse.coo_matrix(
            (incidence["coefficient"][rows], (incidence["relation"][rows],
                                              incidence["cell"][rows])),
            shape=(n_rows, size))
        found = _Part(n=cells["n_unweighted"][in_part].astype(np.int64),
                      withheld=np.asarray(cells["withheld"][in_part], dtype=bool),
                      publishable=np.ma.filled(np.ma.asarray(cells["publishable"][in_part],
                                                             dtype=bool), False),
                      can_withhold=~np.ma.getmaskarray(cells["publishable"][in_part]),
                      by_row=matrix.tocsr(), by_column=matrix.tocsc(),
                      tiled={relation: frozenset([whole, *tiles])
                             for p, relation, whole, tiles in tiled if p == part})
        chosen += [(part, cell, protected) for cell, protected in _protect(found)]
    con.execute("DROP TABLE _sdc_relations")
    con.execute("DROP TABLE _sdc_relation_ids")
    _withhold(con, chosen)
    return len(chosen)


def _protect(part: _Part) -> list[tuple[int, int]]:
    """The complementary cells of one part, each with the withheld cell it protects."""
    unknown = set(np.flatnonzero(part.withheld).tolist())
    components: dict[int, frozenset[int]] = {}
    disclosed: set[int] = set()
    for cell in sorted(unknown):
        if cell not in components:
            members = _component(part, unknown, cell)
            disclosed |= _determined(part, unknown, members)
            components.update(dict.fromkeys(members, members))
    chosen: list[tuple[int, int]] = []
    while True:
        if not disclosed:
            return chosen
        target = min(disclosed)
        added, members, determined = _complement(part, unknown, target, frozenset(disclosed))
        unknown.update(added)
        chosen += [(cell, target) for cell in added]
        components.update(dict.fromkeys(members, members))
        disclosed = (disclosed - members) | determined


Trial = tuple[list[int], frozenset[int], frozenset[int]]
"""Cells withheld, and the component they join with its determined cells."""


def _try(part: _Part, unknown: set[int], added: list[int], disclosed: frozenset[int]) -> Trial:
    """Withholding more cells never determines a cell that was not: only the disclosed cells
    and the added ones are tested."""
    trial = unknown | set(added)
    members = _component(part, trial, added[0])
    return added, members, _determined(part, trial, members, (disclosed & members) | set(added))


def _complement(part: _Part, unknown: set[int], target: int,
                disclosed: frozenset[int]) -> Trial:
    """The published cells to withhold for ``target``, among those of its relations: the one
    of smallest n (then first by code) whose withholding leaves ``target`` and itself
    undetermined; failing that, the first such pair, the second cell taken from the first's
    relations (a cell whose own relations would give it back needs a partner, as the corners
    of tau-Argus's hypercubes); failing that, the cheapest cell, and the loop goes on."""
    candidates = (_candidates(part, unknown, [target])
                  or _candidates(part, unknown, _component(part, unknown, target)))
    if not candidates:
        raise RuntimeError(f"no published cell is left to protect cell {target}")
    for cell in candidates[:CANDIDATES_TRIED]:
        trial = _try(part, unknown, [cell], disclosed)
        if not trial[2] & {target, cell}:
            return trial
    for cell in candidates[:PAIRS_TRIED]:
        for partner in _candidates(part, unknown | {cell}, [cell])[:PAIRS_TRIED]:
            trial = _try(part, unknown, [cell, partner], disclosed)
            if not trial[2] & {target, cell, partner}:
                return trial
    return _try(part, unknown, candidates[:1], disclosed)


def _candidates(part: _Part, unknown: set[int], cells: Iterable[int]) -> list[int]:
    """The published cells sharing a relation with ``cells``: those with a value first, then
    the smallest n, then the first by code."""
    found = {int(c) for r in _rows(part, unknown, cells)
             for c in part.by_row.indices[part.by_row.indptr[r]:part.by_row.indptr[r + 1]]}
    return sorted((c for c in found if c not in unknown and part.can_withhold[c]),
                  key=lambda c: (not part.publishable[c], int(part.n[c]), c))


def _component(part: _Part, unknown: set[int], start: int) -> frozenset[int]:
    """The withheld cells linked to ``start`` by relations holding withheld cells (SciPy's
    connected components of the graph of cells and relations)."""
    cells = np.fromiter(sorted(unknown), dtype=np.int64, count=len(unknown))
    held = part.by_column[:, cells].tocsr()
    inactive = [r for r, guards in part.tiled.items() if not guards & unknown]
    if inactive:  # the rows a tiling stands for link nothing
        keep = np.ones(held.shape[0])
        keep[inactive] = 0.0
        held = sparse.diags(keep) @ held
        held.eliminate_zeros()
    n_rows = held.shape[0]
    graph = sparse.bmat([[None, held], [held.T, None]], format="csr")
    _, labels = csgraph.connected_components(graph, directed=False)
    start_label = labels[n_rows + int(np.searchsorted(cells, start))]
    return frozenset(cells[labels[n_rows:] == start_label].tolist())


def _rows(part: _Part, unknown: set[int], cells: Iterable[int]) -> list[int]:
    """The relations holding ``cells``, but those a tiling stands for."""
    rows: set[int] = set()
    for cell in cells:
        rows.update(part.by_column.indices[part.by_column.indptr[cell]:
                                           part.by_column.indptr[cell + 1]].tolist())
    return sorted(r for r in rows if r not in part.tiled or part.tiled[r] & unknown)


def _determined(part: _Part, unknown: set[int], members: frozenset[int],
                suspects: Iterable[int] | None = None) -> frozenset[int]:
    """The cells of one component (of ``suspects`` only, if given) that the relations and
    the published cells determine.

    The published cells fix the right-hand side; the withheld ones are free up to the null
    space of the relations restricted to them: a cell is determined when every null vector is
    zero on it (SciPy's SVD). In a component larger than ``EXACT_SIZE``, the suspects are
    tested one by one, a cell being determined when it is a combination of the relations
    (SciPy's sparse least squares, LSQR, whose dense SVD would take minutes); a test LSQR
    leaves without a verdict counts the cell as determined, so that it is protected."""
    columns = sorted(members)
    rows = _rows(part, unknown, columns)
    if not rows:
        return frozenset()
    block = part.by_row[rows][:, columns]
    if len(columns) <= EXACT_SIZE:
        null = linalg.null_space(block.toarray())
        free = (np.abs(null).max(axis=1) > NULL_TOLERANCE if null.size
                else np.zeros(len(columns), dtype=bool))
        found = {c for c, f in zip(columns, free.tolist(), strict=True) if not f}
        return frozenset(found if suspects is None else found & set(suspects))
    position = {c: i for i, c in enumerate(columns)}
    transposed = block.T.tocsr()
    found = set()
    for cell in columns if suspects is None else suspects:
        unit = np.zeros(len(columns))
        unit[position[cell]] = 1.0
        stop, residual = lsqr(transposed, unit, atol=1e-14, btol=1e-14,
                              iter_lim=20 * len(columns))[1:4:2]
        if not (residual > RESIDUAL_TOLERANCE and stop in LEAST_SQUARES):
            found.add(cell)  # an exact combination, or no verdict: taken as determined
    return frozenset(found)


def _withhold(con: duckdb.DuckDBPyConnection, chosen: list[tuple[int, int, int]]) -> None:
    """Withhold the complementary cells (numbered as in ``_sdc_cells``) in
    ``indicator_values``, in place: the table keeps its order."""
    if not chosen:
        con.execute("DROP TABLE _sdc_cells")
        return
    frame = pa.table({"part": [p for p, _, _ in chosen], "cell": [c for _, c, _ in chosen],
                      "protects": [t for _, _, t in chosen]})
    con.register("_sdc_chosen", frame)
    try:
        con.execute("""
CREATE OR REPLACE TEMP TABLE _sdc_withheld AS
SELECT c.indicator_id, c.territory_code, c.territory_level, c.year, c.breakdown,
       format($reason, p.territory_level, p.territory_code, p.breakdown) AS reason
FROM _sdc_chosen x JOIN _sdc_cells c ON c.part = x.part AND c.cell = x.cell
JOIN _sdc_cells p ON p.part = x.part AND p.cell = x.protects""",
                    {"reason": REASON})
        con.execute("""
UPDATE indicator_values v SET status = 'suppressed', status_reason = w.reason, value = NULL,
    numerator = NULL, denominator = NULL, se = NULL, ci_low = NULL, ci_high = NULL
FROM _sdc_withheld w
WHERE v.indicator_id = w.indicator_id AND v.territory_code = w.territory_code
  AND v.territory_level = w.territory_level AND v.year = w.year AND v.breakdown = w.breakdown""")
    finally:
        con.unregister("_sdc_chosen")
        con.execute("DROP TABLE IF EXISTS _sdc_cells")
        con.execute("DROP TABLE IF EXISTS _sdc_withheld")
