"""Comparison tables: one great-tables table per action domain, territories in rows.

The table reads ``indicator_values`` and ``indicator_changes`` as they are; every mark a reader
sees (suppression, low reliability, significance) comes from the ``status`` and ``significant``
columns written upstream, never from a test recomputed here.

One set of marks (:data:`MARKS`) means the same in every table, the territory profiles and the
spreadsheet, and :func:`legend_text` explains them in the same words under every table. Shading
puts each column's reliable published values in classes of their percentile rank (computed in
DuckDB), so one extreme value cannot wash out the others, and a flagged cell is never shaded;
each shaded cell's text colour is the one of highest contrast with its fill.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from types import MappingProxyType

import duckdb
import pandas as pd
from great_tables import GT, html, loc, stub, style

from indicators import Catalogue, Indicator
from indicators.territories import (
    FRENCH_LEVELS,
    GROUP_LEVEL,
    RESERVED_COLUMNS,
    Level,
    LevelLabel,
    TerritoryModel,
    in_sentence,
    level_labels,
    membership_sql,
    split_reference,
)
from reports._i18n import (
    NARROW_NBSP,
    Lang,
    change_period,
    check_lang,
    format_number,
    text,
)

MARKS: Mapping[str, str] = MappingProxyType({
    "suppressed": "×",
    "missing": "—",
    "low_reliability": "◊",
    "significant_up": "▲",
    "significant_down": "▼",
})
"""Every mark a reader sees in a cell, by meaning: one symbol, one meaning, in every table,
profile and spreadsheet (:func:`mark_meaning` and :func:`legend_text` say it in words)."""
SUPPRESSED_MARK = MARKS["suppressed"]
MISSING_MARK = MARKS["missing"]
LOW_RELIABILITY_MARK = MARKS["low_reliability"]
SIGNIFICANT_UP_MARK = MARKS["significant_up"]
SIGNIFICANT_DOWN_MARK = MARKS["significant_down"]

# Sequential greens (ColorBrewer "Greens"), one per class, lowest to best: darker is better.
PALETTE: tuple[str, ...] = ("#e5f5e0", "#a1d99b", "#41ab5d", "#006d2c")
INK, PAPER = "#222222", "#ffffff"
"""The two text colours a cell may take: the one of higher contrast with its fill."""
FLAGGED_FILL, FLAGGED_HATCH = "#f2f2f2", "#d9d9d9"
"""A low-reliability cell: a neutral hatched fill, never a class colour."""
HIGHLIGHT_RULE = "#1b6e3a"
"""The rule beside the name of a territory the report is about (the report's accent)."""
MIN_CONTRAST = 4.5
"""WCAG 2 AA contrast for normal text, which every coloured cell meets."""
# Fixed widths let long indicator labels wrap inside their spanner instead of widening it.
STUB_WIDTH, VALUE_WIDTH, CI_WIDTH, CHANGE_WIDTH = "200px", "88px", "92px", "80px"
ROWS_PER_LEVEL = 100
"""Most territories of one level a table lists; a level with more shows its distribution."""
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90))
"""The distribution rows of a level too large to list: percentiles of its published values."""
PUBLISHED_STATUSES: tuple[str, ...] = ("ok", "low_reliability")
"""Statuses whose value is published (a suppressed or missing cell has none to count)."""
SHADED_STATUS = "ok"
"""The only status whose value is shaded: a flagged value is shown, not ranked."""
DISTRIBUTION_FILL = "#fafafa"

_STRINGS: dict[str, tuple[str, str]] = {
    "mark.suppressed": (
        "not published: too few respondents or units to be reliable or confidential",
        "non publié\u00a0: trop peu de répondants ou d'unités pour être fiable ou "
        "confidentiel"),
    "mark.missing": (
        "no value: no data, or no publishable value in one of the two years compared",
        "pas de valeur\u00a0: pas de donnée, ou pas de valeur publiable l'une des deux années "
        "comparées"),
    "mark.low_reliability": (
        "low reliability (a rule of the methods' reliability section): interpret with caution",
        "fiabilité limitée (règles de fiabilité des méthodes)\u00a0: à interpréter avec "
        "prudence"),
    "mark.significant_up": (
        "statistically significant increase (survey indicators, 5{nbsp}% level)",
        "hausse statistiquement significative (indicateurs d'enquête, seuil de 5{nbsp}%)"),
    "mark.significant_down": (
        "statistically significant decrease (survey indicators, 5{nbsp}% level)",
        "baisse statistiquement significative (indicateurs d'enquête, seuil de 5{nbsp}%)"),
    "legend.marks": ("Marks: {items}.", "Signes\u00a0: {items}."),
    "legend.item": ("{mark} {meaning}", "{mark} {meaning}"),
    "legend.separator": ("; ", "\u00a0; "),
    "legend.shading": (
        "Shading: within each column, the territories shown with a reliable published value "
        "are ranked and put in four classes of equal size by percentile rank, so that one "
        "extreme value cannot wash out the others; the darker the green, the better (for "
        "indicators where lower is better, the lowest values are darkest). A value of low "
        "reliability is shown on a hatched grey fill instead, unranked; context indicators, "
        "suppressed and missing cells are not shaded.",
        "Couleurs\u00a0: dans chaque colonne, les territoires affichés ayant une valeur "
        "publiée fiable sont classés puis répartis en quatre classes d'effectif égal selon "
        "leur rang centile, si bien qu'une valeur extrême ne peut pas écraser les autres\u00a0; "
        "plus le vert est foncé, meilleure est la position (pour les indicateurs où plus bas = "
        "mieux, les valeurs les plus basses sont les plus foncées). Une valeur de fiabilité "
        "limitée figure à la place sur un fond gris hachuré, sans classement\u00a0; les "
        "indicateurs de contexte et les cellules non publiées ou manquantes ne sont pas "
        "colorés."),
    "legend.classes": ("Classes, lowest to best:",
                       "Classes, de la plus faible à la meilleure\u00a0:"),
    "legend.class": ("{n}/4", "{n}/4"),
    "legend.coverage": (
        "Under the name of an EPCI, a département, a région or a group: how many of its "
        "{units} have data for {year}; its values are computed from those {units} only.",
        "Sous le nom d'un EPCI, d'un département, d'une région ou d'un groupe\u00a0: nombre de "
        "ses {units} ayant des données pour {year}\u00a0; ses valeurs sont calculées sur ces "
        "seules {units}."),
    "legend.highlight": (
        "Names in bold with a green rule: the territories this report is about, first in "
        "their level; the others follow in alphabetical order.",
        "Noms en gras avec un filet vert\u00a0: les territoires sur lesquels porte ce "
        "rapport, en tête de leur niveau\u00a0; les autres suivent par ordre alphabétique."),
    "cover.all": ("{n} {units}", "{n} {units}"),
    "cover.some": ("{n} of {total} {units}", "{n} sur {total} {units}"),
    "cover.one": ("{units}: 1", "{units}\u00a0: 1"),
    "table.estimate": ("Estimate", "Estimation"),
    "table.ci": ("95{nbsp}% CI", "IC à 95{nbsp}%"),
}


