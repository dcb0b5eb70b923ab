"""The annual report, a territory profile and the validation report as readers see them:
rendered by headless Chromium, not just parsed.

One run of the sample project per language (module-scoped); each page is laid out once to
measure it (a copy with a measuring script) and once to take its screenshot.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from reports._tables import PALETTE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH, HEIGHT = 1400, 2000
LANGS = ("en", "fr")

# Run at the end of the body, once the page is laid out: what a reader's window shows.
MEASURE = """<script>
(() => {
  const tables = [...document.querySelectorAll("table")];
  const visible = tables.filter((t) => t.getBoundingClientRect().width > 0
                                    && getComputedStyle(t).visibility !== "hidden");
  const out = document.createElement("pre");
  out.id = "lci-measure";
  out.textContent = JSON.stringify({
    window: window.innerWidth,
    page: document.documentElement.scrollWidth,
    tables: tables.length,
    visible: visible.length,
    widest: Math.max(...visible.map((t) => t.getBoundingClientRect().right)),
    charts: [...document.querySelectorAll("svg:not([aria-hidden=true])")].map((svg) => ({
      role: svg.getAttribute("role"),
      names: (svg.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean)
        .map((id) => (document.getElementById(id) || {}).textContent || ""),
    })),
  });
  document.body.appendChild(out);
})();
</script>"""


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


PAGES = {"report": "public/2024/report.html", "profile": "public/2024/profiles/91228.html",
         "validation": "restricted/validation/report.html"}
"""The pages looked at: the annual report, the profile of Évry-Courcouronnes, the clerk's
validation report."""


def look(page: Path, folder: Path, name: str) -> dict:
    """The page's DOM as Chromium builds it, its measures and a screenshot of the window."""
    measured = page.with_name(f"measured-{page.name}")
    measured.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", f"{MEASURE}\n</body>"), encoding="utf-8")
    size = f"--window-size={WIDTH},{HEIGHT}"
    result = chromium(folder / "profile", size, "--dump-dom", measured.as_uri())
    assert result.returncode == 0, result.stderr
    dom = result.stdout
    measures = json.loads(unescape(re.search(r'<pre id="lci-measure">(.*?)</pre>', dom,
                                             flags=re.S).group(1)))
    shot = folder / f"{name}.png"
    result = chromium(folder / "profile", f"--screenshot={shot}", size, page.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr
    return {"dom": dom, "measures": measures, "shot": shot}


@pytest.fixture(scope="module")
def pages(tmp_path_factory, sample_run) -> dict[str, dict]:
    """Per language, then per page of ``PAGES``: its DOM, measures and screenshot."""
    folder = tmp_path_factory.mktemp("browser")
    found = {}
    for lang in LANGS:
        out = folder / lang / "out"  # a copy: the measured pages are written beside the pages
        shutil.copytree(sample_run(lang).out, out)
        found[lang] = {name: look(out / path, folder, f"{name}-{lang}")
                       for name, path in PAGES.items()}
        found[lang].update(found[lang]["report"])  # the report's, for the tests below
    return found


def test_the_rendered_page_holds_every_domain_table_and_the_index(pages):
    dom = pages["fr"]["dom"]
    assert dom.count("<table") >= 9  # eight domains and the learning-city index
    for heading in ("Transition écologique", "Citoyenneté", "Création de liens territoriaux",
                    "Méthodes", "Qualité des données"):
        assert heading in dom
    assert "Évry-Courcouronnes" in dom and "<svg" in dom


@pytest.mark.parametrize("lang", LANGS)
def test_every_table_is_visible_and_nothing_is_wider_than_the_window(pages, lang):
    measures = pages[lang]["measures"]
    assert measures["tables"] >= 9 and measures["visible"] == measures["tables"]
    assert measures["page"] <= measures["window"] == WIDTH
    assert measures["widest"] <= measures["window"]


@pytest.mark.parametrize(("lang", "title"), [
    ("en", "Rank of each territory in the learning-city index"),
    ("fr", "Rang de chaque territoire dans l'indice de la ville apprenante")])
def test_every_chart_has_an_accessible_name_in_the_browser(pages, lang, title):
    charts = pages[lang]["measures"]["charts"]
    assert charts
    for chart in charts:
        assert chart["role"] == "img"
        assert chart["names"] and all(name.strip() for name in chart["names"])
    assert any(chart["names"][0].startswith(title) for chart in charts)


@pytest.mark.parametrize("lang", LANGS)
def test_the_screenshot_is_a_page_with_shaded_tables_not_a_blank(pages, lang):
    from PIL import Image

    image = Image.open(pages[lang]["shot"]).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    small = image.resize((140, 200))
    assert len(small.getcolors(maxcolors=140 * 200)) > 50  # text, tables, header: not empty
    colours = {colour for _, colour in image.getcolors(maxcolors=WIDTH * HEIGHT)}
    darkest = tuple(int(PALETTE[-1][i:i + 2], 16) for i in (1, 3, 5))
    assert darkest in colours  # the index's best class is painted in the first screen


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["profile", "validation"])
def test_the_profile_and_the_validation_report_fit_the_window_and_are_not_blank(pages, lang,
                                                                              name):
    from PIL import Image

    seen = pages[lang][name]
    measures = seen["measures"]
    assert measures["tables"] >= 1 and measures["visible"] == measures["tables"]
    assert measures["page"] <= measures["window"] == WIDTH
    for chart in measures["charts"]:
        assert chart["role"] == "img" and all(n.strip() for n in chart["names"])
    small = Image.open(seen["shot"]).convert("RGB").resize((140, 200))
    assert len(small.getcolors(maxcolors=140 * 200)) > 30


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ("Évry-Courcouronnes", "Key figures", "Grand Paris Sud")),
    ("fr", ("Évry-Courcouronnes", "Chiffres clés", "Grand Paris Sud"))])
def test_the_profile_shows_its_territory_key_figures_references_and_charts(pages, lang, words):
    seen = pages[lang]["profile"]
    for word in words:
        assert word in seen["dom"]
    assert len(seen["measures"]["charts"]) >= 10  # a trend chart per indicator shown
