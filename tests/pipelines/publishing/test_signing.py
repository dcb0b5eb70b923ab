"""Signing keys: lci keygen, where the publisher's key comes from, and what lci run says."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from pipelines.publishing.signing import (
    SigningError,
    SigningKey,
    default_key_path,
    fingerprint,
    load_private_key,
    load_public_key,
    resolve_signing_key,
    sign_file,
    verify_file,
    write_key_pair,
)
from tests.small_project import write_small_project

runner = CliRunner()


def test_keygen_writes_a_private_key_for_its_owner_only_and_its_public_key(tmp_path: Path):
    result = runner.invoke(app, ["keygen", str(tmp_path / "keys" / "city.pem")])
    assert result.exit_code == 0, result.output
    private, public = tmp_path / "keys" / "city.pem", tmp_path / "keys" / "city.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_private_key(private)
    assert fingerprint(load_public_key(public)) == fingerprint(key.public_key())
    assert fingerprint(key.public_key()) in result.output
    again = runner.invoke(app, ["keygen", str(private)])
    assert again.exit_code == 2 and "already exists" in again.output  # never overwritten
    assert load_private_key(private).private_bytes_raw() == key.private_bytes_raw()


def test_a_signature_is_deterministic_and_fails_on_any_change(tmp_path: Path):
    path, _ = write_key_pair(tmp_path / "k.pem")
    key = SigningKey(load_private_key(path), path, "test")
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"a": 1}\n', encoding="utf-8")
    signature = sign_file(manifest, key)
    first = signature.read_bytes()
    assert sign_file(manifest, key).read_bytes() == first
    assert verify_file(manifest, signature, key.public)
    manifest.write_text('{"a": 2}\n', encoding="utf-8")
    assert not verify_file(manifest, signature, key.public)


def test_the_key_comes_from_the_option_then_the_environment_then_the_user(tmp_path, monkeypatch):
    explicit, _ = write_key_pair(tmp_path / "explicit.pem")
    from_env, _ = write_key_pair(tmp_path / "env.pem")
    monkeypatch.setenv("LCI_SIGNING_KEY", str(from_env))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert resolve_signing_key(explicit).origin == "--signing-key"
    assert resolve_signing_key().path == from_env
    monkeypatch.delenv("LCI_SIGNING_KEY")
    created = resolve_signing_key()
    assert created.created and created.path == tmp_path / "config" / "lci" / "signing-key.pem"
    assert stat.S_IMODE(created.path.stat().st_mode) == 0o600
    again = resolve_signing_key()
    assert not again.created and again.fingerprint == created.fingerprint


def test_without_xdg_config_home_the_user_key_is_in_dot_config(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_key_path() == tmp_path / ".config" / "lci" / "signing-key.pem"


def test_a_missing_or_foreign_key_is_one_message(tmp_path: Path, monkeypatch):
    with pytest.raises(SigningError, match="lci keygen"):
        resolve_signing_key(tmp_path / "none.pem")
    (tmp_path / "bad.pem").write_text("not a key", encoding="utf-8")
    monkeypatch.setenv("LCI_SIGNING_KEY", str(tmp_path / "bad.pem"))
    with pytest.raises(SigningError, match="not an unencrypted PEM private key"):
        resolve_signing_key()


def test_lci_run_creates_the_user_key_once_says_so_and_prints_its_fingerprint(tmp_path,
                                                                             monkeypatch):
    monkeypatch.delenv("LCI_SIGNING_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = write_small_project(tmp_path / "project")
    config.write_text(config.read_text(encoding="utf-8")
                      + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    first = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "a")],
                          terminal_width=300)
    assert first.exit_code == 0, first.output
    key = resolve_signing_key()
    assert "Created your signing key" in first.output and key.fingerprint in first.output
    second = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "b")],
                           terminal_width=300)
    assert "Created your signing key" not in second.output
    assert key.fingerprint in second.output
    audited = runner.invoke(app, ["audit", str(tmp_path / "b"), "--fingerprint",
                                  key.fingerprint], terminal_width=300)
    assert audited.exit_code == 0, audited.output
    assert key.fingerprint in audited.output


def test_lci_run_signs_with_the_key_given(tmp_path: Path):
    private, public = write_key_pair(tmp_path / "city.pem")
    config = write_small_project(tmp_path / "project")
    config.write_text(config.read_text(encoding="utf-8")
                      + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out),
                                 "--signing-key", str(private)], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert (out / "public" / "signing-key.pub").read_bytes() == public.read_bytes()
    assert (out / "restricted" / "signing-key.pub").read_bytes() == public.read_bytes()
    audited = runner.invoke(app, ["audit", str(out), "--public-key", str(public)])
    assert audited.exit_code == 0, audited.output
