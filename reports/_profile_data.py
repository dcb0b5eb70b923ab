"""What the territory profiles of one batch need, read from the warehouse in a few queries.

However many territories a batch holds, it costs the same handful of queries: the territories
named, their reference territories, every published row they and their references have, their
ranks among their peers and the gaps to their references (``indicators.compute.gaps``), and
their place in the learning-city index. Only the batch's rows leave DuckDB.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import duckdb

from indicators import Catalogue
from indicators.compute.gaps import Gap, peer_ranks, reference_gaps
from indicators.territories import GROUP_LEVEL, in_sentence, level_labels, split_reference
from reports._composite import has_learning_city_index
from reports._i18n import Lang, format_number
from reports._tables import PUBLISHED_STATUSES

SEX_BREAKDOWNS: tuple[str, ...] = ("sex=F", "sex=M")
NEAR_MATCHES = 5
UNKNOWN_SHOWN = 10
"""Unknown codes an error names (with their near matches); the others are counted."""


class ProfileError(ValueError):
    """A territory or reference a profile cannot be written for; the message in English,
    ``french`` in French."""

    def __init__(self, message: str, french: str) -> None:
        super().__init__(message)
        self.french = french

    def message(self, lang: str) -> str:
        return self.french if lang == "fr" else str(self)


@dataclass(frozen=True)
class Place:
    """A territory: its level and code, its name in the profile's language, its level's
    heading; ``shared`` when another level has a territory of the same code."""

    level: str
    code: str
    name: str
    level_label: str
    shared: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.level, self.code


@dataclass(frozen=True)
class Cell:
    """One row of ``indicator_values`` as published (a suppressed row has no value)."""

    value: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    status: str

    @property
    def published(self) -> bool:
        return self.value is not None and self.status in PUBLISHED_STATUSES


@dataclass(frozen=True)
class Change:
    change: float | None
    significant: bool | None
    previous_year: int | None


@dataclass(frozen=True)
class IndexPlace:
    """A territory's place in the learning-city index of the year."""

    rank: int | None
    rank_p05: float | None
    rank_p95: float | None
    units: int
    units_label: str


@dataclass
class Batch:
    """Everything the profiles of a batch show, keyed by territory (level, code)."""

    year: int
    years: tuple[int, ...]
    places: list[Place]
    references: dict[tuple[str, str], list[Place]]
    cells: dict[tuple[str, str, str, int, str], Cell]  # indicator, level, code, year, breakdown
    changes: dict[tuple[str, str, str], Change]  # indicator, level, code
    ranks: dict[tuple[str, str, str], tuple[int, int]]
    gaps: dict[tuple[str, str, str, str, str], Gap]
    base: str | None = None  # the base level, the only one the index ranks
    index: dict[str, IndexPlace] = field(default_factory=dict)  # base-level code

    def index_place(self, place: Place) -> IndexPlace | None:
        return self.index.get(place.code) if place.level == self.base else None

    def cell(self, indicator: str, place: Place, year: int | None = None,
             breakdown: str = "total") -> Cell | None:
        return self.cells.get((indicator, place.level, place.code, year or self.year,
                               breakdown))


def read_batch(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, places: Sequence[Place],
               year: int, lang: Lang, references: Sequence[str] | None = None) -> Batch:
    """The data of the profiles of ``places`` (from :func:`resolve_places`) for ``year``."""
    labels = {level: (en, fr) for level, en, fr in level_labels(con)}
    heading = {level: pair[lang == "fr"] for level, pair in labels.items()}
    places = list(places)
    wanted_levels, wanted_groups = _reference_choice(con, references, list(labels))
    refs = _references(con, places, year, lang, heading, wanted_levels, wanted_groups,
                       references is None)
    everyone = {p.key: p for p in places}
    everyone.update({r.key: r for rs in refs.values() for r in rs})
    cells, changes = _cells(con, list(everyone), [p.key for p in places], year)
    indicators = {i.id: (i.direction, i.decimals) for i in catalogue}
    ranks = peer_ranks(con, year, [p.key for p in places], indicators)
    pairs = [(*p.key, *r.key) for p in places for r in refs.get(p.key, ())]
    years = tuple(int(y) for (y,) in con.execute(
        "SELECT DISTINCT year FROM indicator_values ORDER BY year").fetchall())
    base = next(iter(labels), None)
    batch = Batch(year, years, places, refs, cells, changes, ranks,
                  reference_gaps(con, year, pairs), base=base)
    if base is not None and any(p.level == base for p in places) \
            and has_learning_city_index(con, year):
        batch.index = _index_places(con, year, [p.code for p in places if p.level == base],
                                    in_sentence(heading[base]))
    return batch


