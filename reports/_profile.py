"""Territory profiles: one printable page per territory, to hand to its elected officials.

A profile opens with its key figures (the learning-city index position and the indicators the
catalogue gives a target, such as adult learning participation), then shows every indicator
the territory has a row for, by domain: its value and interval, its rank among its peers, the
distance to its target, the sex breakdown, the change since the previous year, its reference
territories (EPCI, département, région, groups) with the significance of each gap, and a trend
chart over every year of the warehouse. It computes no statistics: ranks and gaps come from
``indicators.compute.gaps``, marks from the ``status`` and ``significant`` columns.

``write_profiles`` reads what a batch of profiles needs in a few queries for the whole batch
(``_profile_data``), renders every page of the batch, then writes each one atomically. Pages
are self-contained (inline CSS and SVG) and depend on nothing but the warehouse, so two writes
give identical bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

import duckdb

from indicators import Catalogue, Indicator
from indicators.compute.gaps import target_distance
from indicators.territories import in_sentence, level_labels
from reports._i18n import NARROW_NBSP, Lang, check_lang, format_number, text
from reports._profile_charts import Point, Series, swatch, trend_chart
from reports._profile_data import (
    SEX_BREAKDOWNS,
    Batch,
    Cell,
    Place,
    ProfileError,
    read_batch,
    resolve_places,
)
from reports._profile_text import french_spaces, ordinal, t
from reports._tables import (
    FLAGGED_CSS,
    LOW_RELIABILITY_MARK,
    MISSING_MARK,
    SIGNIFICANT_DOWN_MARK,
    SIGNIFICANT_UP_MARK,
    SUPPRESSED_MARK,
    legend_items,
    mark_meaning,
)

if TYPE_CHECKING:
    from reports._pdf_batch import PdfJob

__all__ = ["BATCH_SIZE", "KEY_FIGURES", "ProfileError", "profile_path", "write_profile",
           "write_profile_pdfs", "write_profiles"]

BATCH_SIZE = 500
"""Profiles read and rendered together: the queries are per batch, the memory bounded."""
KEY_FIGURES = 4
"""Most indicators among the key figures (after the index position)."""
FOLDER = "profiles"


def write_profile(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, code: str, year: int,
                  lang: str, out_dir: Path, references: Sequence[str] | None = None, *,
                  contact: str | None = None) -> Path:
    """Write ``<out_dir>/profiles/<code>.html``, the profile of one territory (``CODE`` or
    ``LEVEL:CODE``) for ``year`` in ``lang``; ``references``: ``report.references``."""
    return write_profiles(con, catalogue, [code], year, lang, out_dir, references,
                          contact=contact)[0]


def write_profiles(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, codes: Sequence[str],
                   year: int, lang: str, out_dir: Path,
                   references: Sequence[str] | None = None, *, contact: str | None = None,
                   batch_size: int = BATCH_SIZE) -> list[Path]:
    """Write the profile of each of ``codes``, in order; returns their paths.

    Every code is resolved before anything is written, so an unknown code (a
    :class:`ProfileError` naming the nearest ones) leaves ``out_dir`` as it was. The data come
    in a few queries per batch of ``batch_size`` territories, whatever their number."""
    return [written.path for written in _write_batches(con, catalogue, codes, year, lang,
                                                       out_dir, references, contact,
                                                       batch_size)]


def write_profile_pdfs(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                       codes: Sequence[str], year: int, lang: str, out_dir: Path,
                       references: Sequence[str] | None = None, *, project: str, version: str,
                       contact: str | None = None,
                       batch_size: int = BATCH_SIZE) -> list[tuple[Path, Path]]:
    """:func:`write_profiles`, then each page printed to ``<code>.pdf`` beside it (A4, with
    its colophon: ``project``'s name, the years charted, the sources shown, ``contact`` and
    LCI's ``version``), one process per core; returns (HTML, PDF) pairs. Raises
    ``reports._pdf.PdfUnavailable`` when WeasyPrint cannot load, after the HTML pages are
    written."""
    from reports._pdf_batch import write_pdfs

    jobs = profile_pdf_jobs(con, catalogue, codes, year, lang, out_dir, references,
                            project=project, version=version, contact=contact,
                            batch_size=batch_size)
    return list(zip([job.html for job in jobs], write_pdfs(jobs), strict=True))


def profile_pdf_jobs(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                     codes: Sequence[str], year: int, lang: str, out_dir: Path,
                     references: Sequence[str] | None = None, *, project: str, version: str,
                     contact: str | None = None,
                     batch_size: int = BATCH_SIZE) -> list[PdfJob]:
    """:func:`write_profiles`, returning what printing each page to PDF needs, so that a run
    prints its report and its profiles together."""
    from reports._pdf import Colophon
    from reports._pdf_batch import PdfJob  # noqa: F811 - the class itself, at run time

    lang_ = check_lang(lang)
    return [PdfJob(written.path, written.path.with_suffix(".pdf"),
                   Colophon(project=project, title=written.title, data_years=written.years,
                            sources=written.sources, contact=contact, version=version), lang_)
            for written in _write_batches(con, catalogue, codes, year, lang_, out_dir,
                                          references, contact, batch_size)]


@dataclass(frozen=True)
class _Written:
    path: Path
    title: str
    years: tuple[int, ...]
    sources: tuple[str, ...]


def _write_batches(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, codes: Sequence[str],
                   year: int, lang: str, out_dir: Path, references: Sequence[str] | None,
                   contact: str | None, batch_size: int) -> Iterator[_Written]:
    """Resolve every code, then per batch: read, render every page, write each one."""
    lang_ = check_lang(lang)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    heading = {level: pair[lang_ == "fr"] for level, *pair in level_labels(con)}
    places = list(dict.fromkeys(resolve_places(con, codes, lang_, heading)))
    css = _template("profile.css")
    page = Template(_template("profile.html"))
    for start in range(0, len(places), batch_size):
        chunk = places[start:start + batch_size]
        batch = read_batch(con, catalogue, chunk, year, lang_, references)
        pages = [(place, _page(page, css, batch, catalogue, place, lang_, contact))
                 for place in chunk]
        for place, html in pages:
            shown = _shown(batch, catalogue, place)
            yield _Written(_write(Path(out_dir) / FOLDER / f"{_file_name(place)}.html", html),
                           _title(place, batch.year, lang_), batch.years,
                           tuple(dict.fromkeys(i.source(lang_) for i in shown)))


def profile_path(out_dir: Path, code: str, level: str | None = None) -> Path:
    """Where ``write_profile`` puts the profile of a territory code; ``level`` when another
    level has a territory of the same code (a région and a département)."""
    return Path(out_dir) / FOLDER / f"{_safe(code if level is None else f'{level}-{code}')}.html"


def _safe(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", code)


def _file_name(place: Place) -> str:
    """``<code>``, or ``<LEVEL>-<code>`` where two levels of the warehouse share the code, so
    that the profiles of both never write one file."""
    return _safe(f"{place.level}-{place.code}" if place.shared else place.code)


def _template(name: str) -> str:
    return (resources.files("reports") / "templates" / name).read_text(encoding="utf-8")


def _write(path: Path, content: str) -> Path:
    """Replace ``path`` in one step: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content.encode("utf-8"))
    os.replace(partial, path)
    return path


