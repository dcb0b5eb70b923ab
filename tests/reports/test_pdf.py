"""The annual report printed to PDF by WeasyPrint, checked page by page as a reader gets it."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache, cached_property
from html import unescape
from importlib.metadata import version
from pathlib import Path

import pytest

from indicators import load_catalogue
from pipelines.config import bundled_sample_config, load_config
from reports._composite import index_title
from reports._i18n import text
from reports._pdf import Colophon, PdfUnavailable, write_pdf

pdfium = pytest.importorskip("pypdfium2")

MM = 72 / 25.4  # PDF points per millimetre
A4 = (595.28, 841.89)
BAND = 6 * MM  # the outer band of every page, where nothing may be drawn
CONTACT = "Observatoire des territoires apprenants, observatoire@example.org"


@cache
def colophon(lang: str) -> Colophon:
    """The colophon a run of the sample project gives its PDFs (read once)."""
    config = load_config(bundled_sample_config())
    sources = sorted({i.source(lang) for i in load_catalogue()})
    return Colophon(project=config.name, title=config.report.title[lang],
                    data_years=tuple(config.years), sources=tuple(sources), contact=CONTACT,
                    version=version("lci"))


@dataclass
class Printed:
    """A report page and its PDF, opened with pdfium."""

    html: Path
    pdf: Path
    lang: str

    @cached_property
    def doc(self) -> pdfium.PdfDocument:
        return pdfium.PdfDocument(str(self.pdf))

    @cached_property
    def texts(self) -> list[str]:
        return [page.get_textpage().get_text_range() for page in self.doc]

    @cached_property
    def page_html(self) -> str:
        return self.html.read_text(encoding="utf-8")


def flat(text: str) -> str:
    """Text without white space and hyphens: a name wrapped over two lines (pdfium gives a
    hyphen at a line's end as U+FFFE) still reads as one."""
    return re.sub(r"[\s\u00ad\ufffe-]+", "", text)


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\ufffe", "")).strip()


def margins(size: tuple[float, float]) -> tuple[float, float]:
    """Top and bottom page margins of print.css, in points, for a page of ``size``."""
    return (18 * MM, 16 * MM) if size[0] < size[1] else (15 * MM, 13 * MM)


@pytest.fixture(scope="module", params=["en", "fr"])
def printed(request, tmp_path_factory, sample_run) -> Printed:
    html = sample_run(request.param).out / "public" / "2024" / "report.html"
    pdf = write_pdf(html, tmp_path_factory.mktemp(f"pdf-{request.param}") / "report.pdf",
                    colophon(request.param), request.param)
    return Printed(html, pdf, request.param)


def test_the_report_prints_on_far_fewer_a4_pages_than_from_a_browser(printed):
    assert 15 <= len(printed.doc) <= 34  # printed from a browser: 47 pages


def test_every_page_is_a4_portrait_or_landscape(printed):
    for page in printed.doc:
        width, height = page.get_size()
        assert sorted((round(width), round(height))) == [round(A4[0]), round(A4[1])]


def test_a_table_too_wide_for_portrait_is_on_landscape_pages_and_prose_on_portrait(printed):
    methods = {"en": "Methods and definitions", "fr": "Méthodes et définitions"}
    index_page = next(i for i, t in enumerate(printed.texts) if "Domaines d'action" in t
                      or "Action domains" in t)
    width, height = printed.doc[index_page].get_size()
    assert width > height and index_title(printed.lang) in printed.texts[index_page]
    methods_page = next(i for i, t in enumerate(printed.texts) if methods[printed.lang] in t
                        and i > index_page + 1)
    width, height = printed.doc[methods_page].get_size()
    assert width < height


def test_the_contents_give_the_page_each_section_starts_on(printed):
    entries = [(spaced(m.group(1)), int(m.group(2))) for m in
               re.finditer(r"^(?:\d+\.\s*)?(.+?)\s*\.{3,}\s*(\d+)\s*$", printed.texts[0],
                           flags=re.M)]
    assert len(entries) >= 10  # the index, eight domains and the methods
    headings = [spaced(unescape(re.sub(r"<[^>]+>", " ", h)))
                for h in re.findall(r"<h2[^>]*>(.*?)</h2>", printed.page_html, flags=re.S)]
    for label, number in entries:
        heading = next(h for h in headings if h.startswith(label))  # with the domain's code
        assert heading in spaced(printed.texts[number - 1]), (heading, number)
        assert all(heading not in spaced(t) for t in printed.texts[1:number - 1]), heading


def test_a_table_continued_on_the_next_page_repeats_its_title_and_header_rows(printed):
    entries = [(spaced(m.group(1)), int(m.group(2))) for m in
               re.finditer(r"^(?:\d+\.\s*)?(.+?)\s*\.{3,}\s*(\d+)\s*$", printed.texts[0],
                           flags=re.M)]
    stubhead = text("table.stubhead", printed.lang)
    continued = 0
    # The domains, between the index (its chart follows its table) and the methods.
    for (label, first), (_, after) in zip(entries[1:-1], entries[2:], strict=True):
        for number in range(first, after):
            page = spaced(printed.texts[number - 1])
            assert label in page and stubhead in page, (label, number)
        continued += after - first - 1
    assert continued >= 1  # some table of the sample runs over two pages


def test_every_page_has_its_number_and_the_running_header(printed):
    total = len(printed.doc)
    title = colophon(printed.lang).title
    of = " / " if printed.lang == "en" else " sur "
    for number, page in enumerate(printed.doc, start=1):
        width, height = page.get_size()
        top, bottom = margins((width, height))
        textpage = page.get_textpage()
        header = textpage.get_text_bounded(0, height - top, width, height)
        footer = textpage.get_text_bounded(0, 0, width, bottom)
        assert spaced(title) in spaced(header), number
        assert f"page {number}{of}{total}" in spaced(footer), number


def test_nothing_is_drawn_in_the_outer_band_of_any_page(printed):
    scale = 0.5
    band = round(BAND * scale)
    for number, page in enumerate(printed.doc, start=1):
        image = page.render(scale=scale).to_pil().convert("L")
        w, h = image.size
        for box in ((0, 0, w, band), (0, h - band, w, h), (0, 0, band, h), (w - band, 0, w, h)):
            darkest, _ = image.crop(box).getextrema()
            assert darkest >= 250, f"page {number}: something drawn near the edge {box}"


def test_every_territory_of_every_table_is_printed(printed):
    everything = flat("".join(printed.texts))
    tables = re.findall(r"<table.*?</table>", printed.page_html, flags=re.S)
    assert len(tables) >= 9  # the index and eight domains
    for table in tables:
        names = [unescape(re.sub(r"<[^>]+>", "", n))
                 for n in re.findall(r'<th scope="row"[^>]*>(.*?)</th>', table, flags=re.S)]
        assert names
        missing = [n for n in names if flat(n) not in everything]
        assert not missing


def test_no_page_ends_with_a_heading(printed):
    headings = {spaced(unescape(re.sub(r"<[^>]+>", "", h)))
                for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", printed.page_html,
                                    flags=re.S)}
    headings.add("Colophon")
    for number in range(1, len(printed.doc)):  # the last page is the colophon
        page = printed.doc[number - 1]
        width, height = page.get_size()
        top, bottom = margins((width, height))
        textpage = page.get_textpage()
        lines = []
        for i in range(textpage.count_rects()):
            left, low, right, high = textpage.get_rect(i)
            if low >= bottom - 1 and high <= height - top + 1:
                lines.append((low, spaced(textpage.get_text_bounded(0, low, width, high))))
        _, last = min(lines)
        assert not any(len(last) >= 3 and h.endswith(last) for h in headings), (number, last)