def resolve_places(con: duckdb.DuckDBPyConnection, codes: Sequence[str], lang: Lang,
                   heading: dict[str, str]) -> list[Place]:
    """Each reference (``CODE`` or ``LEVEL:CODE``) as the one territory it names, in order;
    an unknown code is an error naming the nearest codes and names, a code two levels share
    must name its level."""
    split = [split_reference(str(c)) for c in codes]
    found: dict[str, list[Place]] = {}
    for level, code, name in con.execute(
            f"""
            WITH wanted AS (SELECT DISTINCT unnest($codes::VARCHAR[]) AS territory_code)
            {_NAMED}
            SELECT level, code, name FROM named ORDER BY ordinal, code
            """, {"codes": [code for _, code in split], "lang": lang}).fetchall():
        found.setdefault(code, []).append(Place(level, code, name, heading.get(level, level)))
    for code, same in found.items():
        if len(same) > 1:
            found[code] = [replace(p, shared=True) for p in same]
    places, unknown, ambiguous = [], [], []
    for reference, (level, code) in zip(codes, split, strict=True):
        matches = [p for p in found.get(code, ()) if level is None or p.level == level]
        if not matches:
            unknown.append(str(reference))
        elif len(matches) > 1:
            ambiguous.append((str(reference), [f"{p.level}:{p.code}" for p in matches]))
        else:
            places.append(matches[0])
    if unknown:
        raise _unknown(con, unknown, lang)
    if ambiguous:
        en = "; ".join(f"{r}: several levels have this code, write {' or '.join(o)}"
                       for r, o in ambiguous)
        fr = "; ".join(f"{r} : plusieurs niveaux ont ce code, écrivez {' ou '.join(o)}"
                       for r, o in ambiguous)
        raise ProfileError(en, fr)
    return places


# Territories of ``wanted`` with their level's order and their name in ``$lang`` (a group's
# from territory_groups); the caller defines ``wanted``.
_NAMED = """,
known AS (
  SELECT m.territory_level AS level, m.territory_code AS code, min(m.territory_name) AS name
  FROM territory_members m JOIN wanted w ON w.territory_code = m.territory_code
  GROUP BY ALL),
groups AS (
  SELECT group_code, min(group_name_en) AS name_en, min(group_name_fr) AS name_fr
  FROM territory_groups GROUP BY group_code),
named AS (
  SELECT k.level, k.code, l.ordinal,
         CASE WHEN k.level = 'GROUP'
              THEN coalesce(CASE WHEN $lang = 'fr' THEN g.name_fr ELSE g.name_en END, k.name)
              ELSE k.name END AS name
  FROM known k JOIN territory_levels l ON l.level = k.level
  LEFT JOIN groups g ON k.level = 'GROUP' AND g.group_code = k.code)
"""