def _page(page: Template, css: str, batch: Batch, catalogue: Catalogue, place: Place,
          lang: Lang, contact: str | None) -> str:
    references = batch.references.get(place.key, [])
    shown = _shown(batch, catalogue, place)
    title = _title(place, batch.year, lang)
    return page.substitute(
        lang=lang, css=css, title=escape(title), kicker=escape(t("title", lang)),
        name=escape(place.name),
        subtitle=escape(t("subtitle", lang, level=place.level_label, code=place.code,
                          year=batch.year)),
        compared=escape(_compared(references, lang)),
        key_title=escape(t("key_figures", lang, year=batch.year)),
        key_figures=_key_figures(batch, catalogue, place, shown, lang),
        legend=_legend(lang),
        indicators_title=escape(t("indicators", lang, year=batch.year)),
        indicators=_indicators(batch, catalogue, place, references, shown, lang),
        methods_title=escape(t("methods", lang)),
        methods=_methods(batch, catalogue, place, shown, lang),
        footer=_footer(batch, shown, lang, contact))


def _title(place: Place, year: int, lang: Lang) -> str:
    return f"{t('title', lang)} · {place.name} · {year}"


def _shown(batch: Batch, catalogue: Catalogue, place: Place) -> list[Indicator]:
    return [i for i in catalogue if _shows(batch.cell(i.id, place))]