def _t(key: str, lang: Lang, **values: object) -> str:
    pair = _STRINGS[key]
    return pair[0 if lang == "en" else 1].format(nbsp=NARROW_NBSP if lang == "fr" else "",
                                                 **values)


def mark_meaning(meaning: str, lang: str) -> str:
    """What the mark of ``meaning`` (a key of :data:`MARKS`) says, in ``lang``."""
    if meaning not in MARKS:
        raise KeyError(f"no mark {meaning!r}; marks: {list(MARKS)}")
    return _t(f"mark.{meaning}", check_lang(lang))


def legend_items(lang: str) -> tuple[tuple[str, str], ...]:
    """(symbol, meaning) of every mark, in :data:`MARKS` order: a list to lay out."""
    return tuple((symbol, mark_meaning(meaning, lang)) for meaning, symbol in MARKS.items())


def legend_text(lang: str) -> str:
    """The one sentence explaining every mark, the same under every table and profile."""
    lang_ = check_lang(lang)
    items = [_t("legend.item", lang_, mark=symbol, meaning=meaning)
             for symbol, meaning in legend_items(lang_)]
    return _t("legend.marks", lang_, items=_t("legend.separator", lang_).join(items))


def shading_text(lang: str) -> str:
    """How the cells are shaded, the same under every table."""
    return _t("legend.shading", check_lang(lang))


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(fill: str) -> str:
    """:data:`INK` or :data:`PAPER`, whichever reads better on ``fill``."""
    return max((INK, PAPER), key=lambda colour: contrast_ratio(colour, fill))


def shade_styles(shade: int) -> list:
    """The fill of class ``shade`` (0 lowest .. 3 best) and the text colour read on it."""
    fill = PALETTE[shade]
    return [style.fill(color=fill), style.text(color=text_colour(fill))]


FLAGGED_CSS = (f"background-color: {FLAGGED_FILL}; background-image: repeating-linear-gradient("
               f"135deg, {FLAGGED_HATCH} 0 1px, transparent 1px 6px); color: {INK};")
"""The inline style of a low-reliability cell: neutral, hatched, never a class colour."""


def swatches_html(lang: str) -> str:
    """The four classes as labelled swatches, each text in its own contrasting colour."""
    lang_ = check_lang(lang)
    spans = " ".join(
        f'<span class="lci-swatch" style="background-color: {fill}; '
        f'color: {text_colour(fill)};">{escape(_t("legend.class", lang_, n=n))}</span>'
        for n, fill in enumerate(PALETTE, start=1))
    hatched = (f'<span class="lci-swatch" style="{FLAGGED_CSS}">'
               f"{escape(LOW_RELIABILITY_MARK)}</span>")
    return f"{escape(_t('legend.classes', lang_))} {spans} {hatched}"

_EXTRA_CSS = """
#{id} .lci-id {{ font-size: 78%; color: #595959; font-weight: normal; }}
#{id} .lci-unit {{ display: block; font-size: 78%; font-style: italic; color: #595959;
  font-weight: normal; }}
#{id} .lci-cover {{ display: block; font-size: 78%; color: #595959; font-weight: normal; }}
#{id} .lci-sig {{ font-weight: bold; white-space: nowrap; }}
#{id} .lci-mark {{ white-space: nowrap; }}
#{id} .lci-ci {{ font-size: 85%; white-space: nowrap; }}
#{id} .lci-swatch {{ display: inline-block; min-width: 2.2em; padding: 0 0.3em;
  margin-right: 0.2em; text-align: center; border: 1px solid #bdbdbd; }}
#{id} .gt_column_spanner {{ white-space: normal; display: block; width: auto; }}
#{id} .gt_footnote {{ font-size: 85%; }}
#{id} .gt_col_heading, #{id} .gt_column_spanner_outer {{ vertical-align: bottom; }}
"""
"""Styles of the parts great-tables does not style; every text colour has AA contrast."""

def table_id(domain_code: str) -> str:
    """The fixed HTML id of a domain table: great-tables would otherwise draw a random one."""
    return f"lci-{domain_code.lower()}"


@dataclass(frozen=True)
class LevelShown:
    """One territory level of the year: how many of its territories have a value, and whether
    the tables list them (at most the cap) or show their distribution."""

    level: str
    label_en: str
    label_fr: str
    territories: int
    listed: bool

    def label(self, lang: Lang) -> str:
        return self.label_fr if lang == "fr" else self.label_en


