"""Text encodings, line endings and delimiters of CSV files, detected when the configuration
leaves them out; what a file really is, from its first bytes.

DuckDB reads UTF-8 (without extensions, which this tool does not download), so files in another
encoding, or with mixed line endings, are copied to UTF-8 with one line ending first, streamed in
1 MiB chunks, into the folder the caller gives (the run's scratch folder). The lines of a file
are counted here, apart from DuckDB's parser, so that no record can vanish into a stray quote.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def _byte_order_mark(head: bytes) -> tuple[str, tuple[str, ...], str] | None:
    """(codec, declared names it agrees with, name shown) of the file's byte-order mark."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", ("utf-8", "utf-8-sig"), "UTF-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ("utf-16", "utf-16-le", "utf-16-be", "utf16"), "UTF-16"
    return None


def _check_utf8_after_mark(path: Path) -> None:
    """A file that announces UTF-8 with its byte-order mark but breaks it (a truncated or
    damaged copy) is an error naming the byte and line, not a file to guess about."""
    invalid = _first_invalid_utf8(path)
    if invalid is not None:
        offset, line = invalid
        raise EncodingError(
            f"starts with a UTF-8 byte-order mark but is not valid UTF-8 (byte {offset:,}, "
            f"line {line}): the file is damaged or was cut short; export it again",
            f"commence par un indicateur d'ordre des octets UTF-8 mais n'est pas en UTF-8 "
            f"valide (octet {offset:,}, ligne {line}) : le fichier est abîmé ou tronqué ; "
            f"exportez-le à nouveau")


def detect_encoding(path: Path, declared: str) -> tuple[str, tuple[str, str] | None]:
    """The encoding to read ``path`` with, and a note (English, French) on what was detected.

    ``declared`` is the configuration's value; ``auto`` detects: a UTF-8 or UTF-16 byte-order
    mark, else UTF-8 when every byte decodes, else Windows-1252 (the French office default).
    A declared UTF-8 that does not decode is an error naming the byte and line.
    """
    declared = ALIASES.get(declared.lower(), declared.lower())
    with open(path, "rb") as handle:
        head = handle.read(4)
    bom = _byte_order_mark(head)
    if bom is not None and bom[0] == "utf-8-sig":
        _check_utf8_after_mark(path)
    if bom is not None and declared not in ("auto", *bom[1]):
        # A byte-order mark cannot be mistaken: it says the encoding whatever was declared.
        return bom[0], (f"the file starts with a {bom[2]} byte-order mark: read as {bom[2]}, "
                        f"not as the declared '{declared}'",
                        f"le fichier commence par un indicateur d'ordre des octets {bom[2]} : "
                        f"lu en {bom[2]}, et non dans l'encodage déclaré '{declared}'")
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


def transcode_to_utf8(path: Path, encoding: str, folder: Path, *,
                      normalise_newlines: bool = False) -> Path:
    """``path`` itself when DuckDB can read it as it is, else a UTF-8 copy in ``folder`` with
    every line ending (CRLF, CR, LF) written as LF (the caller deletes it)."""
    if encoding in {"utf-8", "utf-8-sig"} and not normalise_newlines:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="lci-", suffix=".csv", dir=folder)
    os.close(handle)
    target = Path(name)
    try:
        with open(path, encoding=encoding, newline=None) as src, open(
            target, "w", encoding="utf-8", newline="\n"
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


# --- what a file is, from its first bytes -------------------------------------------------------

MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive", "une archive ZIP"),
    (b"PK\x05\x06", "a ZIP archive", "une archive ZIP"),
    (b"\x1f\x8b", "a gzip archive", "une archive gzip"),
    (b"%PDF-", "a PDF document", "un document PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (xls) or Word file",
     "un ancien fichier Excel (xls) ou Word"),
    (b"PAR1", "a Parquet file", "un fichier Parquet"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "une archive 7-Zip"),
    (b"BZh", "a bzip2 archive", "une archive bzip2"),
    (b"\xfd7zXZ\x00", "an xz archive", "une archive xz"),
    (b"Rar!", "a RAR archive", "une archive RAR"),
    (b"\x89PNG", "a PNG image", "une image PNG"),
    (b"\xff\xd8\xff", "a JPEG image", "une image JPEG"),
    (b"SQLite format 3\x00", "an SQLite database", "une base SQLite"),
)


def binary_kind(path: Path) -> tuple[str, str] | None:
    """What a file that is not text is (English, French), from its first bytes; None for text.

    A ZIP holding ``xl/`` is an Excel workbook, ``word/`` a Word document. NUL bytes without a
    UTF-16 byte-order mark are binary data (or UTF-16 without its mark).
    """
    with open(path, "rb") as handle:
        head = handle.read(8192)
    for magic, english, french in MAGIC:
        if head.startswith(magic):
            if magic.startswith(b"PK"):
                return _zip_kind(path) or (english, french)
            return english, french
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("binary data (NUL bytes), or UTF-16 text without its byte-order mark",
                "des données binaires (octets NUL), ou du texte UTF-16 sans indicateur d'ordre "
                "des octets")
    return None


