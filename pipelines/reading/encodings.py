"""Text encodings and delimiters of CSV files, detected when the configuration leaves them out.

DuckDB reads UTF-8 (without extensions, which this tool does not download), so files in another
encoding are transcoded to a temporary UTF-8 copy first, streamed in 1 MiB chunks.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
from pathlib import Path

CHUNK = 1 << 20
DELIMITERS = (";", ",", "\t", "|")
ALIASES = {"utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "windows-1252": "cp1252"}



class EncodingError(UnicodeError):
    """A file that cannot be decoded; ``str()`` is the English message, ``french`` the French."""

    def __init__(self, english: str, french: str) -> None:
        super().__init__(english)
        self.french = french


def _first_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """(byte offset, line number) of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return offset + error.start, lines + chunk[: error.start].count(b"\n")
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, lines
    return None


def detect_encoding(path: Path, declared: str) -> tuple[str, tuple[str, str] | None]:
    """The encoding to read ``path`` with, and a note (English, French) on what was detected.

    ``declared`` is the configuration's value; ``auto`` detects: a UTF-8 or UTF-16 byte-order
    mark, else UTF-8 when every byte decodes, else Windows-1252 (the French office default).
    A declared UTF-8 that does not decode is an error naming the byte and line.
    """
    declared = ALIASES.get(declared.lower(), declared.lower())
    with open(path, "rb") as handle:
        head = handle.read(4)
    if declared == "auto":
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig", ("encoding detected: UTF-8 with byte-order mark",
                                "encodage détecté : UTF-8 avec indicateur d'ordre des octets")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", ("encoding detected: UTF-16", "encodage détecté : UTF-16")
        if _first_invalid_utf8(path) is None:
            return "utf-8", None
        return "cp1252", ("encoding detected: Windows-1252 (not valid UTF-8)",
                          "encodage détecté : Windows-1252 (UTF-8 invalide)")
    if declared in {"utf-8", "utf-8-sig"}:
        invalid = _first_invalid_utf8(path)
        if invalid is not None:
            offset, line = invalid
            raise EncodingError(
                f"not valid UTF-8 (byte {offset:,}, line {line}); the file is probably in "
                f"Windows-1252: set 'encoding: cp1252', or 'auto' to detect it",
                f"UTF-8 invalide (octet {offset:,}, ligne {line}) ; le fichier est sans doute "
                f"en Windows-1252 : indiquez 'encoding: cp1252', ou 'auto' pour le détecter",
            )
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), None
    try:
        codecs.lookup(declared)
    except LookupError:
        raise EncodingError(f"unknown encoding '{declared}'",
                            f"encodage inconnu '{declared}'") from None
    return declared, None


def transcode_to_utf8(path: Path, encoding: str) -> Path:
    """``path`` itself when DuckDB can read it, else a temporary UTF-8 copy (caller deletes)."""
    if encoding in {"utf-8", "utf-8-sig"}:
        return path
    with tempfile.NamedTemporaryFile(prefix="lci-", suffix=".csv", delete=False) as handle:
        target = Path(handle.name)
    try:
        with open(path, encoding=encoding, newline="") as src, open(
            target, "w", encoding="utf-8", newline=""
        ) as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError as error:
        target.unlink()
        raise EncodingError(
            f"not readable as {encoding}: {error.reason} at byte {error.start:,}",
            f"illisible en {encoding} : {error.reason} à l'octet {error.start:,}",
        ) from None
    return target


def detect_delimiter(path: Path, header_row: int = 1) -> str:
    """The candidate that splits the header line into the most fields (outside quotes)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for _ in range(header_row - 1):
            handle.readline()
        header = handle.readline()
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
