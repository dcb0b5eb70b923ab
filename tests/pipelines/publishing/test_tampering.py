"""Consistent tampering: a file edited and its SHA-256 rewritten in the manifest.

A forger who edits a published file can rewrite its hash in the manifest (and the restricted
manifest's hash of the public one). Each such edit must still fail ``lci audit``, naming the
file: the signature no longer matches (when left as it was), and whatever the signature — left,
or made again with another key shipped in the bundle — the file is derived again from what it
is derived from and differs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from pipelines.config import load_config
from pipelines.ingest import file_sha256
from pipelines.publishing.signing import (
    SigningKey,
    load_private_key,
    sign_file,
    write_key_pair,
    write_public_key,
)
from pipelines.run import run
from tests.small_project import ADMIN_ROWS, write_small_project

runner = CliRunner()
SECRET = "zzRespondentSecret42"  # a value only a quarantined record holds


@pytest.fixture(scope="module")
def sample(sample_run) -> Path:
    return sample_run("en").out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A run whose quarantine holds rows, one of them with a value no other record has."""
    root = tmp_path_factory.mktemp("tamper-small")
    config = write_small_project(root / "project",
                                 admin_rows=[*ADMIN_ROWS, f"2A004;2024;schools_total;{SECRET};x"])
    config.write_text(config.read_text(encoding="utf-8")
                      + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    run(load_config(config), root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def forger_key(tmp_path_factory) -> SigningKey:
    path, _ = write_key_pair(tmp_path_factory.mktemp("forger") / "forger.pem")
    return SigningKey(load_private_key(path), path, "forger")


def audit(folder: Path, *args: str):
    return runner.invoke(app, ["audit", str(folder), *args], terminal_width=400)


def forge(out: Path, resign: SigningKey | None) -> None:
    """Rewrite every SHA-256 (and drop missing files) in both manifests, as a forger would;
    with ``resign``, sign them again with that key and ship its public key instead."""
    for name in ("public", "restricted"):
        folder = out / name
        if not (folder / "manifest.json").is_file():
            continue
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if resign is not None:
            write_public_key(folder, resign)
            manifest["signing_key"]["fingerprint"] = resign.fingerprint
        manifest["outputs"] = [{**e, "sha256": file_sha256(folder / e["file"])}
                               for e in manifest["outputs"] if (folder / e["file"]).is_file()]
        if name == "restricted":
            manifest["public_manifest_sha256"] = file_sha256(out / "public" / "manifest.json")
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                              encoding="utf-8")
        if resign is not None:
            sign_file(folder / "manifest.json", resign)


def rewrite_parquet(path: Path, select: str) -> None:
    con = duckdb.connect()
    frame = con.execute(f"SELECT {select} FROM read_parquet(?)", [str(path)]).df()
    con.close()
    duckdb.from_df(frame).write_parquet(str(path), compression="zstd")


def edit_csv_value(out: Path) -> str:
    path = out / "public" / "2024" / "indicators.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    column = rows[0].index("value")
    row = next(r for r in rows[1:] if r[column])
    row[column] = str(float(row[column]) + 1.5)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return "public/2024/indicators.csv"


def edit_report_number(out: Path) -> str:
    path = out / "public" / "2024" / "report.html"
    html = path.read_text(encoding="utf-8")
    match = re.search(r">(\d+\.\d)<", html)
    assert match is not None
    forged = f"{float(match.group(1)) + 3:.1f}"
    path.write_text(html[:match.start(1)] + forged + html[match.end(1):], encoding="utf-8")
    return "public/2024/report.html"


def edit_changes(out: Path) -> str:
    rewrite_parquet(out / "public" / "published" / "indicator_changes.parquet",
                    "* REPLACE (CASE WHEN indicator_id = 'LL01' AND territory_code = '34172' "
                    "AND breakdown = 'total' THEN change + 2 ELSE change END AS change)")
    return "public/published/indicator_changes.parquet"


def edit_ranks(out: Path) -> str:
    rewrite_parquet(out / "public" / "published" / "composite_ranks.parquet",
                    "* REPLACE (CASE WHEN rank = 1 THEN 2 WHEN rank = 2 THEN 1 ELSE rank END "
                    "AS rank)")
    return "public/published/composite_ranks.parquet"


def edit_design(out: Path) -> str:
    """The design said to be another than the one the intervals were computed with."""
    rewrite_parquet(out / "public" / "published" / "survey_design.parquet",
                    "* REPLACE ('adjust' AS lonely_psu)")
    return "public/published/survey_design.parquet"


def edit_validated(out: Path) -> str:
    rewrite_parquet(out / "restricted" / "validated" / "survey_responses.parquet",
                    "* REPLACE (CASE WHEN territory_code = '34172' AND year = 2024 "
                    "THEN 1 ELSE formal_12m END AS formal_12m)")
    return "restricted/validated/survey_responses.parquet"


def drop_quarantine_row(out: Path) -> str:
    path = out / "restricted" / "quarantine.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) > 2
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    return "restricted/quarantine.csv"


def delete_validation_report(out: Path) -> str:
    (out / "restricted" / "validation" / "report.html").unlink()
    (out / "restricted" / "validation" / "report.json").unlink()
    return "restricted/validation/report."


PUBLIC_EDITS: list[Callable[[Path], str]] = [edit_csv_value, edit_report_number, edit_changes,
                                             edit_ranks, edit_design]
RESTRICTED_EDITS: list[tuple[str, Callable[[Path], str]]] = [
    ("sample", edit_validated), ("small", drop_quarantine_row),
    ("small", delete_validation_report)]


def test_untouched_bundles_pass_public_alone_and_with_restricted(sample, small, signing_key):
    for out in (sample, small):
        alone = audit(out / "public")
        assert alone.exit_code == 0, alone.output
        assert "Restricted bundle: not given" in alone.output
        both = audit(out, "--public-key", str(signing_key.with_suffix(".pub")))
        assert both.exit_code == 0, both.output
        assert "signed by the publisher's key" in both.output


@pytest.mark.parametrize("edit", PUBLIC_EDITS, ids=lambda e: e.__name__)
def test_a_public_file_edited_with_its_hash_rewritten_fails_the_audit(
        sample, tmp_path, forger_key, signing_key, edit):
    copy = tmp_path / "out"
    shutil.copytree(sample, copy)
    name = edit(copy)
    forge(copy, None)  # the signature left as it was
    left = audit(copy / "public")  # the public bundle alone re-derives the file
    forge(copy, forger_key)  # signed again, by a key of the forger's shipped in the bundle
    resigned = audit(copy / "public", "--public-key", str(signing_key.with_suffix(".pub")))
    for result in (left, resigned):
        assert result.exit_code == 1, result.output
        failing = [line for line in result.output.splitlines() if name in line]
        assert any("SHA-256" not in line for line in failing), result.output
    assert "not a valid signature" in left.output
    assert "not the publisher's key" in resigned.output


@pytest.mark.parametrize("resigned", [False, True], ids=["signature-left", "re-signed"])
@pytest.mark.parametrize("which, edit", RESTRICTED_EDITS, ids=lambda e: getattr(e, "__name__", e))
def test_a_restricted_file_edited_with_its_hash_rewritten_fails_the_audit(
        sample, small, tmp_path, forger_key, which, edit, resigned):
    copy = tmp_path / "out"
    shutil.copytree(sample if which == "sample" else small, copy)
    name = edit(copy)
    forge(copy, forger_key if resigned else None)
    result = audit(copy)  # no key given: only the re-derivation can tell
    assert result.exit_code == 1, result.output
    assert any(name in line and "SHA-256" not in line for line in result.output.splitlines()), \
        result.output
    if not resigned:
        assert "not a valid signature" in result.output


def test_a_bundle_re_signed_by_another_key_is_named_when_the_publishers_key_is_known(
        small, tmp_path, forger_key, signing_key):
    copy = tmp_path / "out"
    shutil.copytree(small, copy)
    forge(copy, forger_key)  # nothing edited, but no longer the publisher's signature
    unknown = audit(copy)
    assert unknown.exit_code == 0, unknown.output
    assert forger_key.fingerprint in unknown.output  # shown, to compare with the publisher's
    known = audit(copy, "--fingerprint", signing_key_fingerprint(signing_key))
    assert known.exit_code == 1
    assert "public/signing-key.pub" in known.output and "not the publisher's key" in known.output


def signing_key_fingerprint(path: Path) -> str:
    return SigningKey(load_private_key(path), path, "test").fingerprint


def test_no_file_of_the_public_bundle_holds_respondent_rows_or_quarantined_values(sample, small):
    quarantine = (small / "restricted" / "quarantine.csv").read_text(encoding="utf-8")
    assert SECRET in quarantine  # the auditor has it
    for out in (sample, small):
        public = [p for p in (out / "public").rglob("*") if p.is_file()]
        for path in public:
            assert SECRET.encode() not in path.read_bytes(), path
            assert "survey_responses" not in path.name and "quarantine" not in path.name
        survey = set(duckdb.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(
            sample / "restricted" / "validated" / "survey_responses.parquet")]).df()["column_name"])
        personal = survey - {"territory_code", "year", "source_file", "source_row"}
        for path in (p for p in public if p.suffix == ".parquet"):
            if path.name == "survey_design.parquet":
                # The design names its columns (one of them is called psu) and holds no row
                # of a respondent: one row per surveyed table.
                assert duckdb.execute("SELECT count(*) FROM read_parquet(?)",
                                      [str(path)]).fetchall()[0][0] <= 1, path
                continue
            columns = set(duckdb.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                         [str(path)]).df()["column_name"])
            assert not columns & personal, (path, columns & personal)
    summary = json.loads((small / "public" / "validation" / "summary.json").read_text())
    assert all("value" not in p and "row" not in p for p in summary["problems"])
    assert all("examples" not in c for c in summary["checks"])