def _shows(cell: Cell | None) -> bool:
    """An indicator appears when the territory has a value, published or withheld."""
    return cell is not None and (cell.published or cell.status == "suppressed")


def _compared(references: Sequence[Place], lang: Lang) -> str:
    if not references:
        return t("compared.none", lang)
    names = ", ".join(f"{r.name} ({in_sentence(r.level_label)})" for r in references)
    return t("compared", lang, names=names)


# Values and their marks.

def _is_percent(indicator: Indicator) -> bool:
    return indicator.unit("en").startswith("%")


def _number(value: float, indicator: Indicator, lang: Lang, sign: bool = False) -> str:
    shown = format_number(value, indicator.decimals, lang)
    if sign and not shown.startswith("−") and float(round(value, indicator.decimals)) != 0:
        shown = "+" + shown
    return shown


def _with_unit(value: float, indicator: Indicator, lang: Lang, plain: bool = False) -> str:
    """"47.2%" / "47,2 %" for a percentage; the number alone otherwise (``plain``: a round
    number without decimals, as a target is written: "60%")."""
    number = (format_number(value, 0, lang) if plain and float(value).is_integer()
              else _number(value, indicator, lang))
    if _is_percent(indicator):
        return f"{number}{NARROW_NBSP}%" if lang == "fr" else f"{number}%"
    return number


def _distance_units(indicator: Indicator, lang: Lang) -> str:
    return t("points", lang) if _is_percent(indicator) else indicator.unit(lang)


def _value_html(cell: Cell | None, indicator: Indicator, lang: Lang, unit: bool = False) -> str:
    """A value with its mark, as the report's tables show it: — without a value, × when
    withheld, italic on a hatched ground with ◊ when of low reliability; never a withheld or
    unreliable value as a plain number."""
    if cell is None or (cell.value is None and cell.status != "suppressed"):
        return _mark("missing", MISSING_MARK, lang)
    if not cell.published:
        return _mark("suppressed", SUPPRESSED_MARK, lang)
    shown = escape(_with_unit(cell.value, indicator, lang) if unit
                   else _number(cell.value, indicator, lang))
    if cell.status == "low_reliability":
        return (f'<span class="lci-low" style="{FLAGGED_CSS}"><em>{shown}</em>&nbsp;'
                f"{_mark('low_reliability', LOW_RELIABILITY_MARK, lang)}</span>")
    return shown


def _mark(meaning: str, symbol: str, lang: Lang) -> str:
    """A mark, its meaning on hover (the legend says it in full)."""
    return (f'<span class="lci-mark lci-{meaning.replace("_", "-")}" '
            f'title="{escape(mark_meaning(meaning, lang))}">{escape(symbol)}</span>')


def _ci_html(cell: Cell | None, indicator: Indicator, lang: Lang) -> str:
    if cell is None or not cell.published or cell.ci_low is None or cell.ci_high is None:
        return ""
    interval = t("ci", lang, low=_number(cell.ci_low, indicator, lang),
                 high=_number(cell.ci_high, indicator, lang))
    return f'<span class="lci-ci">{escape(interval)}</span>'


def _signed(value: float, significant: bool | None, indicator: Indicator, lang: Lang) -> str:
    """A signed difference; ▲ or ▼ in bold when significant."""
    shown = escape(_number(value, indicator, lang, sign=True))
    if significant:
        meaning, arrow = (("significant_up", SIGNIFICANT_UP_MARK) if value > 0
                          else ("significant_down", SIGNIFICANT_DOWN_MARK))
        return (f'<strong class="lci-sig" title="{escape(mark_meaning(meaning, lang))}">'
                f"{arrow}&#8239;{shown}</strong>")
    return shown


# Key figures.

