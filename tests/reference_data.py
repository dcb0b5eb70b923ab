"""The reference datasets kept in tests/data: paths, and a loud failure when one is missing.

A reference test that cannot find its data must fail, not skip: a skipped comparison with R or
COINr would let a regression through unseen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# SHA-256 of each file as copied from its origin (see tests/data/README.md).
SHA256 = {
    "api/apiclus1.csv": "d29974a43c86d905e63449a7eed3c67afcaf695a95dbf633fd0e2f0d8d390088",
    "api/apiclus2.csv": "2c84792fb7c90c4d80a161d939b4a38ba5fb5b60a252097591b8e408dfb44972",
    "api/apisrs.csv": "9e05e6ae2a52040a59a9beae7f6930edea62a187b305a1d53890a334e72a1544",
    "api/apistrat.csv": "011cac792a9bd6300f580c364f9583549bc63cb8959fa7cb05e63d967271dc83",
    "asem/asem_idata.csv": "dd750296fa17c79e16612415d7228880beec162413f544ebc3a2b4758a156d9a",
    "asem/asem_imeta.csv": "744815396e65cc9a67d06d7b8d2d531add6855f95eb7d9bf39fb6096fdd42d71",
}


def reference_file(name: str) -> Path:
    """The path of one reference file, checked against its recorded SHA-256."""
    path = DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"reference data missing: {path} (see tests/data/README.md)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(f"reference data altered: {path} has SHA-256 {digest}, "
                         f"expected {SHA256[name]}")
    return path


def api_dir() -> Path:
    """R survey's data(api) as CSV, every table checked."""
    for name in SHA256:
        if name.startswith("api/"):
            reference_file(name)
    return DATA / "api"


def asem_files() -> tuple[Path, Path]:
    """COINr's ASEM example: (iData, iMeta)."""
    return reference_file("asem/asem_idata.csv"), reference_file("asem/asem_imeta.csv")
