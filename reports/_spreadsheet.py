"""``indicators.xlsx``: the workbook for people, in the run's language.

A 'Read me' sheet (what each sheet holds, the marks, the columns, the definitions), then one
sheet per action domain laid out as the report's tables (territories in rows, in the report's
order; for each indicator its value, 95 % interval, change and marks), then the long 'Data'
sheet holding every row, for filters and pivot tables, continued on further sheets past a
sheet's limit.

Written in xlsxwriter's ``constant_memory`` mode: each row goes to disk as it is written, rows
in order (the data sheet's from one DuckDB cursor, batch by batch), so memory stays flat at two
million rows; the domain sheets list only a bounded set of territories. Strings are written as
strings, never formulas; the workbook carries a fixed creation date, so its bytes do not change.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from indicators import Catalogue, Domain, Indicator
from indicators.territories import in_sentence
from reports import _exports
from reports._exports import EXPORT_COLUMNS, column_header, export_rows_sql, word
from reports._i18n import Lang, change_period, format_number, text
from reports._tables import (
    FLAGGED_FILL,
    FLAGGED_HATCH,
    MARKS,
    QUANTILES,
    ROWS_PER_LEVEL,
    LevelShown,
    _distribution,
    _domain_cells,
    legend_items,
    levels_shown,
    territory_rows,
)

WORKBOOK_DATE = datetime(2000, 1, 1)
"""Creation date stamped in the workbook, in place of the clock, so its bytes do not change."""
SHEET_ROWS = 1_048_576
"""Rows a worksheet holds (Excel's limit, header included): a longer data sheet continues on
further sheets, "Data (2)", "Data (3)" …, each with the header, and the Read me says so."""
HEADER_ROWS = 5
"""Rows above a domain sheet's data: title, period, territories shown, indicator, part."""
IDENTIFIER_COLUMNS = 2
"""Territory code and name: frozen on screen, repeated on every printed page."""
A4 = 9

_WORDS: dict[str, tuple[str, str]] = {
    "sheet.readme": ("Read me", "Lisez-moi"),
    "sheet.data": ("Data", "Données"),
    "sheet.continued": ("{sheet} ({n})", "{sheet} ({n})"),
    "readme.domains": (
        "One sheet per action domain ({codes}) sets the territories out as the report's "
        "tables do: for each indicator, its value, its 95% confidence interval (survey "
        "indicators), its change since the previous year with values, and its marks.",
        "Une feuille par domaine d'action ({codes}) présente les territoires comme les "
        "tableaux du rapport\u00a0: pour chaque indicateur, sa valeur, son intervalle de "
        "confiance à 95\u202f% (indicateurs d'enquête), son évolution depuis l'année "
        "précédente disponible et ses signes."),
    "readme.data": (
        "The sheet {sheet} holds every value: one row per indicator, territory, year and "
        "breakdown, for filters and pivot tables. indicators.csv holds the same rows.",
        "La feuille {sheet} contient toutes les valeurs\u00a0: une ligne par indicateur, "
        "territoire, année et ventilation, pour les filtres et les tableaux croisés "
        "dynamiques. indicators.csv contient les mêmes lignes."),
    "readme.continued": (
        "A sheet holds {rows} rows of data: the sheets {sheets} continue the sheet {sheet}, "
        "in the same order. indicators.csv and the Parquet files hold every row in one table.",
        "Une feuille contient {rows} lignes de données\u00a0: les feuilles {sheets} "
        "prolongent la feuille {sheet}, dans le même ordre. indicators.csv et les fichiers "
        "Parquet contiennent toutes les lignes dans une seule table."),
    "readme.marks": ("Marks", "Signes"),
    "readme.no_change": (
        "An empty change: no earlier year to compare with. A value of low reliability is "
        "shown on a hatched grey fill.",
        "Évolution vide\u00a0: pas d'année antérieure à comparer. Une valeur de fiabilité "
        "limitée figure sur un fond gris hachuré."),
    "readme.columns": ("Columns of the sheet {sheet}", "Colonnes de la feuille {sheet}"),
    "readme.column": ("Column", "Colonne"),
    "readme.meaning": ("Meaning", "Signification"),
    "readme.domain_list": ("Action domains", "Domaines d'action"),
    "readme.definitions": ("Definitions", "Définitions"),
    "def.definition": ("Definition", "Définition"),
    "def.direction": ("Direction", "Sens"),
    "def.source": ("Source", "Source"),
    "def.kflc": ("Key features of learning cities (UNESCO)",
                 "Caractéristiques clés des villes apprenantes (UNESCO)"),
    "def.reference": ("Reference", "Référence"),
    "def.target": ("Target", "Cible"),
    "def.decimals": ("Decimals", "Décimales"),
    "def.name": ("Name", "Nom"),
    "shown.chosen": (
        "The report's {n} territories, in its order. Every territory is in the sheet {sheet}.",
        "Les {n} territoires du rapport, dans son ordre. Tous les territoires figurent dans "
        "la feuille {sheet}."),
    "shown.chosen_one": (
        "The report's territory. Every territory is in the sheet {sheet}.",
        "Le territoire du rapport. Tous les territoires figurent dans la feuille {sheet}."),
    "shown.all": ("Every territory, by level.", "Tous les territoires, par niveau."),
    "shown.bounded": (
        "Every territory of the levels with at most {cap} territories.",
        "Tous les territoires des niveaux qui en comptent au plus {cap}."),
    "shown.distributed": (
        " For {levels}, more than {cap} territories each, the distribution of the values "
        "(how many territories have one; 10th, 25th, 50th, 75th and 90th percentiles) stands "
        "in their place; every territory is in the sheet {sheet}.",
        " Pour {levels}, plus de {cap} territoires chacun, la distribution des valeurs "
        "(nombre de territoires qui en ont une\u00a0; 10e, 25e, 50e, 75e et 90e centiles) "
        "figure à leur place\u00a0; tous les territoires figurent dans la feuille {sheet}."),
    "shown.level": ("{level} ({n})", "{level} ({n})"),
    "shown.none": ("No territory to list: every territory is in the sheet {sheet}.",
                   "Aucun territoire à présenter\u00a0: tous les territoires figurent dans la "
                   "feuille {sheet}."),
    "part.value": ("Value", "Valeur"),
    "part.ci_low": ("95% CI, low", "IC à 95\u202f%, bas"),
    "part.ci_high": ("95% CI, high", "IC à 95\u202f%, haut"),
    "part.change": ("Change", "Évolution"),
    "part.marks": ("Marks", "Signes"),
    "indicator.heading": ("{label} ({unit}) · {id}", "{label} ({unit}) · {id}"),
    "footer": ("Page &P of &N", "Page &P sur &N"),
}


def _w(key: str, lang: Lang, **values: object) -> str:
    return _WORDS[key][0 if lang == "en" else 1].format(**values)


def sheet_names(lang: Lang) -> tuple[str, str]:
    """The names of the Read me sheet and of the data sheet in ``lang``."""
    return _w("sheet.readme", lang), _w("sheet.data", lang)


@dataclass
class _Formats:
    """The workbook's cell formats, each made once (an xlsx holds a table of them)."""

    book: Workbook
    cache: dict[str, Format] = field(default_factory=dict)

    def get(self, name: str) -> Format:
        if name not in self.cache:
            self.cache[name] = self.book.add_format(_STYLES.get(name) or _number_style(name))
        return self.cache[name]


_HEADER = {"bold": True, "bg_color": "#E8F1EA", "border": 1, "text_wrap": True,
           "valign": "top"}
_STYLES: dict[str, dict[str, object]] = {
    "title": {"bold": True, "font_size": 14},
    "subtitle": {"italic": True, "font_color": "#595959"},
    "header": _HEADER,
    "spanner": {**_HEADER, "align": "center"},
    "wrap": {"text_wrap": True, "valign": "top"},
    "mark": {"align": "center"},
    "bold": {"bold": True},
    "distribution": {"italic": True, "font_color": "#595959"},
    "share": {"num_format": "0.0%"},  # item non-response, a share shown in percent
}


def _number_style(name: str) -> dict[str, object]:
    """``number:D`` (thousands separated, D decimals), ``change:D`` (signed) or ``flagged:D``
    (a low-reliability value: hatched, as in the report's tables)."""
    kind, decimals = name.split(":")
    if kind == "flagged":
        return {**_number_style(f"number:{decimals}"), "pattern": 13,
                "fg_color": FLAGGED_HATCH, "bg_color": FLAGGED_FILL}
    body = "#,##0" + ("." + "0" * int(decimals) if int(decimals) else "")
    if kind == "change":
        zero = "0" + ("." + "0" * int(decimals) if int(decimals) else "")
        return {"num_format": f"+{body};-{body};{zero}"}
    return {"num_format": body}


def write_workbook(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path,
                   lang: Lang, territories: Sequence[str] | None = None,
                   year: int | None = None, title: str | None = None,
                   rows_per_level: int | None = None) -> Path:
    """Write the workbook at ``path`` (replaced in one step).

    The domain sheets list ``territories`` in the report's order (``CODE`` or ``LEVEL:CODE``),
    for ``year`` (default: the latest with values). Without territories they list, as the
    report's tables do, every territory of each level having at most ``rows_per_level`` of them
    (default :data:`reports._tables.ROWS_PER_LEVEL`), and say which levels are left to the data
    sheet: their size is bounded whatever the project's. ``title`` (default: the report's
    default title) heads every printed page."""
    if year is None:
        year = con.execute("SELECT max(year) FROM indicator_values").fetchone()[0]
    partial = path.with_name(f".{path.name}.partial")
    book = xlsxwriter.Workbook(str(partial), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False})
    if title is None:
        title = text("report.title", lang, year=year) if year is not None else _w(
            "sheet.data", lang)
    book.set_properties({"title": title, "created": WORKBOOK_DATE})
    formats = _Formats(book)
    readme_name, data_name = sheet_names(lang)
    total = con.execute("SELECT count(*) FROM indicator_values").fetchone()[0]
    per_sheet = SHEET_ROWS - 1
    data_sheets = [data_name if n == 0 else _w("sheet.continued", lang, sheet=data_name,
                                                   n=n + 1)
                   for n in range(max(1, -(-total // per_sheet)))]
    rows, note, shown = _people(con, year, lang, territories, data_name,
                                ROWS_PER_LEVEL if rows_per_level is None else rows_per_level)
    domains = [d for d in catalogue.domains if catalogue.in_domain(d.code)]
    readme = book.add_worksheet(readme_name)
    _readme_sheet(readme, formats, catalogue, domains, lang, title, data_sheets, note)
    for domain in domains:
        sheet = book.add_worksheet(domain.code)
        _domain_sheet(sheet, formats, con, domain, catalogue.in_domain(domain.code), year,
                      lang, _Rows(rows, shown, bool(territories)), note, title)
    _data_sheets(book, formats, con, catalogue, lang, data_sheets, title)
    book.close()
    os.replace(partial, path)
    return path


def _print_setup(sheet: Worksheet, title: str, lang: Lang, landscape: bool = True) -> None:
    """A4, one page wide, the title and the sheet's name on top, page numbers below."""
    sheet.set_paper(A4)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    sheet.set_header(f"&L{title.replace('&', '&&')}&R&A")
    sheet.set_footer(f"&C{_w('footer', lang)}")


def _people(con: duckdb.DuckDBPyConnection, year: int | None, lang: Lang,
            territories: Sequence[str] | None, data_name: str, cap: int
            ) -> tuple[pd.DataFrame, str, tuple[LevelShown, ...]]:
    """The territories the domain sheets list, in display order, the sentence saying which
    they are, and the year's levels (a level of more than ``cap`` territories shows its
    distribution instead, as in the report's tables)."""
    empty = pd.DataFrame(columns=["territory_code", "level", "territory_key", "level_label",
                                  "label"])
    shown = levels_shown(con, year, cap) if year is not None else ()
    if not shown:
        return empty, _w("shown.none", lang, sheet=data_name), ()
    left = [s for s in shown if not s.listed]
    if territories:
        rows = territory_rows(con, year, lang, list(territories))
        key = "shown.chosen_one" if len(rows) == 1 else "shown.chosen"
        note = _w(key, lang, n=format_number(len(rows), 0, lang), sheet=data_name)
    else:
        rows = territory_rows(con, year, lang, None, cap)
        note = _w("shown.bounded" if left else "shown.all", lang,
                  cap=format_number(cap, 0, lang))
    if left:
        note += _w("shown.distributed", lang, cap=format_number(cap, 0, lang),
                   levels=_levels_text(left, lang), sheet=data_name)
    return rows, note, shown


@dataclass(frozen=True)
class _Rows:
    """What a domain sheet lists: territories, and the levels whose distribution stands in
    for them (in level order, or after the report's own territories)."""

    territories: pd.DataFrame
    levels: tuple[LevelShown, ...]
    chosen: bool


def _levels_text(levels: Sequence[LevelShown], lang: Lang) -> str:
    items = [_w("shown.level", lang, level=in_sentence(s.label(lang)),
                n=format_number(s.territories, 0, lang)) for s in levels]
    return items[0] if len(items) == 1 else (
        ", ".join(items[:-1]) + text("shown.and", lang) + items[-1])


def _readme_sheet(sheet: Worksheet, formats: _Formats, catalogue: Catalogue,
                  domains: Sequence[Domain], lang: Lang, title: str,
                  data_sheets: Sequence[str], note: str) -> None:
    """What the workbook holds, the marks, the data sheet's columns and the definitions."""
    wrap, header = formats.get("wrap"), formats.get("header")
    sheet.set_column(0, 0, 24)  # symbols, column names, indicator ids
    sheet.set_column(1, 1, 70)  # meanings, domain names, indicator labels
    sheet.set_column(2, 2, 60)  # definitions
    sheet.set_column(3, 10, 24)
    lines = [_w("readme.domains", lang, codes=", ".join(d.code for d in domains)),
             _w("readme.data", lang, sheet=data_sheets[0])]
    if len(data_sheets) > 1:
        lines.append(_w("readme.continued", lang,
                        rows=format_number(SHEET_ROWS - 1, 0, lang),
                        sheets=", ".join(data_sheets[1:]), sheet=data_sheets[0]))
    lines.append(note)
    sheet.write(0, 0, title, formats.get("title"))
    row = 1
    for line in lines:
        sheet.write(row, 0, line)
        row += 1
    row += 1
    sheet.write(row, 0, _w("readme.marks", lang), formats.get("bold"))
    for symbol, meaning in legend_items(lang):
        row += 1
        sheet.write_row(row, 0, (symbol, meaning), wrap)
    row += 1
    sheet.write(row, 0, _w("readme.no_change", lang))
    row += 2
    sheet.write(row, 0, _w("readme.columns", lang, sheet=data_sheets[0]), formats.get("bold"))
    row += 1
    sheet.write_row(row, 0, (_w("readme.column", lang), _w("readme.meaning", lang)), header)
    for key in EXPORT_COLUMNS:
        row += 1
        sheet.write_row(row, 0, (column_header(key, lang), word(f"meaning.{key}", lang)), wrap)
    row += 2
    sheet.write(row, 0, _w("readme.domain_list", lang), formats.get("bold"))
    row += 1
    sheet.write_row(row, 0, (column_header("domain", lang), _w("def.name", lang)), header)
    for domain in domains:
        row += 1
        sheet.write_row(row, 0, (domain.code, domain.label(lang)), wrap)
    row += 2
    sheet.write(row, 0, _w("readme.definitions", lang), formats.get("bold"))
    row += 1
    sheet.write_row(row, 0, (
        column_header("indicator_id", lang), column_header("label", lang),
        _w("def.definition", lang), column_header("domain", lang), column_header("unit", lang),
        _w("def.direction", lang), _w("def.source", lang), _w("def.kflc", lang),
        _w("def.reference", lang), _w("def.target", lang), _w("def.decimals", lang)), header)
    for indicator in catalogue:
        row += 1
        sheet.write_row(row, 0, _definition_row(indicator, lang), wrap)
    _print_setup(sheet, title, lang, landscape=False)


def _definition_row(indicator: Indicator, lang: Lang) -> tuple:
    target = indicator.target
    shown = ""
    if target:
        decimals = 0 if float(target.value).is_integer() else 1
        shown = f"{format_number(target.value, decimals, lang)} ({target.source_in(lang)})"
    return (indicator.id, indicator.label(lang), indicator.description(lang), indicator.domain,
            indicator.unit(lang), text(f"direction.{indicator.direction}", lang),
            indicator.source(lang), ", ".join(indicator.kflc),
            indicator.reference_in(lang) or "", shown, indicator.decimals)


def _parts(indicator: Indicator) -> tuple[str, ...]:
    """The columns of one indicator: its interval only for survey indicators, as in the
    report's tables."""
    if indicator.kind.startswith("survey"):
        return ("value", "ci_low", "ci_high", "change", "marks")
    return ("value", "change", "marks")


_PART_WIDTHS = {"value": 10, "ci_low": 9, "ci_high": 9, "change": 10, "marks": 7}


def marks(status: str | None, change: float | None, significant: bool | None) -> str:
    """The marks of one cell, in :data:`reports._tables.MARKS`: its status's (none when
    published), then the arrow of a significant change."""
    found = []
    if status in ("suppressed", "low_reliability"):
        found.append(MARKS[status])
    elif status is None or status == "missing":
        found.append(MARKS["missing"])
    if significant is True and change is not None and change != 0:
        found.append(MARKS["significant_up" if change > 0 else "significant_down"])
    return " ".join(found)


def _domain_sheet(sheet: Worksheet, formats: _Formats, con: duckdb.DuckDBPyConnection,
                  domain: Domain, indicators: Sequence[Indicator], year: int | None,
                  lang: Lang, listed: _Rows, note: str, title: str) -> None:
    """One domain as the report's table: territories in rows, each indicator's columns
    across, identifiers and header rows frozen."""
    rows = listed.territories
    keys = list(rows["territory_key"])
    cells = (_domain_cells(con, [i.id for i in indicators], year, keys)
             if keys and year is not None else None)
    found: dict[tuple[str, str], tuple] = {}
    compared: set[int] = set()
    if cells is not None:
        for cell in cells.itertuples(index=False):
            found[(cell.indicator_id, cell.territory_key)] = (
                _number(cell.value), _number(cell.ci_low), _number(cell.ci_high),
                cell.status, _number(cell.change),
                None if pd.isna(cell.significant) else bool(cell.significant))
            if pd.notna(cell.change) and pd.notna(cell.previous_year):
                compared.add(int(cell.previous_year))
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 2, 14)
    column = 3
    for indicator in indicators:
        for part in _parts(indicator):
            sheet.set_column(column, column, _PART_WIDTHS[part])
            column += 1
    last = column - 1
    sheet.write(0, 0, domain.label(lang), formats.get("title"))
    if year is not None:
        sheet.write(1, 0, f"{year} · {change_period(year, compared, lang)}",
                    formats.get("subtitle"))
    sheet.write(2, 0, note, formats.get("subtitle"))
    sheet.set_row(3, 62)
    header, spanner = formats.get("header"), formats.get("spanner")
    sheet.write_row(3, 0, ("", "", ""), header)
    column = 3
    for indicator in indicators:
        width = len(_parts(indicator))
        heading = _w("indicator.heading", lang, label=indicator.label(lang),
                     unit=indicator.unit(lang), id=indicator.id)
        sheet.merge_range(3, column, 3, column + width - 1, heading, spanner)
        column += width
    sheet.write_row(4, 0, (column_header("territory_code", lang),
                           column_header("territory_name", lang),
                           column_header("territory_level", lang)), header)
    sheet.write_row(4, 3, [_w(f"part.{part}", lang) for indicator in indicators
                           for part in _parts(indicator)], header)
    row = HEADER_ROWS - 1
    distributed = [s for s in listed.levels if not s.listed]
    spread = (_distribution(con, [i.id for i in indicators], year,
                            [s.level for s in distributed]) if distributed else {})
    for block in _blocks(listed):
        if isinstance(block, LevelShown):
            row = _distribution_rows(sheet, formats, row, block, spread, indicators, lang)
            continue
        for code, key, level, label in zip(block["territory_code"], block["territory_key"],
                                           block["level_label"], block["label"], strict=True):
            row += 1
            _territory_row(sheet, formats, row, (str(code), str(label), str(level)),
                           indicators, found, key)
    if row >= HEADER_ROWS:
        sheet.autofilter(HEADER_ROWS - 1, 0, row, last)
    row += 2
    for symbol, meaning in legend_items(lang):
        sheet.write_string(row, 0, f"{symbol} {meaning}")
        row += 1
    sheet.write_string(row, 0, _w("readme.no_change", lang))
    for indicator in indicators:
        row += 1
        sheet.write_string(row, 0, text("table.source", lang, ids=indicator.id,
                                        source=indicator.source(lang)))
    sheet.freeze_panes(HEADER_ROWS, IDENTIFIER_COLUMNS)
    sheet.repeat_rows(HEADER_ROWS - 2, HEADER_ROWS - 1)
    sheet.repeat_columns(0, IDENTIFIER_COLUMNS - 1)
    _print_setup(sheet, title, lang)


def _blocks(listed: _Rows) -> list[pd.DataFrame | LevelShown]:
    """Territory rows and distributions in display order: each level's rows or distribution
    in level order, or the report's territories first and the distributions after."""
    rows = listed.territories
    if listed.chosen:
        return [rows, *(s for s in listed.levels if not s.listed)]
    blocks: list[pd.DataFrame | LevelShown] = []
    for level in listed.levels:
        blocks.append(rows[rows["level"] == level.level] if level.listed else level)
    blocks.append(rows[~rows["level"].isin([s.level for s in listed.levels])])
    return blocks


def _territory_row(sheet: Worksheet, formats: _Formats, row: int, names: tuple[str, ...],
                   indicators: Sequence[Indicator], found: dict[tuple[str, str], tuple],
                   key: str) -> None:
    """One territory: code, name and level, then each indicator's cells."""
    for column, name in enumerate(names):
        sheet.write_string(row, column, name)
    column = len(names)
    mark = formats.get("mark")
    for indicator in indicators:
        value, low, high, status, change, significant = found.get(
            (indicator.id, key), (None, None, None, None, None, None))
        for part in _parts(indicator):
            shown = {"value": value, "ci_low": low, "ci_high": high, "change": change}.get(part)
            if part == "marks":
                sheet.write_string(row, column, marks(status, change, significant), mark)
            elif shown is not None:
                kind = ("change" if part == "change" else
                        "flagged" if status == "low_reliability" else "number")
                sheet.write_number(row, column, shown,
                                   formats.get(f"{kind}:{indicator.decimals}"))
            column += 1


def _distribution_rows(sheet: Worksheet, formats: _Formats, row: int, level: LevelShown,
                       spread: dict[tuple[str, str], tuple[int, list[float | None]]],
                       indicators: Sequence[Indicator], lang: Lang) -> int:
    """A level too large to list: how many of its territories have a published value, then
    the percentiles of those values, in the value columns; returns the last row written."""
    name = level.label(lang)
    labels = [text("dist.count", lang, level=name),
              *(text(f"dist.{key}", lang, level=name) for key, _ in QUANTILES)]
    italic = formats.get("distribution")
    for n, label in enumerate(labels):
        row += 1
        sheet.write_string(row, 1, label, italic)
        sheet.write_string(row, 2, name, italic)
        column = 3
        for indicator in indicators:
            count, quantiles = spread.get((level.level, indicator.id),
                                          (0, [None] * len(QUANTILES)))
            value = count if n == 0 else quantiles[n - 1]
            if value is not None:
                sheet.write_number(row, column, value, formats.get(
                    "number:0" if n == 0 else f"number:{indicator.decimals}"))
            column += len(_parts(indicator))
    return row


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


_DATA_NUMBERS = ("value", "numerator", "denominator", "se", "ci_low", "ci_high")
_DATA_WIDTHS = {"indicator_id": 11, "domain": 9, "label": 40, "unit": 24,
                "territory_code": 13, "territory_level": 8, "territory_name": 28, "year": 7,
                "breakdown": 12, "n_unweighted": 12, "item_nonresponse": 12, "status": 16,
                "status_reason": 36}


def _data_sheets(book: Workbook, formats: _Formats, con: duckdb.DuckDBPyConnection,
                 catalogue: Catalogue, lang: Lang, names: Sequence[str], title: str) -> None:
    """Every row of ``indicator_values``, in the catalogue's order then the levels', from one
    cursor; a new sheet (with the header) each time one is full."""
    relation, params = export_rows_sql(con, catalogue, lang, people=True)
    selected = ["indicator_id", "domain", "label", "unit", "territory_code", "territory_level",
                "territory_name", "year", "breakdown_word", *_DATA_NUMBERS, "n_unweighted",
                "status_word", "reason", "item_nonresponse"]
    columns = [*EXPORT_COLUMNS[:9], *_DATA_NUMBERS, "n_unweighted", "status",
               "status_reason", "item_nonresponse"]  # the CSV's columns, in its order
    cursor = con.execute(
        f"SELECT {', '.join(selected)} FROM ({relation}) "
        "ORDER BY ordinal, level_rank, territory_code, year, breakdown", params)
    number_of = {i.id: (formats.get(f"number:{i.decimals}"),
                        formats.get(f"number:{min(i.decimals + 2, 6)}")) for i in catalogue}
    counts, counted = formats.get("number:0"), formats.get("number:1")
    per_sheet = SHEET_ROWS - 1
    numbers = {n: name for n, name in enumerate(columns) if name in _DATA_NUMBERS}
    n_column, year_column = columns.index("n_unweighted"), columns.index("year")
    nonresponse_column, share = columns.index("item_nonresponse"), formats.get("share")
    sheet, row, part = None, 0, 0
    while batch := cursor.fetchmany(_exports.FETCH_ROWS):
        for values in batch:
            if sheet is None or row == per_sheet:
                if sheet is not None:
                    sheet.autofilter(0, 0, row, len(columns) - 1)
                sheet = _data_sheet(book, formats, names[part], columns, lang, title)
                part, row = part + 1, 0
            row += 1
            value_format, se_format = number_of[values[0]]
            for col, cell in enumerate(values):
                if cell is None:
                    continue
                name = numbers.get(col)
                if name is None:
                    if col == n_column:
                        sheet.write_number(row, col, cell, counts)
                    elif col == nonresponse_column:
                        sheet.write_number(row, col, cell, share)
                    elif col == year_column:
                        sheet.write_number(row, col, cell)
                    else:
                        sheet.write_string(row, col, cell)
                elif name == "se":
                    sheet.write_number(row, col, cell, se_format)
                elif name in ("numerator", "denominator"):
                    sheet.write_number(row, col, cell, counted)
                else:
                    sheet.write_number(row, col, cell, value_format)
    if sheet is None:
        sheet = _data_sheet(book, formats, names[0], columns, lang, title)
    sheet.autofilter(0, 0, max(row, 1), len(columns) - 1)


def _data_sheet(book: Workbook, formats: _Formats, name: str, columns: Sequence[str],
                lang: Lang, title: str) -> Worksheet:
    """A data sheet with its header row, frozen, filtered and set up for print."""
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, [column_header(c, lang) for c in columns], formats.get("header"))
    for n, column in enumerate(columns):
        sheet.set_column(n, n, _DATA_WIDTHS.get(column, 12))
    sheet.freeze_panes(1, 1)
    sheet.repeat_rows(0)
    _print_setup(sheet, title, lang)
    return sheet


def _check_complete() -> None:
    for key, pair in _WORDS.items():
        if len(pair) != 2 or not all(pair):
            raise AssertionError(f"workbook word {key!r} is missing a language")


_check_complete()
