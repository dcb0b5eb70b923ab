"""The annual report: one self-contained HTML page, plus each domain table on its own.

When the warehouse holds the learning-city index of the year (``composite_*`` tables), the page
opens with it: scores, rank intervals and a chart, plus its paragraph in the methods; when the
index was not built for lack of data, the introduction says why in one sentence.

The report claims no more than the data gives: the introduction counts the indicators with
values, per domain; the methods list the others with the reason (``indicator_availability``
when the warehouse has it) and give a domain without any value no table of empty cells;
changes are labelled with the years they are measured from; and a year without any value gives
a report saying so, without tables.

Every table is rendered before anything is written, so a failure leaves ``out_dir`` as it was;
each file is then replaced atomically. Nothing in the page depends on the clock or on random
ids, so two runs over the same warehouse give byte-identical files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

import duckdb

from indicators import Catalogue, Indicator
from indicators.compute.options import ReliabilityRules
from reports._composite import (
    SECTION_ID,
    index_methods,
    index_not_built_sentence,
    index_section,
    index_title,
)
from reports._i18n import (
    Lang,
    change_period,
    check_lang,
    format_number,
    format_percent,
    kflc_codes,
    kflc_name,
    localised,
    text,
)
from reports._tables import (
    ROWS_PER_LEVEL,
    aggregate_coverage,
    build_domain_table,
    legend_items,
    levels_shown,
    shading_text,
    shown_sentence,
    territory_rows,
)
from reports._validation import data_quality_section

_STRINGS: dict[str, tuple[str, str]] = {
    "report.mark": ("{mark}: {meaning}", "{mark}\u00a0: {meaning}"),
}


def _t(key: str, lang: Lang, **values: object) -> str:
    return _STRINGS[key][0 if lang == "en" else 1].format(**values)


@dataclass(frozen=True)
class ReportFiles:
    """Where ``write_report`` put its files."""

    report: Path
    tables: tuple[Path, ...]

    @property
    def all(self) -> tuple[Path, ...]:
        return (self.report, *self.tables)


def write_report(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    year: int,
    lang: str,
    out_dir: Path,
    territories: Sequence[str] | None = None,
    title: str | None = None,
    rows_per_level: int = ROWS_PER_LEVEL,
    highlight: Sequence[str] | None = None,
) -> ReportFiles:
    """Write ``report.html`` and ``tables/<DOMAIN>.html`` for ``year`` in ``lang`` (en, fr).

    A table lists at most ``rows_per_level`` territories of a level; a larger level shows its
    distribution, and the index its first and last units, so the page stays readable (and
    quick to write) whatever the number of territories; the introduction and each table say
    what they show. ``highlight`` names the territories the report is about: first in their
    level, in bold, the others of the level after them by name."""
    lang_ = check_lang(lang)
    out_dir = Path(out_dir)
    page_title = title or text("report.title", lang_, year=year)
    css = _template("report.css")
    domains = [d for d in catalogue.domains if catalogue.in_domain(d.code)]
    coverage = _coverage(con, catalogue, year, lang_)
    # A domain without any value has no table of empty cells: the introduction counts it, the
    # methods say why; a year without any value has no table at all.
    shown = [d for d in domains if coverage.count(d.code)]
    covered = aggregate_coverage(con, year, list(territory_rows(
        con, year, lang_, territories, rows_per_level)["territory_key"])) if shown else {}
    tables = {d.code: build_domain_table(con, catalogue, d.code, year, lang_, territories,
                                         rows_per_level, highlight, covered).as_raw_html()
              for d in shown}
    what_shown = shown_sentence(levels_shown(con, year, rows_per_level), lang_, rows_per_level,
                                len(territories) if territories else None) if shown else None
    index_html = index_section(con, catalogue, year, lang_, territories, rows_per_level,
                               highlight=highlight)  # None without composite tables
    quality_html = data_quality_section(con, lang_)  # None without validation records
    report = Template(_template("report.html")).substitute(
        lang=lang_,
        title=escape(page_title),
        css=css,
        reference=escape(text("report.reference_year", lang_, year=year,
                              period=change_period(year, _compared_years(con, year), lang_))),
        introduction_title=escape(text("report.introduction", lang_)),
        introduction=_introduction(catalogue, coverage, len(domains), year, lang_,
                                   index_not_built_sentence(con, year, lang_), what_shown),
        contents_title=escape(text("report.contents", lang_)),
        contents=_contents(catalogue, [d.code for d in shown], lang_, index_html is not None),
        sections="\n".join([*([index_html] if index_html else []),
                            *(_domain_section(catalogue, code, html, lang_, what_shown)
                              for code, html in tables.items()),
                            *([quality_html] if quality_html else [])]),
        methods=_methods(con, catalogue, [d.code for d in domains], lang_,
                         index_methods(con, year, lang_) if index_html else None,
                         _missing_entries(catalogue, coverage, year, lang_), year),
    )
    table_page = Template(_template("table.html"))
    written = []
    for domain in shown:
        page = table_page.substitute(lang=lang_, css=css, table=tables[domain.code],
                                     title=escape(f"{domain.label(lang_)} · {year}"))
        written.append(_write(out_dir / "tables" / f"{domain.code}.html", page))
    return ReportFiles(report=_write(out_dir / "report.html", report), tables=tuple(written))


def _template(name: str) -> str:
    return (resources.files("reports") / "templates" / name).read_text(encoding="utf-8")


def _write(path: Path, content: str) -> Path:
    """Replace ``path`` in one step: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content.encode("utf-8"))
    os.replace(partial, path)
    return path