def _key_figures(batch: Batch, catalogue: Catalogue, place: Place, shown: Sequence[Indicator],
                 lang: Lang) -> str:
    cards = []
    index = batch.index_place(place)
    if index is not None and index.rank is not None:
        rank = t("key.index_rank", lang, rank=ordinal(index.rank, lang),
                 units=f"{format_number(index.units, 0, lang)} {index.units_label}")
        interval = "" if index.rank_p05 is None or index.rank_p95 is None else t(
            "key.index_interval", lang, low=_rank(index.rank_p05, lang),
            high=_rank(index.rank_p95, lang))
        cards.append(_card(escape(t("key.index", lang)), rank, escape(interval)))
    published = [i for i in shown if batch.cell(i.id, place).published]
    chosen = [i for i in published if i.target is not None][:KEY_FIGURES]
    if len(chosen) < 2:  # a catalogue without targets: its first indicators
        chosen += [i for i in published if i not in chosen][:KEY_FIGURES - len(chosen)]
    for indicator in chosen:
        cell = batch.cell(indicator.id, place)
        notes = [_ci_html(cell, indicator, lang)]
        if (target := _target_text(cell, indicator, lang)) is not None:
            notes.append(escape(target))
        if (rank := _rank_text(batch, indicator, place, lang)) is not None:
            notes.append(rank)
        label = (f'<span class="lci-code">{escape(indicator.id)}</span> '
                 f"{escape(indicator.label(lang))}")
        cards.append(_card(label, _value_html(cell, indicator, lang, unit=True),
                           "<br>".join(n for n in notes if n)))
    return "\n".join(cards)


def _card(label: str, value: str, note: str) -> str:
    return (f'    <li class="lci-card"><p class="lci-card-label">{label}</p>'
            f'<p class="lci-card-value">{value}</p>'
            f'<p class="lci-card-note">{note}</p></li>')


def _rank(value: float, lang: Lang) -> str:
    rounded = round(float(value), 1)
    return format_number(rounded, 0 if rounded.is_integer() else 1, lang)


def _rank_text(batch: Batch, indicator: Indicator, place: Place, lang: Lang) -> str | None:
    """"3rd of 18 communes" (HTML), or why there is no rank."""
    if indicator.direction == "context":
        return escape(t("rank.context", lang))
    found = batch.ranks.get((indicator.id, place.level, place.code))
    if found is None:
        return None
    rank, peers = found
    return t("rank.value", lang, rank=ordinal(rank, lang), peers=format_number(peers, 0, lang),
             level=escape(in_sentence(place.level_label)))


def _target_text(cell: Cell | None, indicator: Indicator, lang: Lang) -> str | None:
    """"12.8 points below the target of 60% — not reached" (plain text)."""
    if indicator.target is None or cell is None or not cell.published:
        return None
    distance = target_distance(cell.value, indicator.target.value, indicator.direction)
    target = _with_unit(indicator.target.value, indicator, lang, plain=True)
    gap = round(distance.distance, indicator.decimals)
    if gap == 0:
        said = t("target.at", lang, target=target)
    else:
        said = t("target.below" if gap < 0 else "target.above", lang,
                 distance=format_number(abs(gap), indicator.decimals, lang),
                 units=_distance_units(indicator, lang), target=target)
    if distance.reached is not None:
        said += " — " + t("target.reached" if distance.reached else "target.not_reached", lang)
    return said


# Indicators.

def _indicators(batch: Batch, catalogue: Catalogue, place: Place, references: Sequence[Place],
                shown: Sequence[Indicator], lang: Lang) -> str:
    if not shown:
        return f'  <p class="lci-nothing">{escape(t("nothing", lang, year=batch.year))}</p>'
    parts = []
    for domain in catalogue.domains:
        mine = [i for i in shown if i.domain == domain.code]
        if not mine:
            continue
        parts.append(f'  <section class="lci-profile-domain" '
                     f'aria-labelledby="domain-{domain.code}">\n'
                     f'  <h3 id="domain-{domain.code}">{escape(domain.label(lang))}</h3>')
        parts += [_block(batch, indicator, place, references, lang) for indicator in mine]
        parts.append("  </section>")
    return "\n".join(parts)