def levels_shown(con: duckdb.DuckDBPyConnection, year: int,
                 rows_per_level: int | None = ROWS_PER_LEVEL) -> tuple[LevelShown, ...]:
    """Levels with a value in ``year``, in report order, each listed when it has at most
    ``rows_per_level`` territories (``None``: every level listed). Counted in DuckDB."""
    if rows_per_level is not None and rows_per_level < 1:
        raise ValueError(f"rows_per_level must be at least 1, not {rows_per_level}")
    counts = dict(con.execute(
        "SELECT territory_level, count(DISTINCT territory_code) FROM indicator_values "
        "WHERE year = ? GROUP BY territory_level", [year]).fetchall())
    labels = {level: (en, fr) for level, en, fr in level_labels(con)}
    order = [level for level in labels if level in counts] + sorted(set(counts) - set(labels))
    return tuple(LevelShown(level, *labels.get(level, (level, level)), int(counts[level]),
                            rows_per_level is None or counts[level] <= rows_per_level)
                 for level in order)


def build_domain_table(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    domain_code: str,
    year: int,
    lang: str,
    territories: Sequence[str] | None = None,
    rows_per_level: int = ROWS_PER_LEVEL,
    highlight: Sequence[str] | None = None,
    coverage: Mapping[str, tuple[int, int]] | None = None,
) -> GT:
    """Compare territories on every indicator of one domain: value, 95 % CI and change, each
    in a cell of its own (a table pasted elsewhere keeps them apart).

    Rows are ``territories`` in the given order (default: every territory with a value in
    ``year`` of each level having at most ``rows_per_level`` of them, by level then name),
    grouped by level; an aggregate's row says how many base units it covers. A level with
    more territories than that is not listed: its distribution rows (percentiles of the
    published values, and how many territories have one) stand in its place, or follow the
    chosen ``territories``, so that a table's size is bounded whatever the project's. Shading
    ranks the reliable values of the territories shown, column by column (:func:`shading_text`);
    context indicators, flagged cells and distribution rows stay unshaded. The report's own
    territories (``highlight``, ``CODE`` or ``LEVEL:CODE``) come first in their level, in that
    order, in bold with a rule; the others of the level then follow by name. ``coverage``:
    :func:`aggregate_coverage` of the rows when the caller has it (a report counts once for
    all its tables).
    """
    lang_ = check_lang(lang)
    domain = catalogue.domain(domain_code)
    indicators = catalogue.in_domain(domain_code)
    if not indicators:
        raise ValueError(f"domain {domain_code!r} has no indicators in the catalogue")
    shown = levels_shown(con, year, rows_per_level)
    if not shown:
        raise ValueError(f"no indicator has a value for {year}")
    rows = _territory_rows(con, year, lang_, territories,
                           [s.level for s in shown if s.listed] if territories is None else None)
    rows, own = _highlighted_first(rows, highlight)
    cells = _domain_cells(con, [i.id for i in indicators], year, list(rows["territory_key"]))
    covered = dict(coverage) if coverage is not None else aggregate_coverage(
        con, year, list(rows["territory_key"]))
    covered = {key: covered[key] for key in rows["territory_key"] if key in covered}
    frame = _wide_frame(rows, cells, indicators, lang_, _stub_labels(con, rows, covered, lang_))
    keys: list[str | None] = list(rows["territory_key"])
    distributed = [s for s in shown if not s.listed]
    counted: list[int] = []
    if distributed:
        spread = _distribution(con, [i.id for i in indicators], year,
                               [s.level for s in distributed])
        frame, keys, counted = _with_distribution(frame, keys, list(rows["level"]), shown,
                                                  spread, indicators, lang_,
                                                  listed_first=territories is not None)
    tid = table_id(domain_code)
    gt = GT(frame, rowname_col="territory", groupname_col="level", id=tid, locale=lang_)
    gt = gt.fmt(lambda label: label, columns="territory")  # labels are escaped HTML already
    positions = {key: n for n, key in enumerate(keys) if key is not None}
    for indicator in indicators:
        gt = _add_indicator(gt, cells, positions, indicator, lang_)
    if distributed:
        gt = _style_distribution(gt, frame, indicators, [n for n, key in enumerate(keys)
                                                        if key is None], counted, lang_)
    if mine := [positions[key] for key in own if key in positions]:
        gt = gt.tab_style([style.text(weight="bold"),
                           style.borders(sides="left", color=HIGHLIGHT_RULE, weight="4px")],
                          loc.stub(rows=sorted(mine)))
    compared = {int(y) for y, c in zip(cells["previous_year"], cells["change"], strict=True)
                if pd.notna(y) and pd.notna(c)}  # only years a change shown is measured from
    subtitle = text("table.subtitle", lang_, year=year,
                    period=change_period(year, compared, lang_))
    gt = _layout(gt, indicators, tid, lang_).tab_header(title=domain.label(lang_),
                                                        subtitle=subtitle)
    gt = _add_notes(gt, lang_, covered=_base_units(con, lang_, year) if covered else None,
                    distribution=bool(distributed), highlighted=bool(own))
    return _add_sources(gt, indicators, lang_)


def _add_notes(gt: GT, lang: Lang, covered: str | None, distribution: bool,
               highlighted: bool = False) -> GT:
    """The legend of marks and of shading, the same words under every table; then what only
    some tables need (the report's own territories, aggregate coverage, distribution rows)."""
    gt = gt.tab_footnote(legend_text(lang))
    gt = gt.tab_footnote(html(f"{escape(shading_text(lang))} {swatches_html(lang)}"))
    if highlighted:
        gt = gt.tab_footnote(_t("legend.highlight", lang))
    if covered:
        gt = gt.tab_footnote(covered)
    if distribution:
        gt = gt.tab_footnote(text("note.distribution", lang))
    return gt


