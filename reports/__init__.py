"""Reports: comparison tables, the annual report, territory profiles, their PDFs and the
exports, in English and French.

Reads ``indicator_values`` (and ``indicator_changes``, ``territory_groups``) from any DuckDB
connection, plus the catalogue's metadata; computes no statistics and imports nothing of
``pipelines``.

>>> from reports import build_domain_table, write_report, write_exports  # doctest: +SKIP
>>> build_domain_table(con, load_catalogue(), "LL", 2024, "fr")          # doctest: +SKIP

Every name of ``__all__`` is imported from its module on first use (PEP 562): ``Lang`` and
``LANGS`` cost nothing, the builders bring DuckDB, pandas and great-tables with them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports._exports import write_csv, write_exports, write_xlsx
    from reports._i18n import LANGS, Lang
    from reports._pdf import Colophon, PdfUnavailable, write_pdf
    from reports._profile import ProfileError, write_profile, write_profiles
    from reports._report import ReportFiles, write_report
    from reports._tables import build_domain_table, table_id, territory_rows
    from reports._validation import validation_facts, write_validation_report

_MODULES: dict[str, tuple[str, ...]] = {
    "reports._exports": ("write_csv", "write_exports", "write_xlsx"),
    "reports._i18n": ("LANGS", "Lang"),
    "reports._pdf": ("Colophon", "PdfUnavailable", "write_pdf"),
    "reports._profile": ("ProfileError", "write_profile", "write_profiles"),
    "reports._report": ("ReportFiles", "write_report"),
    "reports._tables": ("build_domain_table", "table_id", "territory_rows"),
    "reports._validation": ("validation_facts", "write_validation_report"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "LANGS",
    "Colophon",
    "Lang",
    "PdfUnavailable",
    "ProfileError",
    "ReportFiles",
    "build_domain_table",
    "table_id",
    "territory_rows",
    "validation_facts",
    "write_csv",
    "write_exports",
    "write_pdf",
    "write_profile",
    "write_profiles",
    "write_report",
    "write_validation_report",
    "write_xlsx",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
