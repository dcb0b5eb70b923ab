"""PDFs of the report pages without a browser: WeasyPrint lays the page's HTML out on A4.

``write_pdf`` prints a page written by ``write_report`` (or a territory profile) with
``templates/print.css`` on top of the page's own CSS: A4 portrait, a landscape page for each
section whose table has too many columns for portrait (and for any table that turns out wider
than its page once laid out), header rows repeated on every page a table runs over, headings
kept with what follows, a running header (the document's title), page numbers, and a colophon
on the last page (data years, sources, contact, LCI's version) in the document's language.

The PDF carries no date and no random identifier, so two writes of one page give identical
bytes; it replaces its file in one step. WeasyPrint needs Pango: where it cannot load,
``write_pdf`` raises ``PdfUnavailable``, whose message names the packages to install.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from reports._i18n import NARROW_NBSP, Lang, check_lang

PORTRAIT_MAX_COLUMNS = 10
"""A table of more columns (stub included) than this goes on an A4 landscape page: beyond it,
portrait columns would fall below the width of a value at 8pt."""

DEBIAN_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0")
"""What WeasyPrint needs from the system, as Debian and Ubuntu name it."""

_STRINGS: dict[str, tuple[str, str]] = {
    "page": ("page ", "page "),
    "of": (" / ", " sur "),
    "colophon": ("Colophon", "Colophon"),
    "document": ("Document", "Document"),
    "project": ("Project", "Projet"),
    "years": ("Data years", "Années des données"),
    "sources": ("Sources", "Sources"),
    "contact": ("Contact", "Contact"),
    "software": ("Produced with", "Produit avec"),
    "software_value": ("LCI (Learning City Indicators), version {version}",
                       "LCI (Learning City Indicators), version {version}"),
    "and": (" and ", " et "),
    "unavailable": (
        "The PDF could not be written: WeasyPrint could not load ({reason}). It needs the Pango "
        "libraries; on Debian or Ubuntu, install them with `sudo apt-get install {packages}`, "
        "then run again. The HTML pages are written either way.",
        "Le PDF n'a pas pu être écrit{nbsp}: WeasyPrint n'a pas pu se charger ({reason}). Il a "
        "besoin des bibliothèques Pango{nbsp}; sous Debian ou Ubuntu, installez-les avec "
        "`sudo apt-get install {packages}`, puis relancez. Les pages HTML sont écrites dans "
        "tous les cas.",
    ),
}


def _t(key: str, lang: Lang, **values: object) -> str:
    pair = _STRINGS[key]
    return pair[0 if lang == "en" else 1].format(nbsp=NARROW_NBSP if lang == "fr" else "",
                                                 **values)


@dataclass(frozen=True)
class Colophon:
    """What the last page of a PDF says about the document."""

    project: str                # the project's name
    title: str                  # the document's title, also the running header
    data_years: tuple[int, ...]
    sources: tuple[str, ...]    # the data sources, as readers should see them
    contact: str | None         # the project's `report.contact` setting
    version: str                # LCI's version


class PdfUnavailable(Exception):
    """WeasyPrint (or the system libraries it loads, Pango) is missing: no PDF, the rest of the
    run goes on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        """The message in ``lang`` (en, fr), naming the packages to install."""
        return _t("unavailable", check_lang(lang), reason=self.reason,
                  packages=" ".join(DEBIAN_PACKAGES))