def _highlighted_first(rows: pd.DataFrame, highlight: Sequence[str] | None
                       ) -> tuple[pd.DataFrame, list[str]]:
    """``rows`` with the highlighted territories first in each level (as ``highlight`` orders
    them) and the others by name; and the keys of the highlighted rows shown. Without
    ``highlight``, the rows as they were."""
    if not highlight:
        return rows, []
    wanted = [split_reference(str(reference)) for reference in highlight]
    own: list[str] = []
    for level, code in wanted:
        own += [key for key, lv, cd in zip(rows["territory_key"], rows["level"],
                                           rows["territory_code"], strict=True)
                if cd == code and (level is None or lv == level) and key not in own]
    if not own:
        return rows, []
    place = {key: n for n, key in enumerate(own)}
    first_seen = {level: n for n, level in reversed(list(enumerate(rows["level"])))}
    ordered = rows.assign(
        _level=[first_seen[level] for level in rows["level"]],
        _own=[place.get(key, len(place)) for key in rows["territory_key"]],
        _name=[_sort_name(label) if key not in place else "" for key, label in
               zip(rows["territory_key"], rows["label"], strict=True)])
    ordered = ordered.sort_values(["_level", "_own", "_name", "territory_code"], kind="stable")
    return ordered.drop(columns=["_level", "_own", "_name"]).reset_index(drop=True), own


def _sort_name(name: object) -> str:
    """A name as an index orders it: accents and case aside ("Île-de-France" among the I)."""
    decomposed = unicodedata.normalize("NFKD", str(name).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _base_units(con: duckdb.DuckDBPyConnection, lang: Lang, year: int) -> str:
    """The note explaining the coverage line of aggregate rows."""
    return _t("legend.coverage", lang, units=_base_label(con, lang), year=year)


def _base_label(con: duckdb.DuckDBPyConnection, lang: Lang) -> str:
    """The base level's name in a sentence ("communes")."""
    labels = level_labels(con)
    return in_sentence(labels[0][2 if lang == "fr" else 1]) if labels else "communes"


def aggregate_coverage(con: duckdb.DuckDBPyConnection, year: int, keys: Sequence[str]
                       ) -> dict[str, tuple[int, int]]:
    """``LEVEL:CODE`` of each aggregate among ``keys``: (base units with a value in ``year``,
    base units it has that year in the territories table, or for a group in territory_groups,
    which may name members the territories table lacks).

    Counted in DuckDB from the published tables only (``territories``, ``territory_groups``,
    ``territory_levels``), so that a report re-rendered from a bundle says the same; empty when
    the warehouse has none of them."""
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema()"
    ).fetchall()}
    model = _published_model(con) if {"territories", "territory_groups", "territory_levels"} \
        <= tables and keys else None
    if model is None:
        return {}
    members_sql, parameters = membership_sql(model)
    select = members_sql.partition("CREATE OR REPLACE TABLE territory_members AS")[2]
    if not select:
        raise AssertionError("membership_sql no longer creates territory_members AS SELECT")
    rows = con.execute(
        f"""
        WITH members AS ({select}),
        valid AS (
          SELECT DISTINCT territory_code, territory_level, commune_code FROM members
          WHERE territory_level <> $base AND territory_level <> $group
            AND (valid_from IS NULL OR valid_from <= $year)
            AND (valid_to IS NULL OR valid_to >= $year)),
        grouped AS (
          SELECT DISTINCT g.group_code AS territory_code, $group AS territory_level,
                 g.member_code AS commune_code
          FROM territory_groups g
          WHERE NOT EXISTS (  -- a member the territories table knows counts in its years only
            SELECT 1 FROM territories t
            WHERE t.level = $base AND t.territory_code = g.member_code
              AND ((t.valid_from IS NOT NULL AND t.valid_from > $year)
                   OR (t.valid_to IS NOT NULL AND t.valid_to < $year)))),
        covering AS (SELECT * FROM valid UNION ALL SELECT * FROM grouped),
        with_data AS (
          SELECT DISTINCT territory_code FROM indicator_values
          WHERE year = $year AND value IS NOT NULL AND territory_level = $base)
        SELECT m.territory_level || ':' || m.territory_code AS territory_key,
               count(d.territory_code) AS covered, count(*) AS known
        FROM covering m LEFT JOIN with_data d ON d.territory_code = m.commune_code
        WHERE list_contains($keys, m.territory_level || ':' || m.territory_code)
        GROUP BY ALL ORDER BY 1
        """,
        {**parameters, "year": year, "keys": list(keys)},
    ).fetchall()
    return {key: (int(n), int(total)) for key, n, total in rows}


def _published_model(con: duckdb.DuckDBPyConnection) -> TerritoryModel | None:
    """The project's levels as the published tables give them: ``territory_levels`` for the
    order and labels, and for each level above the base the territories column named as the
    project default (``<code>_code``, or INSEE's for the French levels). A level without such
    a column is left out: its rows then claim no coverage."""
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'territories' "
        "AND schema_name = current_schema()").fetchall()}
    french = {level.code: level.parent_column for level in FRENCH_LEVELS.parents}
    levels = []
    for n, (code, label_en, label_fr) in enumerate(level_labels(con)):
        if code == GROUP_LEVEL:
            continue
        label = LevelLabel(en=label_en, fr=label_fr)
        if n == 0:
            levels.append(Level(code=code, label=label, pattern=".*"))
            continue
        column = next((c for c in (f"{code.lower()}_code", french.get(code)) if c in columns),
                      None)
        if column is not None and column not in RESERVED_COLUMNS:
            levels.append(Level(code=code, label=label, pattern=".*", column=column))
    return TerritoryModel(levels=tuple(levels)) if levels else None