def _block(batch: Batch, indicator: Indicator, place: Place, references: Sequence[Place],
           lang: Lang) -> str:
    cell = batch.cell(indicator.id, place)
    facts = []
    if (rank := _rank_text(batch, indicator, place, lang)) is not None:
        facts.append((escape(t("rank", lang)), rank))
    if (change := _change_html(batch, indicator, place, lang)) is not None:
        facts.append(change)
    if (target := _target_text(cell, indicator, lang)) is not None:
        assert indicator.target is not None
        source = indicator.target.source_in(lang)
        source = french_spaces(source) if lang == "fr" else source
        facts.append((escape(t("target", lang)),
                      f'{escape(target)} <span class="lci-source">({escape(source)})</span>'))
    if (sexes := _sex_html(batch, indicator, place, lang)) is not None:
        facts.append((escape(t("sex", lang)), sexes))
    dl = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    unit = f"{indicator.unit(lang)} · {text(f'direction.{indicator.direction}', lang)}"
    return (
        f'  <article class="lci-indicator" id="indicator-{indicator.id}" '
        f'aria-labelledby="indicator-{indicator.id}-title">\n'
        f'    <h4 id="indicator-{indicator.id}-title"><span class="lci-code">'
        f"{escape(indicator.id)}</span> {escape(indicator.label(lang))}</h4>\n"
        f'    <p class="lci-unit">{escape(french_spaces(unit) if lang == "fr" else unit)}</p>\n'
        f'    <div class="lci-indicator-body">\n'
        f'      <div class="lci-facts">\n'
        f'        <p class="lci-value"><span class="lci-big">'
        f"{_value_html(cell, indicator, lang, unit=True)}</span> "
        f"{_ci_html(cell, indicator, lang)}</p>\n"
        f'        <dl class="lci-fact-list">{dl}</dl>\n'
        f"{_comparison(batch, indicator, place, references, lang)}"
        f"      </div>\n"
        f'      <figure class="lci-chart">{_chart(batch, indicator, place, references, lang)}'
        f"</figure>\n"
        f"    </div>\n"
        f"  </article>")


def _change_html(batch: Batch, indicator: Indicator, place: Place,
                 lang: Lang) -> tuple[str, str] | None:
    change = batch.changes.get((indicator.id, place.level, place.code))
    if change is None or change.change is None or change.previous_year is None:
        return None
    units = f" {_distance_units(indicator, lang)}"
    if change.significant is None:
        judged = t("change.not_tested", lang)
    else:
        judged = t("change.significant" if change.significant else "change.not_significant",
                   lang)
    return (escape(t("change", lang, previous=change.previous_year)),
            f"{_signed(change.change, change.significant, indicator, lang)}{escape(units)}, "
            f"{escape(judged)}")


def _sex_html(batch: Batch, indicator: Indicator, place: Place, lang: Lang) -> str | None:
    """Women's and men's values, when at least one of them is published."""
    cells = [batch.cell(indicator.id, place, breakdown=b) for b in SEX_BREAKDOWNS]
    if not any(c is not None and c.published for c in cells):
        return None
    return " · ".join(f"{escape(t(f'sex.{b[-1]}', lang))} {_value_html(c, indicator, lang)}"
                      for b, c in zip(SEX_BREAKDOWNS, cells, strict=True))


def _comparison(batch: Batch, indicator: Indicator, place: Place,
                references: Sequence[Place], lang: Lang) -> str:
    """The territory and each reference: value, gap and whether it is significant (nothing
    without references: the value is said above)."""
    if not references:
        return ""
    cell = batch.cell(indicator.id, place)
    rows = [f'          <tr class="lci-self"><th scope="row">{swatch(None)} '
            f"{escape(place.name)}</th><td>{_value_html(cell, indicator, lang)}</td>"
            "<td></td></tr>"]
    for n, reference in enumerate(references):
        gap = batch.gaps.get((indicator.id, *place.key, *reference.key))
        if gap is None:
            shown = ""
        else:
            key = ("gap.not_tested" if gap.significant is None else
                   "gap.significant" if gap.significant else "gap.not_significant")
            shown = (f"{_signed(gap.gap, gap.significant, indicator, lang)}"
                     f'<span class="lci-judged">{escape(t(key, lang))}</span>')
        rows.append(f'          <tr><th scope="row">{swatch(n)} {escape(reference.name)} '
                    f'<span class="lci-level">{escape(in_sentence(reference.level_label))}'
                    f"</span></th><td>"
                    f"{_value_html(batch.cell(indicator.id, reference), indicator, lang)}</td>"
                    f"<td>{shown}</td></tr>")
    body = "\n".join(rows)
    return (f'        <table class="lci-compare">\n'
            f"          <thead><tr><th scope=\"col\">{escape(t('table.territory', lang))}</th>"
            f"<th scope=\"col\">{escape(t('table.value', lang))}</th>"
            f"<th scope=\"col\">{escape(t('table.gap', lang))}</th></tr></thead>\n"
            f"          <tbody>\n{body}\n          </tbody>\n        </table>\n")