def write_pdf(html_path: Path, pdf_path: Path, colophon: Colophon, lang: str) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4) in ``lang``, the colophon on its last page.

    Raises ``PdfUnavailable`` when WeasyPrint cannot load; leaves ``pdf_path`` as it was on any
    failure."""
    lang_ = check_lang(lang)
    weasyprint = _weasyprint()
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    page = html_path.read_text(encoding="utf-8")
    tables = _tables(page)
    wide = {t.section for t in tables if t.columns > PORTRAIT_MAX_COLUMNS}
    with _quiet():
        document, source, root = _render(weasyprint, page, html_path, tables, wide, colophon,
                                         lang_)
        overflowing = _overflowing(document, root, tables) - wide
        if overflowing:  # wider once laid out than the columns told: landscape, once more
            wide |= overflowing
            document, source, root = _render(weasyprint, page, html_path, tables, wide,
                                             colophon, lang_)
        metadata = document.metadata
        metadata.title = colophon.title
        metadata.authors = [colophon.project]
        metadata.description = None
        metadata.keywords = []
        metadata.generator = f"LCI {colophon.version}"
        metadata.created = metadata.modified = None
        metadata.lang = lang_
        identifier = hashlib.sha256(source.encode("utf-8")).hexdigest()[:32].encode("ascii")
        data = document.write_pdf(pdf_identifier=identifier)
    return _replace(pdf_path, data)


def _weasyprint() -> ModuleType:
    """WeasyPrint, imported on first use: the rest of LCI runs without it."""
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango's shared libraries not found
        raise PdfUnavailable(str(error).strip().splitlines()[0] if str(error).strip()
                             else type(error).__name__) from error
    return weasyprint


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """WeasyPrint warns about the screen-only CSS it ignores: not the reader's business."""
    loggers = [logging.getLogger(name) for name in ("weasyprint", "weasyprint.progress")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class _Table:
    """A table of the page: how many columns, and the ids of the elements that print it."""

    columns: int
    section: str  # the id of the section that holds it (goes landscape as a whole)
    box: str | None  # the id of its own wrapper, if any (never clipped in print)


def _render(weasyprint: ModuleType, page: str, html_path: Path, tables: Sequence[_Table],
            wide: set[str], colophon: Colophon, lang: Lang) -> tuple[Any, str, Any]:
    """Lay ``page`` out with the print CSS; also return the HTML laid out and its tree."""
    source = _with_print_parts(page, _print_css(tables, wide, colophon, lang),
                               _colophon_html(colophon, lang))
    html = weasyprint.HTML(string=source, base_url=str(html_path.parent.resolve()) + os.sep)
    return html.render(), source, html.etree_element


def _print_css(tables: Sequence[_Table], wide: set[str], colophon: Colophon,
               lang: Lang) -> str:
    """print.css, then what depends on the document: its title, its language's page numbers,
    and which sections start a page and which are landscape."""
    page_of = (f'"{_css_string(_t("page", lang))}" counter(page) '
               f'"{_css_string(_t("of", lang))}" counter(pages)')
    rules = [
        (resources.files("reports") / "templates" / "print.css").read_text(encoding="utf-8"),
        "@page {",
        f'  @top-left {{ content: "{_css_string(colophon.title)}"; }}',
        f'  @bottom-left {{ content: "{_css_string(colophon.project)}"; }}',
        f"  @bottom-right {{ content: {page_of}; }}",
        "}",
    ]
    sections = list(dict.fromkeys(t.section for t in tables))
    if sections:
        rules.append(", ".join(f"#{_css_ident(s)}" for s in sections)
                     + " { break-before: page; }")
    if wide:
        ordered = [s for s in sections if s in wide]
        rules.append(", ".join(f"#{_css_ident(s)}" for s in ordered) + " { page: wide; }")
        # What follows the table in a landscape section (the index's chart, taller than wide,
        # and its notes) goes back to portrait pages.
        rules.append(", ".join(f"#{_css_ident(s)} .lci-table ~ *" for s in ordered)
                     + " { page: lci-portrait; }")
    return "\n".join(rules)


def _with_print_parts(page: str, css: str, colophon: str) -> str:
    """The page with the print CSS last in its head and the colophon last in its body."""
    style = f'<style media="print">\n{css}\n</style>\n'
    lower = page.lower()
    head_end = lower.find("</head>")
    page = page[:head_end] + style + page[head_end:] if head_end >= 0 else style + page
    lower = page.lower()
    body_end = lower.rfind("</body>")
    return page[:body_end] + colophon + page[body_end:] if body_end >= 0 else page + colophon


def _colophon_html(colophon: Colophon, lang: Lang) -> str:
    years = sorted(set(colophon.data_years))
    years_text = (", ".join(str(y) for y in years[:-1]) + _t("and", lang) + str(years[-1])
                  if len(years) > 1 else "".join(str(y) for y in years))
    sources = "".join(f"<li>{escape(s)}</li>" for s in colophon.sources)
    rows = [("document", escape(colophon.title)), ("project", escape(colophon.project))]
    if years:
        rows.append(("years", escape(years_text)))
    if sources:
        rows.append(("sources", f"<ul>{sources}</ul>"))
    if colophon.contact:
        rows.append(("contact", escape(colophon.contact)))
    rows.append(("software", escape(_t("software_value", lang, version=colophon.version))))
    items = "\n".join(f"    <dt>{escape(_t(key, lang))}</dt><dd>{value}</dd>"
                      for key, value in rows)
    return (f'<section id="lci-colophon" class="lci-colophon" lang="{lang}">\n'
            f"  <h2>{escape(_t('colophon', lang))}</h2>\n"
            f"  <dl>\n{items}\n  </dl>\n</section>\n")


def _css_string(value: str) -> str:
    """``value`` inside a CSS double-quoted string."""
    return "".join(f"\\{ord(c):x} " if c in '"\\' or ord(c) < 0x20 or c == "\x7f" else c
                   for c in value)


def _css_ident(value: str) -> str:
    """``value`` as a CSS identifier (an id selector's name)."""
    out = []
    for i, c in enumerate(value):
        if c.isalnum() and not (i == 0 and c.isdigit()) or c in "-_" or ord(c) > 0x7f:
            out.append(c)
        else:
            out.append(f"\\{ord(c):x} ")
    return "".join(out)


def _tables(page: str) -> list[_Table]:
    """Every table of ``page`` with an id to print it by, in the page's order."""
    parser = _TableFinder()
    parser.feed(page)
    parser.close()
    return parser.tables


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})