def coverage_text(covered: int, known: int, lang: str, units: str) -> str:
    """"3 communes", or "3 of 21 communes" when more members are known than have data."""
    lang_ = check_lang(lang)
    if covered < known:
        return _t("cover.some", lang_, n=format_number(covered, 0, lang_),
                  total=format_number(known, 0, lang_), units=units)
    if covered == 1:
        return _t("cover.one", lang_, units=units)
    return _t("cover.all", lang_, n=format_number(covered, 0, lang_), units=units)


def _stub_labels(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame,
                 covered: dict[str, tuple[int, int]], lang: Lang) -> list[str]:
    """Each row's label as HTML: the escaped name, and under an aggregate's its coverage."""
    units = _base_label(con, lang) if covered else ""
    labels = []
    for key, label in zip(rows["territory_key"], rows["label"], strict=True):
        cover = ""
        if key in covered:
            cover = (f'<span class="lci-cover">'
                     f"{escape(coverage_text(*covered[key], lang, units))}</span>")
        labels.append(escape(str(label)) + cover)
    return labels


def _layout(gt: GT, indicators: Sequence[Indicator], tid: str, lang: Lang) -> GT:
    """Widths and fonts shared by every domain table."""
    widths: dict[object, str] = {stub: STUB_WIDTH}
    for indicator in indicators:
        widths[_col(indicator, "value")] = VALUE_WIDTH
        widths[_col(indicator, "change")] = CHANGE_WIDTH
        if _is_survey(indicator):
            widths[_col(indicator, "ci")] = CI_WIDTH
    return (
        gt.cols_width(widths)
        .tab_stubhead(label=text("table.stubhead", lang))
        .opt_css(_EXTRA_CSS.format(id=tid))
        .tab_options(
            table_font_size="14px",
            heading_title_font_size="120%",
            heading_align="left",
            column_labels_font_weight="bold",
            row_group_font_weight="bold",
            row_group_background_color="#f2f2f2",
            data_row_padding="5px",
            source_notes_font_size="85%",
        )
    )

def shown_sentence(shown: Sequence[LevelShown], lang: Lang, rows_per_level: int,
                   chosen: int | None = None) -> str | None:
    """What the tables show, said once where some level is too large to list (``None``
    otherwise, so that a small project's report reads as it always has); ``chosen``: how many
    territories the report names, when it names them."""
    distributed = [s for s in shown if not s.listed]
    if not distributed:
        return None
    parts = []
    if chosen is not None:
        parts.append(text("shown.chosen_one", lang) if chosen == 1
                     else text("shown.chosen", lang, n=format_number(chosen, 0, lang)))
    elif listed := [s for s in shown if s.listed]:
        parts.append(text("shown.listed", lang, levels=_levels_list(listed, lang)))
    key = "shown.distributed_chosen" if chosen is not None else "shown.distributed"
    parts.append(text(key, lang, levels=_levels_list(distributed, lang),
                      cap=format_number(rows_per_level, 0, lang)))
    parts.append(text("shown.everything", lang))
    return " ".join(parts)


def _levels_list(levels: Sequence[LevelShown], lang: Lang) -> str:
    """"communes (35,000), EPCI (1,252) and départements (96)": each level with its count."""
    items = [text("shown.levels_item", lang, level=in_sentence(s.label(lang)),
                  n=format_number(s.territories, 0, lang)) for s in levels]
    return items[0] if len(items) == 1 else (
        ", ".join(items[:-1]) + text("shown.and", lang) + items[-1])


def territory_rows(
    con: duckdb.DuckDBPyConnection,
    year: int,
    lang: Lang,
    territories: Sequence[str] | None = None,
    rows_per_level: int | None = None,
) -> pd.DataFrame:
    """Code, level, key (``LEVEL:CODE``) and display name of each territory to show, in
    display order.

    ``territories`` are written ``CODE``, or ``LEVEL:CODE`` where levels share a code. Names
    come from ``indicator_values`` (names as published); groups take their name in the report's
    language from ``territory_groups``; level headings come from ``territory_levels`` (the
    project's labels). Unknown codes are an error, not a gap. Without ``territories``, a level
    with more than ``rows_per_level`` territories in ``year`` is left out (``None``: none is).
    """
    if territories is not None:
        return _territory_rows(con, year, lang, territories, None)
    shown = levels_shown(con, year, rows_per_level)
    if not shown:
        raise ValueError(f"no indicator has a value for {year}")
    return _territory_rows(con, year, lang, None, [s.level for s in shown if s.listed])


