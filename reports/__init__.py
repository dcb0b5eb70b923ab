"""Reports: comparison tables, the annual HTML report and exports, in English and French.

Reads ``indicator_values`` (and ``indicator_changes``, ``territory_groups``) from any DuckDB
connection, plus the catalogue's metadata; computes no statistics and imports nothing of
``pipelines``.

>>> from reports import build_domain_table, write_report, write_exports  # doctest: +SKIP
>>> build_domain_table(con, load_catalogue(), "LL", 2024, "fr")          # doctest: +SKIP
"""

from reports._exports import write_csv, write_exports, write_xlsx
from reports._i18n import LANGS, Lang
from reports._report import ReportFiles, write_report
from reports._tables import build_domain_table, table_id, territory_rows
from reports._validation import validation_facts, write_validation_report

__all__ = [
    "LANGS",
    "Lang",
    "ReportFiles",
    "build_domain_table",
    "table_id",
    "territory_rows",
    "validation_facts",
    "write_csv",
    "write_exports",
    "write_report",
    "write_validation_report",
    "write_xlsx",
]