def _unknown(con: duckdb.DuckDBPyConnection, unknown: list[str], lang: Lang) -> ProfileError:
    """The error for codes no territory has, with the nearest codes and names of each."""
    known = con.execute(
        "SELECT territory_level, territory_code, min(territory_name) FROM territory_members "
        "GROUP BY ALL ORDER BY ALL").fetchall()
    by_text: dict[str, str] = {}
    for level, code, name in known:
        shown = f"{code} ({name})" if name else code
        by_text.setdefault(code, shown)
        by_text.setdefault(f"{level}:{code}", shown)
        if name:
            by_text.setdefault(name.casefold(), shown)
    parts_en, parts_fr = [], []
    candidates = list(by_text)
    for reference in unknown[:UNKNOWN_SHOWN]:
        asked = reference if reference.isdigit() else reference.casefold()
        texts = difflib.get_close_matches(asked, candidates, n=NEAR_MATCHES * 2, cutoff=0.6)
        near = ", ".join(list(dict.fromkeys(by_text[t] for t in texts))[:NEAR_MATCHES])
        parts_en.append(f"{reference!r}: no territory or group has this code in the warehouse"
                        + (f"; did you mean {near}?" if near else ""))
        parts_fr.append(f"« {reference} » : aucun territoire ni groupe n'a ce code dans "
                        f"l'entrepôt" + (f" ; vouliez-vous dire {near} ?" if near else ""))
    if len(unknown) > UNKNOWN_SHOWN:
        more = len(unknown) - UNKNOWN_SHOWN
        parts_en.append(f"and {format_number(more, 0, 'en')} more unknown code(s)")
        parts_fr.append(f"et {format_number(more, 0, 'fr')} autre(s) code(s) inconnu(s)")
    return ProfileError("\n".join(parts_en), "\n".join(parts_fr))


def _reference_choice(con: duckdb.DuckDBPyConnection, references: Sequence[str] | None,
                      levels: list[str]) -> tuple[list[str], list[str]]:
    """``report.references`` as level codes and group codes; an unknown one is an error."""
    if references is None:
        return [], []
    groups = {code for (code,) in con.execute(
        "SELECT DISTINCT group_code FROM territory_groups").fetchall()}
    chosen_levels, chosen_groups, unknown = [], [], []
    for reference in references:
        if reference in levels:
            chosen_levels.append(reference)
        elif reference in groups:
            chosen_groups.append(reference)
        else:
            unknown.append(reference)
    if unknown:
        valid = ", ".join([*levels, *sorted(groups)])
        raise ProfileError(
            f"report.references: {unknown} is neither a territory level nor a group code; "
            f"valid: {valid}",
            f"report.references : {unknown} n'est ni un niveau de territoire ni un code de "
            f"groupe ; valeurs possibles : {valid}")
    return chosen_levels, chosen_groups


def _references(con: duckdb.DuckDBPyConnection, places: list[Place], year: int, lang: Lang,
                heading: dict[str, str], levels: list[str], groups: list[str],
                default: bool) -> dict[tuple[str, str], list[Place]]:
    """Each territory's reference territories, in level order, in one query.

    A territory *holds* another when every member (base unit valid in ``year``) of the other
    is one of its own. By default: every territory of a level above holding it and every
    group holding it. Otherwise: the territory of each chosen level holding it (``GROUP``:
    every group holding it), and each chosen group, holding it or not."""
    if not places:
        return {}
    rows = con.execute(
        f"""
        WITH mine AS (
          SELECT unnest($levels::VARCHAR[]) AS territory_level,
                 unnest($codes::VARCHAR[]) AS territory_code),
        members AS (
          SELECT m.territory_level, m.territory_code, m.commune_code FROM territory_members m
          WHERE (m.valid_from IS NULL OR m.valid_from <= $year)
            AND (m.valid_to IS NULL OR m.valid_to >= $year)),
        sizes AS (
          SELECT territory_level, territory_code, count(DISTINCT commune_code) AS n
          FROM members JOIN mine USING (territory_level, territory_code) GROUP BY ALL),
        held AS (
          SELECT t.territory_level, t.territory_code, r.territory_level AS reference_level,
                 r.territory_code AS reference_code, count(DISTINCT t.commune_code) AS n
          FROM members t JOIN mine USING (territory_level, territory_code)
          JOIN members r ON r.commune_code = t.commune_code
          WHERE NOT (r.territory_level = t.territory_level
                     AND r.territory_code = t.territory_code)
          GROUP BY ALL),
        chosen AS (
          SELECT h.territory_level, h.territory_code, h.reference_level, h.reference_code
          FROM held h JOIN sizes s USING (territory_level, territory_code)
          JOIN territory_levels own ON own.level = h.territory_level
          JOIN territory_levels ref ON ref.level = h.reference_level
          WHERE h.n = s.n AND (ref.ordinal > own.ordinal OR ref.level = $group
                               OR (own.level = $group AND NOT ref.base))
            AND ($default OR list_contains($chosen_levels::VARCHAR[], ref.level))
          UNION
          SELECT m.territory_level, m.territory_code, $group, g.code
          FROM mine m CROSS JOIN (SELECT unnest($chosen_groups::VARCHAR[]) AS code) g
          WHERE NOT (m.territory_level = $group AND m.territory_code = g.code)),
        wanted AS (SELECT DISTINCT reference_code AS territory_code FROM chosen)
        {_NAMED}
        SELECT c.territory_level, c.territory_code, n.level, n.code, n.name
        FROM chosen c JOIN named n ON n.level = c.reference_level
                                 AND n.code = c.reference_code
        ORDER BY c.territory_level, c.territory_code, n.ordinal, n.code
        """,
        {"levels": [p.level for p in places], "codes": [p.code for p in places],
         "year": year, "group": GROUP_LEVEL, "default": default, "chosen_levels": levels,
         "chosen_groups": groups, "lang": lang}).fetchall()
    found: dict[tuple[str, str], list[Place]] = {}
    for level, code, ref_level, ref_code, name in rows:
        found.setdefault((level, code), []).append(
            Place(ref_level, ref_code, name, heading.get(ref_level, ref_level)))
    return found


