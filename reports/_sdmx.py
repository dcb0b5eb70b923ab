"""``indicators.sdmx.csv``: the published values in SDMX-CSV (version 1.0, SDMX 2.1), for
statistical offices' tools.

One row per observation: the dataflow, the dimensions (INDICATOR, TERRITORY_LEVEL, REF_AREA,
BREAKDOWN, TIME_PERIOD), OBS_VALUE, then the attributes. Statuses use the SDMX cross-domain code
lists: CL_OBS_STATUS (A normal value, U low reliability, Q missing value; suppressed) and
CL_CONF_STATUS (F free, C confidential). A suppressed cell is sent as confidential with no value;
a missing one (no data) is not sent. Codes carry no language, so English and French runs write
the same bytes. The structure is documented in ``docs/exports.md``.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import duckdb

from indicators import Catalogue, Indicator
from reports import _exports
from reports._exports import cell_params, line_feeds, number_sql, text_sql

AGENCY, DATAFLOW_ID, DATAFLOW_VERSION = "LCI", "LCI_INDICATORS", "1.0"
DATAFLOW = f"{AGENCY}:{DATAFLOW_ID}({DATAFLOW_VERSION})"
"""The dataflow every row names, ``AGENCY:ID(VERSION)`` as SDMX-CSV writes it."""
DIMENSIONS: tuple[str, ...] = ("INDICATOR", "TERRITORY_LEVEL", "REF_AREA", "BREAKDOWN",
                               "TIME_PERIOD")
ATTRIBUTES: tuple[str, ...] = ("UNIT_MEASURE", "DECIMALS", "OBS_STATUS", "CONF_STATUS",
                               "CI_LOWER", "CI_UPPER")
COLUMNS: tuple[str, ...] = ("DATAFLOW", *DIMENSIONS, "OBS_VALUE", *ATTRIBUTES)

OBS_STATUS: dict[str, str] = {"ok": "A", "low_reliability": "U", "suppressed": "Q"}
"""CL_OBS_STATUS of each status sent: A normal value, U low reliability, Q missing value;
suppressed. A missing value has no observation to send."""
CONF_STATUS: dict[str, str] = {"ok": "F", "low_reliability": "F", "suppressed": "C"}
"""CL_CONF_STATUS: F free (for publication), C confidential statistical information."""
TOTAL = "_T"
"""SDMX's code for a total, in place of the breakdown 'total'."""


def unit_code(indicator: Indicator) -> str:
    """The indicator's UNIT_MEASURE code in the project's unit code list: its English unit
    with ``%`` as ``PC`` and every other run of non-alphanumerics as ``_``, upper case
    (``% of adults 25-64`` → ``PC_OF_ADULTS_25_64``)."""
    unit = indicator.unit.en.replace("%", " PC ")
    return re.sub(r"[^A-Z0-9]+", "_", unit.upper()).strip("_")


def write_sdmx(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path) -> Path:
    """Rows of ``indicator_values`` that are published or suppressed, sorted on the key;
    comma, decimal point, UTF-8 without a byte-order mark. Cells are made in DuckDB and
    streamed in batches into a file replaced in one step."""
    params: dict[str, object] = cell_params(".")
    params.update({
        "ids": [i.id for i in catalogue], "units": [unit_code(i) for i in catalogue],
        "decimals": [i.decimals for i in catalogue], "dataflow": DATAFLOW,
        "sent": list(OBS_STATUS), "obs_from": list(OBS_STATUS),
        "obs_to": list(OBS_STATUS.values()), "conf_from": list(CONF_STATUS),
        "conf_to": list(CONF_STATUS.values()), "total": TOTAL,
        "not_code": "[^A-Za-z0-9_@$-]+", "suppressed": "suppressed"})
    hidden = "v.status = $suppressed"
    breakdown = ("CASE WHEN v.breakdown = 'total' THEN $total "
                 "ELSE regexp_replace(upper(v.breakdown), $not_code, '_', 'g') END")
    cells = [
        "$dataflow", text_sql("v.indicator_id"), text_sql("v.territory_level"),
        text_sql("v.territory_code"), text_sql(breakdown), "CAST(v.year AS VARCHAR)",
        f"CASE WHEN {hidden} THEN '' ELSE {number_sql('v.value')} END",
        "m.unit", "CAST(m.decimals AS VARCHAR)",
        "map_from_entries(list_zip($obs_from, $obs_to))[v.status]",
        "map_from_entries(list_zip($conf_from, $conf_to))[v.status]",
        f"CASE WHEN {hidden} THEN '' ELSE {number_sql('v.ci_low')} END",
        f"CASE WHEN {hidden} THEN '' ELSE {number_sql('v.ci_high')} END",
    ]
    query = (
        f"SELECT {', '.join(cells)} FROM indicator_values v "
        "JOIN (SELECT unnest($ids) AS indicator_id, unnest($units) AS unit, "
        "unnest($decimals) AS decimals) m USING (indicator_id) "
        "WHERE list_contains($sent, v.status) "
        "AND (v.value IS NOT NULL OR v.status = $suppressed) "
        "ORDER BY v.indicator_id, v.territory_level, v.territory_code, v.year, v.breakdown")
    cursor = con.execute(query, params)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(line_feeds(out), lineterminator="\r\n")
        writer.writerow(COLUMNS)
        while batch := cursor.fetchmany(_exports.FETCH_ROWS):
            writer.writerows(batch)
    os.replace(partial, path)
    return path