def test_the_colophon_closes_the_document_with_the_years_sources_contact_and_version(printed):
    last = spaced(printed.texts[-1])
    years = {"en": "2023 and 2024", "fr": "2023 et 2024"}[printed.lang]
    assert "Colophon" in last and years in last and CONTACT in last
    assert version("lci") in last and "LCI (Learning City Indicators)" in last
    assert all(spaced(s) in last for s in colophon(printed.lang).sources)


def test_the_french_pdf_has_french_page_numbers_and_no_english_words(printed):
    if printed.lang != "fr":
        pytest.skip("the French PDF only")
    everything = spaced(" ".join(printed.texts))
    assert "page 1 sur " in everything and "page 1 / " not in everything
    for english in ("Contents", "Territory", "Estimate", "Change", "Methods", "Data years",
                    "Produced with", "About this report", "Learning-city index", "Project"):
        assert english not in everything, english
    assert "Années des données" in everything and "Produit avec" in everything


def test_a_second_write_gives_identical_bytes(printed, tmp_path):
    if printed.lang != "fr":
        pytest.skip("once is enough")
    again = write_pdf(printed.html, tmp_path / "again.pdf", colophon("fr"), "fr")
    assert again.read_bytes() == printed.pdf.read_bytes()
    assert not list(tmp_path.glob(".*partial"))