def add_copy_of(top_name: str) -> Callable[[Path, str], str]:
    """Copy a file of the output folder's top (unlisted there) into the bundle."""
    def add(out: Path, bundle: str) -> str:
        source = out / top_name
        target = out / bundle / top_name
        if source.is_file():
            shutil.copyfile(source, target)
        else:
            target.write_bytes(b"not a bundle file")
        return f"{bundle}/{top_name}"
    add.__name__ = f"add_{top_name}"
    return add


def add_symlink_to_etc(out: Path, bundle: str) -> str:
    (out / bundle / "validation" / "etc").symlink_to("/etc")
    return f"{bundle}/validation/etc"


def add_empty_folder(out: Path, bundle: str) -> str:
    (out / bundle / "validation" / "newdir").mkdir()
    return f"{bundle}/validation/newdir/"


def add_nested_manifest(out: Path, bundle: str) -> str:
    shutil.copyfile(out / bundle / "manifest.sig", out / bundle / "validation" / "manifest.sig")
    return f"{bundle}/validation/manifest.sig"


def replace_listed_file_by_symlink(out: Path, bundle: str) -> str:
    """A listed file moved out and linked back: same bytes, same SHA-256, still a link."""
    path = out / bundle / "signing-key.pub"
    moved = out / "elsewhere.pub"
    path.rename(moved)
    path.symlink_to(moved)
    return f"{bundle}/signing-key.pub"


