"""The annual report as a reader sees it: rendered by headless Chromium, not just parsed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.config import bundled_sample_config, load_config
from pipelines.run import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def french_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "out"
    run(load_config(bundled_sample_config()), out, lang="fr")
    return out / "public" / "2024" / "report.html"


def test_the_rendered_page_holds_every_domain_table_and_the_index(french_report, tmp_path):
    result = chromium(tmp_path, "--dump-dom", french_report.as_uri())
    assert result.returncode == 0, result.stderr
    dom = result.stdout
    assert dom.count("<table") >= 9  # eight domains and the learning-city index
    for heading in ("Transition écologique", "Citoyenneté", "Création de liens territoriaux",
                    "Méthodes", "Qualité des données"):
        assert heading in dom
    assert "Évry-Courcouronnes" in dom and "<svg" in dom


def test_the_screenshot_is_a_page_not_a_blank(french_report, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    result = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2000",
                      french_report.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr
    image = Image.open(shot).convert("RGB").resize((140, 200))
    colours = image.getcolors(maxcolors=140 * 200)
    assert len(colours) > 50  # text, table colours and the header: not an empty page
