"""Lines counted from a file's bytes, as editors count them, whatever the chunk boundaries;
the kind of a file from its first bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.reading.encodings import binary_kind, scan_lines


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(["a", "é", ";", '"', "\r", "\n", "\r\n", ""]), max_size=40),
       chunk=st.integers(min_value=1, max_value=9))
def test_lines_are_those_an_editor_shows(tmp_path_factory, text, chunk):
    data = "".join(text).encode()
    path = tmp_path_factory.mktemp("lines") / "f.csv"
    path.write_bytes(data)
    lines = scan_lines(path, chunk_size=chunk)
    expected = data.decode().splitlines()
    assert [data[s:e].decode() for s, e in zip(lines.starts, lines.ends, strict=True)] == \
        expected
    assert [int(b) for b in lines.blank()] == [n for n, t in enumerate(expected, 1) if not t]
    assert lines.quotes == data.count(b'"')
    assert lines.crlf + lines.cr + lines.lf == sum(
        1 for n, t in enumerate(expected) if n < len(expected) - 1 or data[-1:] in b"\r\n")


@pytest.mark.parametrize(("data", "kind"), [
    (b"PK\x03\x04rest", "a ZIP archive"),
    (b"\x1f\x8b\x08", "a gzip archive"),
    (b"%PDF-1.4", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (xls) or Word file"),
    (b"PAR1....PAR1", "a Parquet file"),
    (b"a;b\x00;c\n", "binary data (NUL bytes)"),
])
def test_a_file_that_is_not_text_is_named(tmp_path: Path, data: bytes, kind: str):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    found = binary_kind(path)
    assert found is not None and found[0].startswith(kind) and found[1]


@pytest.mark.parametrize("data", [b"a;b\n1;2\n", "\ufeffa;b\r\n".encode("utf-16"),
                                  "é;è\n".encode("cp1252"), b""])
def test_text_is_text(tmp_path: Path, data: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert binary_kind(path) is None
