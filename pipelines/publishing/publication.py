"""A year's publication: the annual report and its tables, the territory profiles, their PDFs
and the exports, written into ``public/<year>/``.

``lci run`` writes it and ``lci audit`` writes it again from the published values to compare
byte for byte, so both call :func:`write_publication` with the same :class:`Publication`: the
project's settings, read from the project itself or from the copy of its file that the public
bundle keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import yaml

from indicators import Catalogue
from pipelines.config import ExportSettings, ProjectConfig, ReportSettings
from reports import write_exports, write_report
from reports._pdf import Colophon, PdfUnavailable
from reports._pdf_batch import PdfJob, write_pdfs
from reports._profile import profile_pdf_jobs, write_profiles
from reports._tables import ROWS_PER_LEVEL

Warn = Callable[[str, str], None]
"""``warn(english, french)``: something the publication could not do, said to the person."""


@dataclass(frozen=True)
class Publication:
    """What a year's publication is made of besides the warehouse."""

    project: str
    report: ReportSettings
    exports: ExportSettings

    @classmethod
    def of(cls, config: ProjectConfig) -> Publication:
        return cls(config.name, config.report, config.exports)

    @classmethod
    def from_project_file(cls, path: Path) -> Publication:
        """The settings of the project file a bundle keeps (its sources need not exist);
        a file that cannot be read gives the defaults, and the audit then reports the
        differences it causes."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return cls(str(raw.get("name") or ""),
                       ReportSettings.model_validate(raw.get("report") or {}),
                       ExportSettings.model_validate(raw.get("exports") or {}))
        except (OSError, ValueError, AttributeError, yaml.YAMLError):
            return cls("", ReportSettings(), ExportSettings())


def write_publication(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                      lang: str, year_dir: Path, publication: Publication,
                      warn: Warn | None = None) -> list[Path]:
    """Write the year's report, profiles, PDFs and exports; returns every path written.

    When PDFs cannot be made on this machine (no Pango), the HTML pages are still written
    and ``warn`` says what to install."""
    settings = publication.report
    title = settings.title.get(lang)  # type: ignore[call-overload]
    territories = settings.territories or None
    files = write_report(con, catalogue, year, lang, year_dir, territories=territories,
                         title=title, rows_per_level=settings.rows_per_level,
                         highlight=settings.highlight or None)
    written = list(files.all)
    pdf = wants_pdf(settings)
    codes = profile_codes(con, year, settings)
    jobs: list[PdfJob] = []
    if pdf:
        about = colophon(con, catalogue, lang, publication, _page_title(files.report))
        jobs.append(PdfJob(files.report, files.report.with_suffix(".pdf"), about, lang))
    if codes and pdf:
        jobs += profile_pdf_jobs(con, catalogue, codes, year, lang, year_dir,
                                 settings.references, project=publication.project,
                                 version=_version(), contact=settings.contact)
        written += [job.html for job in jobs[1:]]
    elif codes:
        written += write_profiles(con, catalogue, codes, year, lang, year_dir,
                                  settings.references, contact=settings.contact)
    try:
        written += write_pdfs(jobs)
    except PdfUnavailable as missing:
        if warn is not None:
            warn(missing.message("en"), missing.message("fr"))
    written += write_exports(con, catalogue, year_dir, lang, publication.exports.csv,
                             territories, year, title, settings.rows_per_level)
    return written


def wants_pdf(settings: ReportSettings) -> bool:
    """Whether the publication prints its pages to PDF (``report.pdf``)."""
    return settings.pdf


def profile_codes(con: duckdb.DuckDBPyConnection, year: int,
                  settings: ReportSettings) -> list[str]:
    """The territories that get a profile: the report's own when it lists them; otherwise
    every territory with a value, when there are no more than a table lists
    (``rows_per_level``) — a national project makes its profiles with ``lci profile``."""
    if settings.territories:
        return list(settings.territories)
    cap = settings.rows_per_level or ROWS_PER_LEVEL
    rows = con.execute(
        "SELECT DISTINCT territory_level, territory_code FROM indicator_values "
        "WHERE year = ? AND value IS NOT NULL ORDER BY territory_level, territory_code "
        "LIMIT ?", [year, cap + 1]).fetchall()
    if len(rows) > cap:
        return []
    return [f"{level}:{code}" for level, code in rows]


def colophon(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, lang: str,
             publication: Publication, title: str) -> Colophon:
    """The PDFs' last page: the years and sources of the published values, LCI's version
    and the project's contact."""
    years = tuple(int(y) for (y,) in con.execute(
        "SELECT DISTINCT year FROM indicator_values WHERE value IS NOT NULL ORDER BY year"
    ).fetchall())
    published = {i for (i,) in con.execute(
        "SELECT DISTINCT indicator_id FROM indicator_values WHERE value IS NOT NULL"
    ).fetchall()}
    sources = tuple(dict.fromkeys(
        getattr(i.source, lang) for i in catalogue if i.id in published))
    return Colophon(project=publication.project, title=title, data_years=years,
                    sources=sources, contact=publication.report.contact, version=_version())


def _page_title(page: Path) -> str:
    """The page's own <title>, which the running header of its PDF repeats."""
    text = page.read_text(encoding="utf-8")
    start = text.find("<title>")
    end = text.find("</title>", start)
    if start < 0 or end < 0:
        return page.stem
    return unescape(text[start + len("<title>"):end]).strip()


def _version() -> str:
    try:
        return version("lci")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"