def _zip_kind(path: Path) -> tuple[str, str] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (xlsx)", "un classeur Excel (xlsx)"
    if any(n.startswith("word/") for n in names):
        return "a Word document", "un document Word"
    if any(n.startswith("content.xml") for n in names):
        return "an OpenDocument file", "un fichier OpenDocument"
    return None


# --- lines, counted apart from the CSV parser ---------------------------------------------------

LF, CR = 10, 13


@dataclass(frozen=True)
class Lines:
    """The physical lines of a text file (``starts[i]``/``ends[i]``: byte offsets of line
    ``i + 1``, its line ending excluded). A line ending is CRLF, CR or LF, as editors count."""

    starts: np.ndarray
    ends: np.ndarray
    crlf: int
    cr: int
    lf: int
    quotes: int = 0  # '"' characters: without any, no value can run over several lines

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def mixed(self) -> bool:
        return sum(1 for n in (self.crlf, self.cr, self.lf) if n) > 1

    def blank(self) -> np.ndarray:
        """Line numbers (1-based) of the empty lines."""
        return np.flatnonzero(self.ends == self.starts) + 1

    def text(self, path: Path, first: int, last: int, limit: int = 10_000) -> list[str]:
        """Lines ``first`` to ``last`` (1-based, at most ``limit``) as written (UTF-8)."""
        last = min(last, first + limit - 1, self.count)
        if last < first:
            return []
        with open(path, "rb") as handle:
            handle.seek(int(self.starts[first - 1]))
            block = handle.read(int(self.ends[last - 1] - self.starts[first - 1]))
        base = int(self.starts[first - 1])
        return [block[int(s) - base:int(e) - base].decode("utf-8", "replace")
                for s, e in zip(self.starts[first - 1:last], self.ends[first - 1:last],
                                strict=True)]


def scan_lines(path: Path, chunk_size: int = 8 * CHUNK) -> Lines:
    """Every line of ``path`` in one pass over its bytes (numpy on 8 MiB chunks, no Python
    loop over lines): where each starts and ends, and how many end in CRLF, CR or LF."""
    breaks: list[np.ndarray] = []  # offset of each line ending's first byte
    widths: list[np.ndarray] = []  # its length: 2 for CRLF, else 1
    crlf = cr = lf = quotes = 0
    size = 0
    with open(path, "rb") as handle:
        offset = 0
        carry = b""
        while True:
            chunk = handle.read(chunk_size)
            data = carry + chunk
            if not data:
                break
            if chunk and data.endswith(b"\r"):  # a CR whose LF may open the next chunk
                carry, data = b"\r", data[:-1]
            else:
                carry = b""
            array = np.frombuffer(data, dtype=np.uint8)
            quotes += data.count(b'"')
            if b"\r" not in data:  # the usual case: LF only, one comparison
                ends_here = np.flatnonzero(array == LF)
                breaks.append(ends_here + offset)
                widths.append(np.ones(len(ends_here), dtype=np.int64))
                lf += len(ends_here)
                offset += len(data)
                size = offset
                if not chunk:
                    break
                continue
            pairs = data.count(b"\r\n")
            if pairs == data.count(b"\n") == data.count(b"\r"):  # CRLF only (Windows)
                ends_here = np.flatnonzero(array == LF) - 1
                breaks.append(ends_here + offset)
                widths.append(np.full(len(ends_here), 2, dtype=np.int64))
                crlf += len(ends_here)
                offset += len(data)
                size = offset
                if not chunk:
                    break
                continue
            is_lf = array == LF
            is_cr = array == CR
            lf_after_cr = np.zeros(len(array), dtype=bool)
            lf_after_cr[1:] = is_lf[1:] & is_cr[:-1]
            cr_before_lf = np.zeros(len(array), dtype=bool)
            cr_before_lf[:-1] = lf_after_cr[1:]
            lone_lf = is_lf & ~lf_after_cr
            lone_cr = is_cr & ~cr_before_lf
            starts = np.flatnonzero(lone_lf | lone_cr | cr_before_lf)
            width = np.where(cr_before_lf[starts], 2, 1)
            breaks.append(starts + offset)
            widths.append(width)
            crlf += int(cr_before_lf.sum())
            cr += int(lone_cr.sum())
            lf += int(lone_lf.sum())
            offset += len(data)
            size = offset
            if not chunk:
                break
    ends = np.concatenate(breaks) if breaks else np.zeros(0, dtype=np.int64)
    width = np.concatenate(widths) if widths else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], ends + width]).astype(np.int64)
    ends = ends.astype(np.int64)
    if len(starts) and starts[-1] < size:  # a last line without its line ending
        ends = np.concatenate([ends, [size]])
    else:
        starts = starts[:-1]
    return Lines(starts, ends, crlf, cr, lf, quotes)
