"""Signing keys for the tests: never the real home.

Every run signs its bundles; without this the per-user key would be created in
``~/.config/lci``. The session's key lives in a temporary folder, named by ``LCI_SIGNING_KEY``,
and ``XDG_CONFIG_HOME`` points at another temporary folder, for the tests of the per-user key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.publishing.signing import write_key_pair


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory) -> Iterator[Path]:
    """The session's signing key (its public key is beside it, ``.pub``)."""
    folder = tmp_path_factory.mktemp("keys")
    key, _ = write_key_pair(folder / "publisher.pem")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LCI_SIGNING_KEY", str(key))
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
        yield key
