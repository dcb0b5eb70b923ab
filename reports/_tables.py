"""Comparison tables: one great-tables table per action domain, territories in rows.

The table reads ``indicator_values`` and ``indicator_changes`` as they are; every mark a reader
sees (suppression, low reliability, significance) comes from the ``status`` and ``significant``
columns written upstream, never from a test recomputed here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import duckdb
import pandas as pd
from great_tables import GT, html, loc, stub, style

from indicators import Catalogue, Indicator
from indicators.territories import in_sentence, level_labels, split_reference
from reports._i18n import Lang, change_period, check_lang, format_number, format_percent, text

# Sequential greens (ColorBrewer "Greens", lightest to darkest): darker is better.
PALETTE: tuple[str, ...] = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45")
# Fixed widths let long indicator labels wrap inside their spanner instead of widening it.
STUB_WIDTH, VALUE_WIDTH, CHANGE_WIDTH = "220px", "104px", "76px"
SUPPRESSED_MARK = "×"
MISSING_MARK = "—"
ROWS_PER_LEVEL = 100
"""Most territories of one level a table lists; a level with more shows its distribution."""
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90))
"""The distribution rows of a level too large to list: percentiles of its published values."""
PUBLISHED_STATUSES: tuple[str, ...] = ("ok", "low_reliability")
"""Statuses whose value is published (a suppressed or missing cell has none to count)."""
DISTRIBUTION_FILL = "#fafafa"

_EXTRA_CSS = """
#{id} .lci-ci {{ display: block; font-size: 72%; opacity: 0.85; white-space: nowrap; }}
#{id} .lci-id {{ font-size: 78%; color: #595959; font-weight: normal; }}
#{id} .lci-unit {{ display: block; font-size: 78%; font-style: italic; color: #595959;
  font-weight: normal; }}
#{id} .lci-sig {{ font-weight: bold; white-space: nowrap; }}
#{id} .gt_column_spanner {{ white-space: normal; display: block; width: auto; }}
#{id} .gt_footnote {{ font-size: 85%; }}
#{id} .gt_col_heading, #{id} .gt_column_spanner_outer {{ vertical-align: bottom; }}
"""


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
) -> GT:
    """Compare territories on every indicator of one domain: value, 95 % CI and change.

    Rows are ``territories`` in the given order (default: every territory with a value in
    ``year`` of each level having at most ``rows_per_level`` of them, by level then name),
    grouped by level. A level with more territories than that is not listed: its distribution
    rows (percentiles of the published values, and how many territories have one) stand in
    its place, or follow the chosen ``territories``, so that a table's size is bounded
    whatever the project's. Colours rank the territories shown, column by column, so that
    darker green is always better; context indicators and distribution rows stay uncoloured.
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
    cells = _domain_cells(con, [i.id for i in indicators], year, list(rows["territory_key"]))
    frame, previous = _wide_frame(rows, cells, indicators)
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
    notes = _Notes(distribution=bool(distributed))
    gt = GT(frame, rowname_col="territory", groupname_col="level", id=tid, locale=lang_)
    positions = {key: n for n, key in enumerate(keys) if key is not None}
    listed = [n for n, key in enumerate(keys) if key is not None]
    for indicator in indicators:
        gt = _add_indicator(gt, frame, cells, positions, indicator, lang_, notes, listed)
    if distributed:
        gt = _style_distribution(gt, frame, indicators, [n for n, key in enumerate(keys)
                                                        if key is None], counted, lang_)
    compared = {int(y) for y, c in zip(cells["previous_year"], cells["change"], strict=True)
                if pd.notna(y) and pd.notna(c)}  # only years a change shown is measured from
    subtitle = text("table.subtitle", lang_, year=year,
                    period=change_period(year, compared, lang_))
    gt = _layout(gt, indicators, tid, lang_).tab_header(title=domain.label(lang_),
                                                        subtitle=subtitle)
    gt = notes.apply(gt, lang_, any(_is_survey(i) for i in indicators))
    return _add_sources(gt, indicators, lang_)


