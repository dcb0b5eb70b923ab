"""A byte-order mark says the file's encoding, whatever the project declared."""

from __future__ import annotations

import codecs

import pytest

from pipelines.reading.encodings import detect_encoding

TEXT = "code_commune;annee;nom\n01053;2024;Évry-Courcouronnes\n"


@pytest.mark.parametrize(("data", "declared", "read_as", "said"), [
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "cp1252", "utf-8-sig", "UTF-8 byte-order mark"),
    (TEXT.encode("utf-16"), "utf-8", "utf-16", "UTF-16 byte-order mark"),
    (TEXT.encode("utf-16"), "latin-1", "utf-16", "not as the declared 'latin-1'"),
])
def test_a_byte_order_mark_overrules_a_declared_encoding_and_says_so(
        tmp_path, data, declared, read_as, said):
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    encoding, note = detect_encoding(path, declared)
    assert encoding == read_as
    assert note is not None and said in note[0] and "indicateur d'ordre des octets" in note[1]
    with open(path, encoding=encoding) as handle:
        assert handle.read() == TEXT


def test_a_matching_declaration_reads_without_a_note(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(codecs.BOM_UTF8 + TEXT.encode("utf-8"))
    assert detect_encoding(path, "utf-8") == ("utf-8-sig", None)
