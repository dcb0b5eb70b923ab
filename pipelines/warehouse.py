"""Every DuckDB connection LCI opens, shut off from the machine once it has what it needs.

A connection may read only the files it is given (the declared sources, a previous warehouse)
and write only in the folders it is given (the run's own folder); nothing is downloaded or
loaded as an extension; and once these settings are made, ``lock_configuration`` stops any
later statement from changing them. Resources (memory, threads) are given as settings, never
as SQL. So a condition, a column name or a setting that slipped into a statement still could
not read ``/etc/passwd``, write a ``.pth`` file or fetch a URL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb

SCRATCH = ".scratch"  # beside the warehouse: transcoded copies of inputs, removed by the run


class WarehouseError(Exception):
    """DuckDB refused the database file or a setting; the message says which."""


def _folder(path: Path) -> str:
    return str(path.resolve()).rstrip("/") + "/"


def connect(
    path: Path | None = None,
    *,
    read_only: bool = False,
    settings: dict[str, str | int] | None = None,
    readable: Iterable[Path] = (),
    writable: Iterable[Path] = (),
) -> duckdb.DuckDBPyConnection:
    """A connection (to ``path``, or in memory) that reads only ``readable`` files and folders
    and writes only under ``writable`` folders (plus its own scratch folder)."""
    config: dict[str, str | int | bool] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        **(settings or {}),
    }
    try:
        con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only,
                             config=config)
    except duckdb.Error as error:
        message = str(error).strip().splitlines()[0]
        raise WarehouseError(message) from None
    files = [str(p.resolve()) for p in readable if not p.is_dir()]
    folders = [_folder(p) for p in readable if p.is_dir()] + [_folder(p) for p in writable]
    scratch = scratch_folder(con)
    if scratch is not None:
        folders.append(_folder(scratch))
    try:
        if files:
            con.execute("SET allowed_paths = ?", [files]).fetchall()
        if folders:
            con.execute("SET allowed_directories = ?", [folders]).fetchall()
        con.execute("SET enable_external_access = false").fetchall()
        con.execute("SET lock_configuration = true").fetchall()
    except duckdb.Error as error:
        con.close()
        raise WarehouseError(str(error).strip().splitlines()[0]) from None
    return con


def scratch_folder(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The folder beside the warehouse file where the connection may write working copies
    (``None`` for an in-memory database, which may then write nowhere but its own memory)."""
    rows = con.execute("SELECT path FROM duckdb_databases() "
                      "WHERE database_name = current_database()").fetchall()
    if not rows or not rows[0][0]:
        return None
    return Path(rows[0][0]).resolve().parent / SCRATCH


def temporary_scratch() -> Path:
    """A private folder for an in-memory connection's working copies (caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="lci-"))