def _introduction(catalogue: Catalogue, coverage: _Coverage, n_domains: int, year: int,
                  lang: Lang, index_absent: str | None, what_shown: str | None = None) -> str:
    if not coverage.any_value:
        nothing = text("report.intro_nothing", lang, year=year, n_indicators=len(catalogue))
        return "\n".join(f"  <p>{escape(line)}</p>" for line in (nothing, index_absent) if line)
    items = "\n".join(f"    <li>{escape(_t('report.mark', lang, mark=symbol, meaning=meaning))}"
                      "</li>" for symbol, meaning in legend_items(lang))
    what = text("report.intro_what", lang, n_indicators=len(catalogue), n_domains=n_domains,
                n_with=len(coverage.with_values), year=year)
    counts = "\n".join(
        "    <li>" + escape(text("report.coverage_item", lang, domain=d.label(lang), code=d.code,
                                 n_with=coverage.count(d.code), n_total=len(members))) + "</li>"
        for d in catalogue.domains if (members := catalogue.in_domain(d.code)))
    parts = [f"  <p>{escape(what)}</p>",
             f"  <p>{escape(text('report.coverage_title', lang, year=year))}</p>",
             f'  <ul class="lci-coverage">\n{counts}\n  </ul>']
    if what_shown:
        parts.append(f'  <p class="lci-shown">{escape(what_shown)}</p>')
    if index_absent:
        parts.append(f'  <p class="lci-index-absent">{escape(index_absent)}</p>')
    parts += [f"  <p>{escape(shading_text(lang))}</p>",
              f"  <p>{escape(text('report.intro_marks', lang))}</p>",
              f'  <ul class="lci-marks">\n{items}\n  </ul>']
    return "\n".join(parts)


@dataclass(frozen=True)
class _Coverage:
    """Which indicators have a value in the year, and for the others what the data shows."""

    with_values: frozenset[str]
    statuses: dict[str, tuple[str, ...]]  # indicator without value: statuses of its rows
    not_computed: dict[str, str]  # indicator the data could not give: why
    domains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # domain: indicators

    @property
    def any_value(self) -> bool:
        return bool(self.with_values)

    def count(self, domain: str) -> int:
        """How many of the domain's indicators have a value."""
        return sum(1 for i in self.domains.get(domain, ()) if i in self.with_values)


def _coverage(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
              lang: Lang = "en") -> _Coverage:
    """Counted from ``indicator_values`` (what is published), reasons from
    ``indicator_availability`` when the warehouse has it."""
    rows = con.execute(
        "SELECT indicator_id, bool_or(value IS NOT NULL) AS has_value, "
        "list_sort(list_distinct(list(status))) AS statuses "
        "FROM indicator_values WHERE year = ? GROUP BY indicator_id", [year]).fetchall()
    with_values = frozenset(i for i, has, _ in rows if has)
    statuses = {i: tuple(s) for i, has, s in rows if not has}
    not_computed: dict[str, str] = {}
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema()"
    ).fetchall()}
    if "indicator_availability" in tables:
        columns = {c[0] for c in con.execute("DESCRIBE indicator_availability").fetchall()}
        reason = "reason_fr" if lang == "fr" and "reason_fr" in columns else "reason"
        not_computed = {i: text or "" for i, text in con.execute(
            f"SELECT indicator_id, {reason} FROM indicator_availability WHERE NOT computed "
            f"ORDER BY ordinal").fetchall()}
    domains = {d.code: tuple(i.id for i in catalogue.in_domain(d.code))
               for d in catalogue.domains}
    return _Coverage(with_values, statuses, not_computed, domains)