def _cells(con: duckdb.DuckDBPyConnection, everyone: list[tuple[str, str]],
           batch: list[tuple[str, str]], year: int
           ) -> tuple[dict[tuple[str, str, str, int, str], Cell],
                      dict[tuple[str, str, str], Change]]:
    """Every year's total of the batch and its references, the year's sex breakdowns of the
    batch, and the changes of the year's totals, in one query."""
    mine = set(batch)
    rows = con.execute(
        """
        WITH everyone AS (
          SELECT unnest($levels::VARCHAR[]) AS territory_level,
                 unnest($codes::VARCHAR[]) AS territory_code,
                 unnest($in_batch::BOOLEAN[]) AS in_batch)
        SELECT v.indicator_id, v.territory_level, v.territory_code, v.year, v.breakdown,
               v.value, v.se, v.ci_low, v.ci_high, v.status,
               c.change, c.significant, c.previous_year
        FROM indicator_values v JOIN everyone e USING (territory_level, territory_code)
        LEFT JOIN indicator_changes c
          ON c.indicator_id = v.indicator_id AND c.territory_level = v.territory_level
         AND c.territory_code = v.territory_code AND c.breakdown = v.breakdown
         AND c.year = v.year
        WHERE v.breakdown = 'total'
           OR (e.in_batch AND v.year = $year AND list_contains($sexes, v.breakdown))
        """,
        {"levels": [k[0] for k in everyone], "codes": [k[1] for k in everyone],
         "in_batch": [k in mine for k in everyone], "year": year,
         "sexes": list(SEX_BREAKDOWNS)}).fetchall()
    cells: dict[tuple[str, str, str, int, str], Cell] = {}
    changes: dict[tuple[str, str, str], Change] = {}
    for (indicator, level, code, row_year, breakdown, value, se, low, high, status,
         change, significant, previous) in rows:
        cells[(indicator, level, code, int(row_year), breakdown)] = Cell(value, se, low, high,
                                                                         status)
        if row_year == year and breakdown == "total":
            changes[(indicator, level, code)] = Change(change, significant, previous)
    return cells, changes


def _index_places(con: duckdb.DuckDBPyConnection, year: int, codes: list[str],
                  units_label: str) -> dict[str, IndexPlace]:
    rows = con.execute(
        """
        WITH ranked AS (
          SELECT territory_code, rank, rank_p05, rank_p95, count(*) OVER () AS units
          FROM composite_ranks WHERE year = $year)
        SELECT r.* FROM ranked r
        JOIN (SELECT unnest($codes::VARCHAR[]) AS territory_code) USING (territory_code)
        """, {"year": year, "codes": codes}).fetchall()
    return {code: IndexPlace(None if rank is None else int(rank), p05, p95, int(units),
                             units_label)
            for code, rank, p05, p95, units in rows}