def _territory_rows(con: duckdb.DuckDBPyConnection, year: int, lang: Lang,
                    territories: Sequence[str] | None, levels: Sequence[str] | None
                    ) -> pd.DataFrame:
    """``territory_rows`` over the territories of ``levels`` (or those ``territories`` name):
    only those rows leave DuckDB, however many territories the project has."""
    codes = None if territories is None else sorted(
        {split_reference(str(t))[1] for t in territories})
    known = con.execute(
        """
        WITH latest AS (
          SELECT territory_code, territory_level AS level,
                 territory_level || ':' || territory_code AS territory_key,
                 first(territory_name ORDER BY year DESC, territory_name) AS name,
                 bool_or(year = $year) AS in_year
          FROM indicator_values
          WHERE ($levels::VARCHAR[] IS NULL OR list_contains($levels::VARCHAR[], territory_level))
            AND ($codes::VARCHAR[] IS NULL OR list_contains($codes::VARCHAR[], territory_code))
          GROUP BY territory_code, territory_level),
        groups AS (
          SELECT group_code, min(group_name_en) AS name_en, min(group_name_fr) AS name_fr
          FROM territory_groups GROUP BY group_code)
        SELECT l.territory_code, l.level, l.territory_key, l.in_year,
               CASE WHEN l.level = 'GROUP'
                    THEN coalesce(CASE WHEN $lang = 'fr' THEN g.name_fr ELSE g.name_en END,
                                  l.name)
                    ELSE l.name END AS name
        FROM latest l LEFT JOIN groups g ON g.group_code = l.territory_code
        ORDER BY l.level, l.territory_code
        """,
        {"year": year, "lang": lang, "codes": codes,
         "levels": None if levels is None else list(levels)},
    ).df()
    labels = {level: (en, fr) for level, en, fr in level_labels(con)}
    if territories is None:
        chosen = known[known["in_year"]].copy()
        if chosen.empty and levels is None:
            raise ValueError(f"no indicator has a value for {year}")
        order = list(labels)
        chosen["rank"] = [order.index(level) if level in order else len(order)
                          for level in chosen["level"]]
        chosen = chosen.sort_values(["rank", "name", "territory_code"], kind="stable")
    else:
        chosen = _chosen_in_order(known, territories)
    chosen["level_label"] = [labels.get(level, (level, level))[lang == "fr"]
                             for level in chosen["level"]]
    duplicated = chosen["name"].duplicated(keep=False)
    chosen["label"] = [f"{name} ({code})" if dup else name for name, code, dup in
                       zip(chosen["name"], chosen["territory_code"], duplicated, strict=True)]
    return chosen[["territory_code", "level", "territory_key", "level_label", "label"]
                  ].reset_index(drop=True)


def territory_keys(known: pd.DataFrame, territories: Sequence[str]) -> list[str]:
    """``LEVEL:CODE`` of each reference (``CODE`` or ``LEVEL:CODE``) among ``known``'s
    territories; a bare code that two levels share must name its level."""
    by_code: dict[str, list[tuple[str, str]]] = defaultdict(list)  # one pass, not one per code
    for code, level, key in zip(known["territory_code"], known["level"], known["territory_key"],
                                strict=True):
        by_code[code].append((level, key))
    keys, unknown, ambiguous = [], [], []
    for reference in (str(t) for t in territories):
        level, code = split_reference(reference)
        found = [key for lv, key in by_code.get(code, ()) if not level or lv == level]
        if not found:
            unknown.append(reference)
        elif len(found) > 1:
            ambiguous.append(f"{reference} ({', '.join(found)})")
        else:
            keys.append(found[0])
    if unknown:
        raise ValueError(f"report territories without any value: {unknown}")
    if ambiguous:
        raise ValueError(f"report territories whose code several levels share (write "
                         f"LEVEL:CODE): {ambiguous}")
    return keys


def _chosen_in_order(known: pd.DataFrame, territories: Sequence[str]) -> pd.DataFrame:
    """The requested territories, groups in order of first appearance, rows as given."""
    if not list(territories):
        raise ValueError("territories is empty; pass None to show every territory")
    keys = territory_keys(known, territories)
    repeated = sorted(key for key, times in Counter(keys).items() if times > 1)
    if repeated:
        raise ValueError(f"territories listed more than once: {repeated}")
    chosen = known.set_index("territory_key").loc[keys].reset_index()
    first_seen = {level: n for n, level in reversed(list(enumerate(chosen["level"])))}
    chosen["rank"] = [first_seen[level] for level in chosen["level"]]
    return chosen.sort_values("rank", kind="stable")


def _domain_cells(con: duckdb.DuckDBPyConnection, indicator_ids: list[str], year: int,
                  keys: list[str]) -> pd.DataFrame:
    """One row per indicator x territory for ``year``, breakdown 'total', with its change and
    its shading class: the percentile rank of its value among the column's reliable published
    values shown, in ``len(PALETTE)`` classes (``NULL``: not shaded, or nothing to rank)."""
    cells = con.execute(
        """
        WITH cells AS (
          SELECT v.indicator_id, v.territory_level || ':' || v.territory_code AS territory_key,
                 v.value, v.ci_low, v.ci_high, v.status,
                 c.change, c.significant, c.previous_year,
                 v.status = $shaded AND v.value IS NOT NULL AS ranked
          FROM indicator_values v
          LEFT JOIN indicator_changes c
            ON c.indicator_id = v.indicator_id AND c.territory_code = v.territory_code
           AND c.territory_level = v.territory_level
           AND c.breakdown = v.breakdown AND c.year = v.year
          WHERE v.year = $year AND v.breakdown = 'total'
            AND list_contains($ids, v.indicator_id)
            AND list_contains($keys, v.territory_level || ':' || v.territory_code))
        SELECT * EXCLUDE (ranked),
               CASE WHEN ranked AND min(value) OVER w < max(value) OVER w
                    THEN round(percent_rank() OVER (w ORDER BY value) * ($classes - 1))::INTEGER
               END AS shade
        FROM cells
        WINDOW w AS (PARTITION BY indicator_id, ranked)
        ORDER BY indicator_id, territory_key
        """,
        {"year": year, "ids": indicator_ids, "keys": keys, "shaded": SHADED_STATUS,
         "classes": len(PALETTE)},
    ).df()
    twice = cells[cells.duplicated(["indicator_id", "territory_key"], keep=False)]
    if not twice.empty:
        pairs = sorted(set(zip(twice["indicator_id"], twice["territory_key"], strict=True)))
        raise ValueError(f"several 'total' rows for the same cell in {year}: {pairs[:5]}")
    return cells