def test_the_pdf_says_what_it_is_and_carries_no_date(printed):
    data = printed.pdf.read_bytes()
    assert b"/CreationDate" not in data and b"/ModDate" not in data
    assert printed.doc.get_metadata_dict()["Title"] == colophon(printed.lang).title


def small_page(tmp_path: Path, body: str, title: str = "A small page") -> Path:
    page = tmp_path / "page.html"
    page.write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                    f"<title>{title}</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    return page


def small_colophon(title: str = 'The "best" city \\ report') -> Colophon:
    return Colophon(project="Test project", title=title, data_years=(2024,),
                    sources=("A register",), contact=None, version="9.9")


def test_a_table_of_few_columns_but_wider_than_portrait_once_laid_out_goes_landscape(tmp_path):
    cells = "".join(f"<td>{'W' * 24}{i}</td>" for i in range(6))
    table = (f'<section id="wide-one"><h2>A wide table</h2><div id="box"><table>'
             f'<thead><tr><th scope="col">Name</th>{"<th>h</th>" * 6}</tr></thead>'
             f'<tbody><tr><th scope="row">Row</th>{cells}</tr></tbody></table></div>'
             f"</section>")
    pdf = write_pdf(small_page(tmp_path, table), tmp_path / "page.pdf", small_colophon(), "en")
    doc = pdfium.PdfDocument(str(pdf))
    width, height = doc[0].get_size()
    assert width > height  # the table's page
    width, height = doc[len(doc) - 1].get_size()
    assert width < height  # the colophon's


def test_a_title_with_quotes_and_backslashes_prints_as_written(tmp_path):
    title = 'The "best" city \\ report'
    pdf = write_pdf(small_page(tmp_path, "<p>One line.</p>"), tmp_path / "page.pdf",
                    small_colophon(title), "en")
    doc = pdfium.PdfDocument(str(pdf))
    assert all(title in doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Contact" not in doc[len(doc) - 1].get_textpage().get_text_range()  # none given


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_colophon_matches_its_snapshot(lang, file_regression):
    from reports._pdf import _colophon_html

    file_regression.check(_colophon_html(colophon(lang), lang), basename=f"colophon_{lang}",
                          extension=".html")


def test_without_weasyprint_the_pdf_is_unavailable_with_the_packages_to_install(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint fails
    page = small_page(tmp_path, "<p>One line.</p>")
    with pytest.raises(PdfUnavailable) as raised:
        write_pdf(page, tmp_path / "page.pdf", small_colophon(), "fr")
    assert not (tmp_path / "page.pdf").exists()
    for lang in ("en", "fr"):
        assert "libpango-1.0-0 libpangoft2-1.0-0" in raised.value.message(lang)
    assert raised.value.message("en").startswith("The PDF could not be written")
    assert raised.value.message("fr").startswith("Le PDF n'a pas pu être écrit\u202f:")
    assert str(raised.value) == raised.value.message("en")
