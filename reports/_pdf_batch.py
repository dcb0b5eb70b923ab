"""Many pages printed to PDF at once: the report and every profile of a run.

WeasyPrint lays pages out in Python, so threads would share one core: the pages are printed by
one process per core (started fresh, never forked from a process holding DuckDB's threads).
Each PDF is the same bytes whichever process prints it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from reports._pdf import Colophon, _weasyprint, write_pdf


@dataclass(frozen=True)
class PdfJob:
    """One page to print: the HTML, the PDF to write, its colophon and language."""

    html: Path
    pdf: Path
    colophon: Colophon
    lang: str


def write_pdfs(jobs: Sequence[PdfJob], workers: int | None = None) -> list[Path]:
    """Print every job, in parallel on up to ``workers`` processes (default: the cores);
    returns the PDFs in the jobs' order. Raises ``PdfUnavailable`` before printing anything
    when WeasyPrint cannot load."""
    if not jobs:
        return []
    _weasyprint()  # said once, here, rather than by every process
    count = min(len(jobs), workers or os.cpu_count() or 1)
    if count == 1:
        return [_print(job) for job in jobs]
    with ProcessPoolExecutor(count, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_print, jobs))


def _print(job: PdfJob) -> Path:
    return write_pdf(job.html, job.pdf, job.colophon, job.lang)