def _distribution(con: duckdb.DuckDBPyConnection, indicator_ids: list[str], year: int,
                  levels: list[str]) -> dict[tuple[str, str], tuple[int, list[float | None]]]:
    """(level, indicator): how many territories have a published value in ``year``, and the
    percentiles of :data:`QUANTILES` over them (linear interpolation, as ``np.percentile``).

    One query; a suppressed or missing cell is not a value, so it is not counted."""
    rows = con.execute(
        """
        SELECT territory_level, indicator_id, count(value) AS n,
               quantile_cont(value, $quantiles) AS q
        FROM indicator_values
        WHERE year = $year AND breakdown = 'total' AND value IS NOT NULL
          AND list_contains($statuses, status)
          AND list_contains($ids, indicator_id) AND list_contains($levels, territory_level)
        GROUP BY territory_level, indicator_id
        """,
        {"year": year, "ids": indicator_ids, "levels": levels,
         "statuses": list(PUBLISHED_STATUSES), "quantiles": [q for _, q in QUANTILES]},
    ).fetchall()
    return {(level, indicator): (int(n), list(q)) for level, indicator, n, q in rows}


def _with_distribution(frame: pd.DataFrame, keys: list[str | None], row_levels: list[str],
                       shown: Sequence[LevelShown],
                       spread: dict[tuple[str, str], tuple[int, list[float | None]]],
                       indicators: Sequence[Indicator], lang: Lang, listed_first: bool
                       ) -> tuple[pd.DataFrame, list[str | None], list[int]]:
    """``frame`` with each distributed level's rows (count, then percentiles) in a group of
    their own: in level order among the listed levels, or after the chosen territories.

    Returns the frame, each row's territory key (``None`` for a distribution row) and the
    positions of the count rows."""
    blocks: list[tuple[pd.DataFrame, list[str | None], bool]] = []
    taken = pd.Series(row_levels, dtype="object")
    if listed_first:
        blocks.append((frame, keys, False))
    for level in shown:
        if level.listed:
            if not listed_first:
                where = list(taken.index[taken == level.level])
                blocks.append((frame.iloc[where], [keys[n] for n in where], False))
            continue
        blocks.append((_distribution_block(frame, level, spread, indicators, lang),
                       [None] * (1 + len(QUANTILES)), True))
    if not listed_first:  # territories of a level the warehouse does not count (none expected)
        done = {s.level for s in shown if s.listed}
        where = [n for n, level in enumerate(row_levels) if level not in done]
        if where:
            blocks.append((frame.iloc[where], [keys[n] for n in where], False))
    whole = pd.concat([block for block, _, _ in blocks], ignore_index=True)
    all_keys = [key for _, block_keys, _ in blocks for key in block_keys]
    counted, start = [], 0
    for block, _, is_distribution in blocks:
        if is_distribution:
            counted.append(start)
        start += len(block)
    return whole, all_keys, counted


def _distribution_block(frame: pd.DataFrame, level: LevelShown,
                        spread: dict[tuple[str, str], tuple[int, list[float | None]]],
                        indicators: Sequence[Indicator], lang: Lang) -> pd.DataFrame:
    """The count row and the percentile rows of one level, in ``frame``'s columns."""
    name = level.label(lang)
    labels = [text("dist.count", lang, level=name),
              *(text(f"dist.{key}", lang, level=name) for key, _ in QUANTILES)]
    group = text("dist.group", lang, level=name, n=format_number(level.territories, 0, lang))
    block = pd.DataFrame({column: pd.Series([None] * len(labels), dtype=frame[column].dtype)
                          for column in frame.columns})
    block["territory"] = [escape(label) for label in labels]
    block["level"] = group
    for indicator in indicators:
        n, quantiles = spread.get((level.level, indicator.id), (0, [None] * len(QUANTILES)))
        block[_col(indicator, "value")] = pd.array([float(n), *quantiles], dtype="Float64")
        if _is_survey(indicator):
            block[_col(indicator, "ci")] = ""
    return block


def _style_distribution(gt: GT, frame: pd.DataFrame, indicators: Sequence[Indicator],
                        rows: list[int], counted: list[int], lang: Lang) -> GT:
    """Distribution rows on a pale fill; counts as ``n = 1,234``; no interval, change or mark."""
    values = [_col(i, "value") for i in indicators]
    changes = [_col(i, "change") for i in indicators]
    intervals = [_col(i, "ci") for i in indicators if _is_survey(i)]
    gt = gt.fmt_integer(columns=values, rows=counted,
                        pattern=text("dist.count_cell", lang, x="{x}"))
    gt = gt.sub_missing(columns=changes, rows=rows, missing_text="")
    return gt.tab_style(style.fill(color=DISTRIBUTION_FILL),
                        [loc.body(columns=[*values, *intervals, *changes], rows=rows),
                         loc.stub(rows=rows)])


def _col(indicator: Indicator, part: str) -> str:
    return f"{indicator.id}__{part}"


def _is_survey(indicator: Indicator) -> bool:
    return indicator.kind.startswith("survey")


def _wide_frame(rows: pd.DataFrame, cells: pd.DataFrame, indicators: Sequence[Indicator],
                lang: Lang, labels: Sequence[str]) -> pd.DataFrame:
    """Territories in rows; per indicator its value, its CI as text (survey) and its change,
    each a column of its own."""
    frame = pd.DataFrame({"territory": list(labels), "level": rows["level_label"]})
    position = {key: n for n, key in enumerate(rows["territory_key"])}
    for indicator in indicators:
        mine = cells[cells["indicator_id"] == indicator.id]
        where = [position[key] for key in mine["territory_key"]]
        for part in ("value", "change"):
            column = pd.Series([None] * len(frame), dtype="Float64")
            column.iloc[where] = mine[part].astype("Float64").to_numpy()
            frame[_col(indicator, part)] = column
        if _is_survey(indicator):
            interval = [""] * len(frame)
            for n, low, high in zip(where, mine["ci_low"], mine["ci_high"], strict=True):
                if pd.notna(low) and pd.notna(high):
                    interval[n] = _interval_text(low, high, indicator.decimals, lang)
            frame.insert(frame.columns.get_loc(_col(indicator, "change")),
                         _col(indicator, "ci"), pd.Series(interval, dtype="object"))
    return frame