def _compared_years(con: duckdb.DuckDBPyConnection, year: int) -> set[int]:
    """The years the changes of ``year`` are measured from (changes with a value only)."""
    return {int(r[0]) for r in con.execute(
        "SELECT DISTINCT previous_year FROM indicator_changes "
        "WHERE year = ? AND change IS NOT NULL AND previous_year IS NOT NULL", [year]
    ).fetchall()}


def _missing_entries(catalogue: Catalogue, coverage: _Coverage, year: int,
                     lang: Lang) -> list[str]:
    """One list item per indicator without a value in ``year``, with the reason."""
    entries = []
    for indicator in catalogue:
        if indicator.id in coverage.with_values:
            continue
        if indicator.id in coverage.not_computed:
            why = text("report.missing_not_computed", lang,
                       reason=coverage.not_computed[indicator.id])
        elif indicator.id in coverage.statuses:
            named = [text(f"status.{s}", lang) if s in ("missing", "suppressed") else s
                     for s in coverage.statuses[indicator.id]]
            why = text("report.missing_no_publishable", lang, year=year,
                       statuses=", ".join(named))
        else:
            why = text("report.missing_no_row", lang, year=year)
        entries.append(f'    <li><span class="lci-code">{escape(indicator.id)}</span> '
                       f"{escape(indicator.label(lang))}: {escape(why)}</li>")
    return entries


def _contents(catalogue: Catalogue, codes: list[str], lang: Lang, with_index: bool) -> str:
    lines = [f'    <li><a href="#{SECTION_ID}">{escape(index_title(lang))}</a></li>'] \
        if with_index else []
    lines += [f'    <li><a href="#domain-{code}">{escape(catalogue.domain(code).label(lang))}'
              "</a></li>" for code in codes]
    lines.append(f'    <li><a href="#methods">{escape(text("report.methods", lang))}</a></li>')
    return "\n".join(lines)


def _domain_section(catalogue: Catalogue, code: str, table_html: str, lang: Lang,
                    what_shown: str | None = None) -> str:
    domain = catalogue.domain(code)
    shown = f'  <p class="lci-shown">{escape(what_shown)}</p>\n' if what_shown else ""
    return (f'<section id="domain-{code}" class="lci-domain" '
            f'aria-labelledby="domain-{code}-title">\n'
            f'  <h2 id="domain-{code}-title">{escape(domain.label(lang))} '
            f'<span class="lci-domain-code">{escape(code)}</span></h2>\n'
            f'  <p class="lci-domain-description">{escape(domain.description(lang))}</p>\n'
            f"{shown}"
            f'  <div class="lci-table">\n{table_html}\n  </div>\n'
            "</section>")


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = $t "
                            "AND column_name = $c", {"t": table, "c": column}).fetchall()[0][0])


def _item_nonresponse(con: duckdb.DuckDBPyConnection,
                      year: int | None) -> dict[str, tuple[float, float]]:
    """indicator → (median, largest) share of unanswered questions over its cells of the
    year (breakdown totals), for the indicators that publish one (the survey's)."""
    if year is None or not _has_column(con, "indicator_values", "item_nonresponse"):
        return {}  # a warehouse written before item non-response was published
    rows = con.execute(
        "SELECT indicator_id, median(item_nonresponse), max(item_nonresponse) "
        "FROM indicator_values WHERE year = $year AND breakdown = 'total' "
        "AND item_nonresponse IS NOT NULL GROUP BY indicator_id", {"year": year}).fetchall()
    return {i: (float(m), float(x)) for i, m, x in rows}


def _reliability_text(con: duckdb.DuckDBPyConnection, lang: Lang) -> str:
    """The reliability rules as the run applied them (``reliability_rules``; a warehouse
    without it was judged by the defaults, which it states then)."""
    defaults = ReliabilityRules()
    rules = (defaults.min_df, defaults.min_effective_n, defaults.max_interval_width,
             defaults.symmetric_cv, defaults.max_item_nonresponse)
    if _has_column(con, "reliability_rules", "max_item_nonresponse"):
        found = con.execute("SELECT min_df, min_effective_n, max_interval_width, symmetric_cv, "
                            "max_item_nonresponse FROM reliability_rules").fetchall()
        rules = found[0] if found else rules
    min_df, effective, width, symmetric, nonresponse = rules
    return text("report.reliability_text", lang, min_df=format_number(min_df, 0, lang),
                min_effective_n=format_number(effective, 0, lang),
                max_interval_width=format_number(width, 0, lang),
                cv_rule=text("report.cv_symmetric" if symmetric else "report.cv_plain", lang),
                max_item_nonresponse=format_percent(nonresponse, lang))


