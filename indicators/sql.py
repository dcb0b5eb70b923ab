"""The one way an identifier enters SQL: quoted, so no name can end the statement.

Table and column names come from files and project files (R's ``sch.wide``, a partner's
``x" AS VARCHAR); COPY …``); every module of LCI quotes them here. Values never enter SQL as
text: they are bound parameters (``?`` or ``$name``).
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """``name`` as one DuckDB identifier, whatever characters it holds."""
    if "\x00" in name:
        raise ValueError(f"an identifier cannot contain a NUL character: {name!r}")
    return '"' + name.replace('"', '""') + '"'