def _interval_text(low: float, high: float, decimals: int, lang: Lang) -> str:
    """"46.1–53.2" in the table's locale: both bounds in one cell, apart from the value."""
    return f"{format_number(low, decimals, lang)}–{format_number(high, decimals, lang)}"


def _add_indicator(gt: GT, cells: pd.DataFrame, positions: dict[str, int],
                   indicator: Indicator, lang: Lang) -> GT:
    """Format, mark and shade the visible columns of one indicator."""
    value, change = _col(indicator, "value"), _col(indicator, "change")
    mine = cells[cells["indicator_id"] == indicator.id]
    gt = gt.fmt_number(columns=value, decimals=indicator.decimals)
    gt = _mark_changes(gt, mine, positions, indicator, lang)
    gt = _mark_statuses(gt, mine, positions, indicator, lang)
    gt = _colour(gt, mine, positions, indicator)
    columns = [value, change]
    labels = {value: text("table.value", lang), change: text("table.change", lang)}
    if _is_survey(indicator):
        interval = _col(indicator, "ci")
        columns.insert(1, interval)
        labels |= {value: _t("table.estimate", lang), interval: _t("table.ci", lang)}
        gt = gt.cols_align(align="center", columns=interval).tab_style(
            style.css("white-space: nowrap;"), loc.body(columns=interval))
    return gt.cols_label(**labels).tab_spanner(
        label=html(_spanner_label(indicator, lang)), columns=columns, id=indicator.id)


def _mark_changes(gt: GT, mine: pd.DataFrame, positions: dict[str, int], indicator: Indicator,
                  lang: Lang) -> GT:
    """Signed changes; significant ones in bold with their arrow (:data:`MARKS`)."""
    change, decimals = _col(indicator, "change"), indicator.decimals
    gt = gt.fmt_number(columns=change, decimals=decimals, force_sign=True)
    significant = mine["significant"].eq(True)
    for meaning, direction in (("significant_up", mine["change"] > 0),
                               ("significant_down", mine["change"] < 0)):
        rows = sorted(positions[c] for c in mine.loc[significant & direction, "territory_key"])
        if rows:
            gt = gt.fmt_number(columns=change, rows=rows, decimals=decimals, force_sign=True,
                               pattern=f'<span class="lci-sig" title="'
                                       f'{escape(mark_meaning(meaning, lang))}">'
                                       f"{MARKS[meaning]}&#8239;{{x}}</span>")
    return gt


def _mark_statuses(gt: GT, mine: pd.DataFrame, positions: dict[str, int],
                   indicator: Indicator, lang: Lang) -> GT:
    """The marks of suppressed, low-reliability and missing cells: a symbol, never a
    footnote letter whose meaning would change from table to table."""
    value, change = _col(indicator, "value"), _col(indicator, "change")
    status = dict(zip(mine["territory_key"], mine["status"], strict=True))
    suppressed = sorted(positions[c] for c, s in status.items() if s == "suppressed")
    low = sorted(positions[c] for c, s in status.items() if s == "low_reliability")
    gt = gt.sub_missing(columns=[value, change], missing_text=MISSING_MARK)
    if suppressed:  # after the generic dash, so that this substitution wins
        gt = gt.sub_missing(columns=value, rows=suppressed, missing_text=SUPPRESSED_MARK)
    if low:
        title = escape(mark_meaning("low_reliability", lang))
        gt = gt.fmt_number(columns=value, rows=low, decimals=indicator.decimals,
                           pattern=f'{{x}}&nbsp;<span class="lci-mark" title="{title}">'
                                   f"{LOW_RELIABILITY_MARK}</span>")
        gt = gt.tab_style([style.text(style="italic"), style.css(FLAGGED_CSS)],
                          loc.body(columns=value, rows=low))
    return gt


def _colour(gt: GT, mine: pd.DataFrame, positions: dict[str, int],
            indicator: Indicator) -> GT:
    """Shade a value column by the class DuckDB gave each reliable value: darker is better;
    context left plain (and flagged cells and distribution rows: they are not ranked)."""
    if indicator.direction == "context":
        return gt
    top = len(PALETTE) - 1
    by_class: dict[int, list[int]] = defaultdict(list)
    for key, shade in zip(mine["territory_key"], mine["shade"], strict=True):
        if pd.notna(shade):
            shade = int(shade)
            by_class[top - shade if indicator.direction == "lower_is_better" else shade].append(
                positions[key])
    value = _col(indicator, "value")
    for shade, rows in sorted(by_class.items()):
        gt = gt.tab_style(shade_styles(shade), loc.body(columns=value, rows=sorted(rows)))
    return gt


def _spanner_label(indicator: Indicator, lang: Lang) -> str:
    return (f'<span class="lci-id">{escape(indicator.id)}</span> '
            f"{escape(indicator.label(lang))}"
            f'<span class="lci-unit">{escape(indicator.unit(lang))}</span>')

def _add_sources(gt: GT, indicators: Sequence[Indicator], lang: Lang) -> GT:
    """One source note per distinct source, naming the indicators it feeds."""
    by_source: dict[str, list[str]] = {}
    for indicator in indicators:
        by_source.setdefault(indicator.source(lang), []).append(indicator.id)
    for source, ids in by_source.items():
        gt = gt.tab_source_note(text("table.source", lang, source=source, ids=", ".join(ids)))
    return gt