class _TableFinder(HTMLParser):
    """Counts each table's columns (its ``<col>`` elements, else its widest row) and notes the
    ids of its section and of its wrapper."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of the open elements
        self._counts: list[dict[str, Any]] = []  # per open table

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._counts and tag in ("col", "td", "th", "tr"):
            counting = self._counts[-1]
            if tag == "col":
                counting["cols"] += _span(values.get("span"))
            elif tag == "tr":
                counting["row"] = 0
            else:
                counting["row"] += _span(values.get("colspan"))
                counting["widest"] = max(counting["widest"], counting["row"])
        if tag == "table":
            ancestors = [(t, i) for t, i in self._open if i]
            section = next((i for t, i in reversed(ancestors) if t == "section"), None)
            box = self._open[-1][1] if self._open else None
            self._counts.append({"cols": 0, "row": 0, "widest": 0,
                                 "section": section or box, "box": box})
        if tag not in _VOID:
            self._open.append((tag, values.get("id") or None))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """``<col/>`` counts; ``<path/>`` and the like open and close at once."""
        if tag == "col" and self._counts:
            self._counts[-1]["cols"] += _span(dict(attrs).get("span"))

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self._open):
            return
        while self._open:
            closed, _ = self._open.pop()
            if closed == "table" and self._counts:
                counting = self._counts.pop()
                if counting["section"]:
                    self.tables.append(_Table(max(counting["cols"], counting["widest"]),
                                              counting["section"], counting["box"]))
            if closed == tag:
                break


def _span(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _overflowing(document: Any, root: Any, tables: Sequence[_Table]) -> set[str]:
    """The sections of the tables laid out wider than their page's content box.

    Reads WeasyPrint's page boxes; should their shape change, no table is found wider and the
    column count stands."""
    sections = {t.box: t.section for t in tables if t.box}
    parents = {child: parent for parent in root.iter() for child in parent}
    found: set[str] = set()
    try:
        for page in document.pages:
            page_box = page._page_box
            right = page_box.content_box_x() + page_box.width
            for box in page_box.descendants():
                element = getattr(box, "element", None)
                if getattr(box, "element_tag", None) != "table" or element is None:
                    continue
                owner = parents[element].get("id") if element in parents else None
                if owner in sections and box.position_x + box.margin_width() > right + 0.5:
                    found.add(sections[owner])
    except AttributeError:
        return set()
    return found


def _replace(path: Path, data: bytes) -> Path:
    """Replace ``path`` in one step: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