def _methods(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, codes: list[str],
             lang: Lang, index_methods_html: str | None = None,
             missing: Sequence[str] = (), year: int | None = None) -> str:
    nonresponse = _item_nonresponse(con, year)
    parts = [
        '<section id="methods" class="lci-methods" aria-labelledby="methods-title">',
        f'  <h2 id="methods-title">{escape(text("report.methods", lang))}</h2>',
        f"  <p>{escape(text('report.methods_intro', lang))}</p>",
    ]
    for code in codes:
        parts.append(f"  <h3>{escape(catalogue.domain(code).label(lang))}</h3>")
        parts.append('  <div class="lci-indicators">')
        parts += [_indicator_entry(i, lang, nonresponse.get(i.id), year)
                  for i in catalogue.in_domain(code)]
        parts.append("  </div>")
    if missing:
        parts += [f"  <h3>{escape(text('report.missing_title', lang, year=year))}</h3>",
                  f"  <p>{escape(text('report.missing_intro', lang, year=year))}</p>",
                  '  <ul class="lci-missing">', *missing, "  </ul>"]
    if index_methods_html:
        parts.append(index_methods_html)
    parts += [
        f"  <h3>{escape(text('report.reliability_title', lang))}</h3>",
        f"  <p>{escape(_reliability_text(con, lang))}</p>",
        f"  <h3>{escape(text('report.changes_title', lang))}</h3>",
        f"  <p>{escape(text('report.changes_text', lang))}</p>",
        f"  <h3>{escape(text('report.kflc_title', lang))}</h3>",
        '  <dl class="lci-kflc">',
        *(f"    <dt>{code}</dt><dd>{escape(kflc_name(code, lang))}</dd>"
          for code in kflc_codes()),
        "  </dl>",
        "</section>",
    ]
    return "\n".join(parts)


def _indicator_entry(indicator: Indicator, lang: Lang,
                     nonresponse: tuple[float, float] | None = None,
                     year: int | None = None) -> str:
    """One definition card: everything needed to read and reproduce the indicator, and for a
    survey indicator the share of unanswered questions among its cells of the year."""
    fields = [
        ("field.id", indicator.id),
        ("field.definition", indicator.description(lang)),
        ("field.unit", indicator.unit(lang)),
        ("field.direction", text(f"direction.{indicator.direction}", lang)),
        ("field.source", indicator.source(lang)),
        ("field.kflc", ", ".join(f"{c} ({kflc_name(c, lang)})" for c in indicator.kflc)),
        ("field.reference", localised(indicator.reference, indicator.reference_fr, lang)
         if indicator.reference else text("field.none", lang)),
        ("field.target", _target(indicator, lang)),
        ("field.method", _method(indicator, lang)),
    ]
    if nonresponse is not None:
        fields.append(("field.item_nonresponse", text(
            "item_nonresponse.text", lang, median=format_percent(nonresponse[0], lang),
            largest=format_percent(nonresponse[1], lang), year=year)))
    rows = "\n".join(f"      <dt>{escape(text(key, lang))}</dt><dd>{escape(value)}</dd>"
                     for key, value in fields)
    return (f'    <article class="lci-indicator" id="indicator-{indicator.id}">\n'
            f'      <h4><span class="lci-code">{indicator.id}</span> '
            f"{escape(indicator.label(lang))}</h4>\n"
            f"      <dl>\n{rows}\n      </dl>\n"
            "    </article>")


def _target(indicator: Indicator, lang: Lang) -> str:
    if indicator.target is None:
        return text("field.none", lang)
    value = indicator.target.value
    number = format_number(value, 0 if float(value).is_integer() else indicator.decimals, lang)
    return text("target.text", lang, value=f"{number} {indicator.unit(lang)}",
                source=localised(indicator.target.source, indicator.target.source_fr, lang))


def _method(indicator: Indicator, lang: Lang) -> str:
    return text(f"method.{indicator.kind}", lang, min_n=indicator.min_n,
                reliable_n=indicator.reliable_n, max_cv=format_percent(indicator.max_cv, lang))