def _layout(gt: GT, indicators: Sequence[Indicator], tid: str, lang: Lang) -> GT:
    """Widths, fonts and footnote marks shared by every domain table."""
    widths: dict[object, str] = {stub: STUB_WIDTH}
    for indicator in indicators:
        widths[_col(indicator, "value")] = VALUE_WIDTH
        widths[_col(indicator, "change")] = CHANGE_WIDTH
    return (
        gt.cols_width(widths)
        .tab_stubhead(label=text("table.stubhead", lang))
        .opt_footnote_marks(marks="letters")
        .opt_footnote_order(order="marks_first")
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
    """One row per indicator x territory for ``year``, breakdown 'total', with its change."""
    cells = con.execute(
        """
        SELECT v.indicator_id, v.territory_level || ':' || v.territory_code AS territory_key,
               v.value, v.ci_low, v.ci_high, v.status,
               c.change, c.significant, c.previous_year
        FROM indicator_values v
        LEFT JOIN indicator_changes c
          ON c.indicator_id = v.indicator_id AND c.territory_code = v.territory_code
         AND c.territory_level = v.territory_level
         AND c.breakdown = v.breakdown AND c.year = v.year
        WHERE v.year = $year AND v.breakdown = 'total'
          AND list_contains($ids, v.indicator_id)
          AND list_contains($keys, v.territory_level || ':' || v.territory_code)
        ORDER BY v.indicator_id, territory_key
        """,
        {"year": year, "ids": indicator_ids, "keys": keys},
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
    block["territory"] = labels
    block["level"] = group
    for indicator in indicators:
        n, quantiles = spread.get((level.level, indicator.id), (0, [None] * len(QUANTILES)))
        block[_col(indicator, "value")] = pd.array([float(n), *quantiles], dtype="Float64")
    return block


def _style_distribution(gt: GT, frame: pd.DataFrame, indicators: Sequence[Indicator],
                        rows: list[int], counted: list[int], lang: Lang) -> GT:
    """Distribution rows on a pale fill; counts as ``n = 1,234``; no change, no mark."""
    values = [_col(i, "value") for i in indicators]
    changes = [_col(i, "change") for i in indicators]
    gt = gt.fmt_integer(columns=values, rows=counted,
                        pattern=text("dist.count_cell", lang, x="{x}"))
    gt = gt.sub_missing(columns=changes, rows=rows, missing_text="")
    return gt.tab_style(style.fill(color=DISTRIBUTION_FILL),
                        [loc.body(columns=[*values, *changes], rows=rows), loc.stub(rows=rows)])


def _col(indicator: Indicator, part: str) -> str:
    return f"{indicator.id}__{part}"


def _is_survey(indicator: Indicator) -> bool:
    return indicator.kind.startswith("survey")


def _wide_frame(rows: pd.DataFrame, cells: pd.DataFrame,
                indicators: Sequence[Indicator]) -> tuple[pd.DataFrame, set[int]]:
    """Territories in rows; per indicator its value, CI bounds (survey) and change.

    Also returns the previous years the changes refer to, for the subtitle.
    """
    frame = pd.DataFrame({"territory": rows["label"], "level": rows["level_label"]})
    position = {key: n for n, key in enumerate(rows["territory_key"])}
    for indicator in indicators:
        mine = cells[cells["indicator_id"] == indicator.id]
        where = [position[key] for key in mine["territory_key"]]
        parts = ("value", "ci_low", "ci_high", "change") if _is_survey(indicator) else (
            "value", "change")
        for part in parts:
            column = pd.Series([None] * len(frame), dtype="Float64")
            column.iloc[where] = mine[part].astype("Float64").to_numpy()
            frame[_col(indicator, part)] = column
    previous = {int(y) for y in cells["previous_year"].dropna()}
    return frame, previous


@dataclass
class _Notes:
    """Footnotes gathered while columns are built, attached once all are known."""

    marked: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    missing: bool = False
    distribution: bool = False

    def add(self, footnote: str, column: str, rows: list[int]) -> None:
        if rows:
            self.marked[footnote].append(loc.body(columns=column, rows=rows))

    def apply(self, gt: GT, lang: Lang, has_survey: bool) -> GT:
        for footnote, locations in self.marked.items():
            gt = gt.tab_footnote(footnote, locations=locations, placement="left")
        if self.missing:
            gt = gt.tab_footnote(text("note.missing", lang))
        if has_survey:
            gt = gt.tab_footnote(text("note.ci", lang))
        if self.distribution:
            gt = gt.tab_footnote(text("note.distribution", lang))
        return gt.tab_footnote(text("note.colours", lang))


def _add_indicator(gt: GT, frame: pd.DataFrame, cells: pd.DataFrame, positions: dict[str, int],
                   indicator: Indicator, lang: Lang, notes: _Notes,
                   listed: Sequence[int]) -> GT:
    """Format, colour, merge and annotate the two visible columns of one indicator
    (``listed``: the rows of territories, the others being distribution rows)."""
    value, change = _col(indicator, "value"), _col(indicator, "change")
    mine = cells[cells["indicator_id"] == indicator.id]
    gt = _format_values(gt, frame, indicator)
    gt = _mark_changes(gt, mine, positions, indicator, lang, notes)
    gt = _mark_statuses(gt, frame, mine, positions, indicator, lang, notes, listed)
    gt = _colour(gt, frame, indicator, listed)
    label = text("table.estimate" if _is_survey(indicator) else "table.value", lang)
    return gt.cols_label(**{value: label, change: text("table.change", lang)}).tab_spanner(
        label=html(_spanner_label(indicator, lang)), columns=[value, change], id=indicator.id)


def _format_values(gt: GT, frame: pd.DataFrame, indicator: Indicator) -> GT:
    """Numbers in the table's locale; survey values get their CI merged below, in small type."""
    value, decimals = _col(indicator, "value"), indicator.decimals
    if not _is_survey(indicator):
        return gt.fmt_number(columns=value, decimals=decimals)
    low, high = _col(indicator, "ci_low"), _col(indicator, "ci_high")
    gt = gt.fmt_number(columns=[value, low, high], decimals=decimals).cols_hide([low, high])
    with_ci = [n for n in range(len(frame))
               if not frame.loc[n, [value, low, high]].isna().any()]
    if not with_ci:
        return gt
    return gt.cols_merge(columns=[value, low, high], rows=with_ci, hide_columns=False,
                         pattern='{0}<span class="lci-ci">{1}–{2}</span>')


def _mark_changes(gt: GT, mine: pd.DataFrame, positions: dict[str, int], indicator: Indicator,
                  lang: Lang, notes: _Notes) -> GT:
    """Signed changes; significant ones in bold with an arrow and a footnote."""
    change, decimals = _col(indicator, "change"), indicator.decimals
    gt = gt.fmt_number(columns=change, decimals=decimals, force_sign=True)
    significant = mine["significant"].eq(True)
    marked: list[int] = []
    for arrow, direction in (("▲", mine["change"] > 0), ("▼", mine["change"] < 0)):
        rows = sorted(positions[c] for c in mine.loc[significant & direction, "territory_key"])
        if rows:
            gt = gt.fmt_number(columns=change, rows=rows, decimals=decimals, force_sign=True,
                               pattern=f'<span class="lci-sig">{arrow}&#8239;{{x}}</span>')
        marked += rows
    notes.add(text("note.significant", lang), change, sorted(marked))
    return gt


def _mark_statuses(gt: GT, frame: pd.DataFrame, mine: pd.DataFrame, positions: dict[str, int],
                   indicator: Indicator, lang: Lang, notes: _Notes,
                   listed: Sequence[int]) -> GT:
    """Symbols and footnotes for suppressed, low-reliability and unavailable cells."""
    value, change = _col(indicator, "value"), _col(indicator, "change")
    status = dict(zip(mine["territory_key"], mine["status"], strict=True))
    suppressed = sorted(positions[c] for c, s in status.items() if s == "suppressed")
    low = sorted(positions[c] for c, s in status.items() if s == "low_reliability")
    unavailable = [n for n in listed if pd.isna(frame.at[n, change]) or (
        n not in suppressed and pd.isna(frame.at[n, value]))]
    if unavailable:
        notes.missing = True
    gt = gt.sub_missing(columns=[value, change], missing_text=MISSING_MARK)
    if suppressed:  # after the generic dash, so that this substitution wins
        gt = gt.sub_missing(columns=value, rows=suppressed, missing_text=SUPPRESSED_MARK)
    notes.add(_suppressed_note(indicator, lang), value, suppressed)
    if low:
        gt = gt.tab_style(style.text(style="italic"), loc.body(columns=value, rows=low))
    notes.add(_low_reliability_note(indicator, lang), value, low)
    return gt


def _colour(gt: GT, frame: pd.DataFrame, indicator: Indicator, listed: Sequence[int]) -> GT:
    """Shade a value column over the territories shown: darker is better, context left plain
    (and distribution rows too: they are not territories to rank)."""
    if indicator.direction == "context":
        return gt
    value = _col(indicator, "value")
    present = [n for n in listed if not pd.isna(frame.at[n, value])]
    if len({float(frame.at[n, value]) for n in present}) < 2:
        return gt  # a single value ranks nothing
    return gt.data_color(columns=value, rows=present, palette=list(PALETTE),
                         reverse=indicator.direction == "lower_is_better")


def _spanner_label(indicator: Indicator, lang: Lang) -> str:
    return (f'<span class="lci-id">{escape(indicator.id)}</span> '
            f"{escape(indicator.label(lang))}"
            f'<span class="lci-unit">{escape(indicator.unit(lang))}</span>')


def _suppressed_note(indicator: Indicator, lang: Lang) -> str:
    key = "note.suppressed_survey" if _is_survey(indicator) else "note.suppressed_other"
    return text(key, lang, min_n=indicator.min_n)


def _low_reliability_note(indicator: Indicator, lang: Lang) -> str:
    if not _is_survey(indicator):
        return text("note.low_other", lang)
    return text("note.low_survey", lang, reliable_n=indicator.reliable_n,
                max_cv=format_percent(indicator.max_cv, lang))


def _add_sources(gt: GT, indicators: Sequence[Indicator], lang: Lang) -> GT:
    """One source note per distinct source, naming the indicators it feeds."""
    by_source: dict[str, list[str]] = {}
    for indicator in indicators:
        by_source.setdefault(indicator.source(lang), []).append(indicator.id)
    for source, ids in by_source.items():
        gt = gt.tab_source_note(text("table.source", lang, source=source, ids=", ".join(ids)))
    return gt