def _chart(batch: Batch, indicator: Indicator, place: Place, references: Sequence[Place],
           lang: Lang) -> str:
    """The trend over every year of the warehouse, territory and references on one scale."""
    def series(of: Place, with_ci: bool) -> Series:
        points = []
        for year in batch.years:
            cell = batch.cell(indicator.id, of, year)
            if cell is not None and cell.published:
                points.append(Point(year, cell.value, cell.status == "low_reliability",
                                    cell.ci_low if with_ci else None,
                                    cell.ci_high if with_ci else None))
        return Series(of.name, tuple(points))

    mine = series(place, True)
    others = [series(r, False) for r in references]
    said = "; ".join(
        t("chart.series", lang, name=s.name, values=", ".join(
            _said(batch, indicator, of, year, lang) for year in batch.years))
        for s, of in zip([mine, *others], [place, *references], strict=True))
    years = list(batch.years)
    key = "chart" if len(years) > 1 else "chart.one_year"
    label = t(key, lang, id=indicator.id, first=years[0], last=years[-1], series=said)
    return trend_chart(f"chart-{indicator.id}", label, years, mine, others,
                       indicator.decimals, lang)


def _said(batch: Batch, indicator: Indicator, of: Place, year: int, lang: Lang) -> str:
    """A value as the chart's accessible name says it: the number, or its mark."""
    cell = batch.cell(indicator.id, of, year)
    if cell is None or (cell.value is None and cell.status != "suppressed"):
        return MISSING_MARK
    if not cell.published:
        return SUPPRESSED_MARK
    number = _number(cell.value, indicator, lang)
    return f"{number} {LOW_RELIABILITY_MARK}" if cell.status == "low_reliability" else number


# Legend, methods and footer.

def _legend(lang: Lang) -> str:
    gap = t("legend.gap", lang, up=SIGNIFICANT_UP_MARK, down=SIGNIFICANT_DOWN_MARK)
    lines = "\n".join(f'      <li><span class="lci-legend-mark">{escape(symbol)}</span> '
                      f"{escape(meaning)}</li>" for symbol, meaning in legend_items(lang))
    return (f'    <h3>{escape(t("legend.title", lang))}</h3>\n'
            f'    <ul class="lci-marks">\n{lines}\n    </ul>\n'
            f"    <p>{escape(gap)}</p>\n"
            f'    <p>{escape(t("legend.chart", lang))}</p>')


def _methods(batch: Batch, catalogue: Catalogue, place: Place, shown: Sequence[Indicator],
             lang: Lang) -> str:
    keys = ["methods.values", "methods.rank", "methods.gap", "methods.change"]
    if any(i.target is not None for i in shown):
        keys.append("methods.target")
    paragraphs = [t(key, lang, year=batch.year) for key in keys]
    index = batch.index_place(place)
    if index is not None:
        paragraphs.append(t("methods.index", lang,
                            units=f"{format_number(index.units, 0, lang)} "
                                  f"{index.units_label}"))
    return "\n".join(f"    <p>{escape(p)}</p>" for p in paragraphs)


def _footer(batch: Batch, shown: Sequence[Indicator], lang: Lang, contact: str | None) -> str:
    sources = list(dict.fromkeys(i.source(lang) for i in shown))
    joined = (" ; " if lang == "fr" else "; ").join(sources)  # French: a space before ;
    lines = [t("sources", lang, sources=joined)] if sources else []
    if contact:
        lines.append(t("contact", lang, contact=contact))
    lines.append(t("produced", lang, year=batch.year))
    return "\n".join(f"  <p>{escape(line)}</p>" for line in lines)