ADDITIONS: list[Callable[[Path, str], str]] = [
    *(add_copy_of(n) for n in ("warehouse.duckdb", "warehouse.duckdb.wal", "run.json",
                               ".lci-output.json")),
    add_symlink_to_etc, add_empty_folder, add_nested_manifest, replace_listed_file_by_symlink]


@pytest.mark.parametrize("bundle", ["public", "restricted"])
@pytest.mark.parametrize("add", ADDITIONS, ids=lambda a: a.__name__)
def test_anything_added_to_a_bundle_that_its_manifest_does_not_list_fails_the_audit(
        small, tmp_path, add, bundle):
    copy = tmp_path / "out"
    shutil.copytree(small, copy)  # any bundle will do: the listing is checked the same way
    name = add(copy, bundle)
    result = audit(copy)
    assert result.exit_code == 1, result.output
    failing = [line for line in result.output.splitlines() if name in line]
    assert any("not in the manifest" in line or "symbolic link" in line for line in failing), \
        result.output


def test_only_the_manifest_and_its_signature_go_unlisted_in_a_bundle(sample):
    for bundle in ("public", "restricted"):
        folder = sample / bundle
        listed = {e["file"] for e in json.loads(
            (folder / "manifest.json").read_text(encoding="utf-8"))["outputs"]}
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert present - listed == {"manifest.json", "manifest.sig"}
        assert "signing-key.pub" in listed
