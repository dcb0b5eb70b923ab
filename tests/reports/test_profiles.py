"""Territory profiles: one printable page per territory, from the sample project's warehouse.

The sample project is run once for the module (``lci run``'s code, in English, up to the
indicators and the index); its warehouse is then read as ``lci profile`` reads it.
Corbeil-Essonnes (91174) is the profile kept as a snapshot: it has significant gaps to its
references, significant changes and a low-reliability value, so every mark appears in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import duckdb
import pytest

from indicators import Catalogue
from indicators.compute.gaps import gap_test, peer_ranks, reference_gaps, target_distance
from indicators.sql import quote_ident
from pipelines.config import bundled_sample_config, load_config
from pipelines.run import WAREHOUSE_NAME, effective_catalogue, run, stage_indicators, stage_ingest
from reports._i18n import NARROW_NBSP
from reports._profile import ProfileError, profile_path, write_profile, write_profiles
from reports._profile_charts import nice_ticks
from reports._tables import (
    LOW_RELIABILITY_MARK,
    MISSING_MARK,
    SIGNIFICANT_DOWN_MARK,
    SIGNIFICANT_UP_MARK,
    SUPPRESSED_MARK,
    legend_items,
)

YEAR = 2024
CORBEIL = "91174"  # significant gaps and changes, one low-reliability value
VANNES = "56260"  # in the group Pays de Vannes
ILE_AUX_MOINES = "56087"  # a small commune: most survey values suppressed
SENE = "56243"  # several low-reliability values
COURCOURONNES = "91182"  # merged into Évry-Courcouronnes in 2019: no value in 2024


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    """The sample project run up to its indicators and index: all a profile reads."""
    out = tmp_path_factory.mktemp("profiles") / "output"
    run(load_config(bundled_sample_config()), out, lang="en",
        stages=(("ingest", stage_ingest), ("indicators", stage_indicators)))
    return out


@pytest.fixture(scope="module")
def con(output: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(output / WAREHOUSE_NAME), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return effective_catalogue(load_config(bundled_sample_config()))


@pytest.fixture(scope="module")
def pages(con, catalogue, tmp_path_factory) -> dict[tuple[str, str], str]:
    """The profiles of a few communes, an EPCI and a group, in both languages."""
    written = {}
    for lang in ("en", "fr"):
        folder = tmp_path_factory.mktemp(f"pages-{lang}")
        codes = [CORBEIL, VANNES, ILE_AUX_MOINES, SENE, "200059228", "FR-GNLC"]
        for code, path in zip(codes, write_profiles(con, catalogue, codes, YEAR, lang, folder),
                              strict=True):
            written[(code, lang)] = path.read_text(encoding="utf-8")
    return written


def value(con, indicator: str, code: str, breakdown: str = "total", year: int = YEAR):
    return con.execute(
        "SELECT value, status FROM indicator_values WHERE indicator_id = ? AND "
        "territory_code = ? AND breakdown = ? AND year = ?",
        [indicator, code, breakdown, year]).fetchone()


def block(page: str, indicator: str) -> str:
    """The article of one indicator in a profile."""
    found = re.search(rf'<article class="lci-indicator" id="indicator-{indicator}".*?</article>',
                      page, re.S)
    assert found, f"no block for {indicator}"
    return found.group(0)


def plain(html: str) -> str:
    """The text a reader sees (tags removed, entities read)."""
    spaced = re.sub(r"</?(?:dt|dd|td|th|p|li|br|h\d|tr|title)\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", spaced)))


# Where the profile goes and what it is made of.

def test_a_profile_is_written_to_profiles_code_html_and_is_self_contained(con, catalogue,
                                                                          tmp_path):
    path = write_profile(con, catalogue, CORBEIL, YEAR, "en", tmp_path)
    assert path == tmp_path / "profiles" / f"{CORBEIL}.html" == profile_path(tmp_path, CORBEIL)
    page = path.read_text(encoding="utf-8")
    assert "<style>" in page and "@page" in page and "<svg" in page
    assert not re.search(r"<link|<script|src=|https?://", page)
    assert not list(tmp_path.rglob("*.partial"))


def test_a_code_two_levels_share_is_written_with_its_level(con, catalogue, tmp_path):
    shared = duckdb.connect()
    for table in ("indicator_values", "indicator_changes", "territory_members",
                  "territory_levels", "territory_groups"):
        shared.register("copied", con.sql(f"SELECT * FROM {quote_ident(table)}").arrow())
        shared.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM copied")
        shared.unregister("copied")
    shared.execute("UPDATE territory_members SET territory_code = '11' "  # Essonne becomes 11
                   "WHERE territory_level = 'DEP' AND territory_code = '91'")
    paths = [write_profile(shared, catalogue, code, YEAR, "en", tmp_path)
             for code in ("REG:11", "DEP:11")]
    assert paths == [profile_path(tmp_path, "11", "REG"), profile_path(tmp_path, "11", "DEP")]
    assert [p.name for p in paths] == ["REG-11.html", "DEP-11.html"]
    with pytest.raises(ProfileError, match="write DEP:11 or REG:11"):
        write_profile(shared, catalogue, "11", YEAR, "en", tmp_path)


def test_two_writes_give_identical_bytes_and_batches_do_not_change_a_page(con, catalogue,
                                                                          tmp_path):
    codes = [CORBEIL, VANNES, "FR-GNLC"]
    first = write_profiles(con, catalogue, codes, YEAR, "fr", tmp_path / "a")
    again = write_profiles(con, catalogue, codes, YEAR, "fr", tmp_path / "b", batch_size=1)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]


def test_the_english_profile_matches_its_snapshot(pages, file_regression):
    file_regression.check(pages[(CORBEIL, "en")], basename="profile_91174_en",
                          extension=".html")


def test_the_french_profile_matches_its_snapshot(pages, file_regression):
    file_regression.check(pages[(CORBEIL, "fr")], basename="profile_91174_fr",
                          extension=".html")


# Key figures first.

def test_key_figures_come_first_with_lifelong_learning_and_the_index_rank_interval(con, pages):
    page = pages[(CORBEIL, "en")]
    key = page.index('id="key-figures"')
    assert key < page.index('id="indicators"') < page.index('id="methods"')
    figures = plain(page[key:page.index('id="indicators"')])
    ll01 = value(con, "LL01", CORBEIL)[0]
    assert f"LL01 Adult learning participation (12 months) {ll01:.1f}%" in figures
    rank, low, high, units = con.execute(
        "SELECT rank, rank_p05, rank_p95, count(*) OVER () FROM composite_ranks "
        "WHERE year = ? QUALIFY territory_code = ?", [YEAR, CORBEIL]).fetchone()
    assert f"Learning-city index {rank}th of {units} communes" in figures
    assert f"rank interval {round(low):.0f}–{round(high):.0f} (5–95%)" in figures


def test_key_figures_show_only_published_values(pages):
    page = pages[(ILE_AUX_MOINES, "en")]
    cards = page[page.index('class="lci-cards"'):page.index('class="lci-reading"')]
    assert SUPPRESSED_MARK not in cards and "Learning-city index" in cards


def test_a_territory_outside_the_index_has_no_index_figure(pages):
    assert "Learning-city index" not in plain(pages[("200059228", "en")]).split("Indicators")[0]


# Every indicator with a value.

def test_every_indicator_the_territory_has_a_value_for_has_its_block(con, pages):
    for code in (CORBEIL, ILE_AUX_MOINES):
        expected = {i for (i,) in con.execute(
            "SELECT indicator_id FROM indicator_values WHERE territory_code = ? AND year = ? "
            "AND breakdown = 'total' AND (value IS NOT NULL OR status = 'suppressed')",
            [code, YEAR]).fetchall()}
        shown = set(re.findall(r'<article class="lci-indicator" id="indicator-(\w+)"',
                               pages[(code, "en")]))
        assert shown == expected


def test_a_survey_value_shows_its_confidence_interval(con, pages):
    low, high = con.execute(
        "SELECT ci_low, ci_high FROM indicator_values WHERE indicator_id = 'LL01' AND "
        "territory_code = ? AND year = ? AND breakdown = 'total'", [CORBEIL, YEAR]).fetchone()
    assert f"95% CI {low:.1f}–{high:.1f}" in plain(block(pages[(CORBEIL, "en")], "LL01"))


def test_a_territory_without_any_value_in_the_year_gets_a_page_saying_so(con, catalogue,
                                                                        tmp_path):
    page = write_profile(con, catalogue, COURCOURONNES, YEAR, "en", tmp_path).read_text(
        encoding="utf-8")
    assert "No indicator has a value for this territory in 2024." in page


# Rank among peers.

def test_rank_one_is_the_best_value_whatever_the_direction(con, catalogue):
    communes = [(lv, c) for lv, c in con.execute(
        "SELECT DISTINCT territory_level, territory_code FROM indicator_values "
        "WHERE territory_level = 'COM'").fetchall()]
    meta = {i.id: (i.direction, i.decimals) for i in catalogue}
    ranks = peer_ranks(con, YEAR, communes, meta)
    for indicator, sign in (("LL01", -1), ("LL08", 1)):  # the highest, the lowest
        (code,) = con.execute(
            "SELECT arg_min(territory_code, ? * value) FROM indicator_values "
            "WHERE indicator_id = ? AND year = ? AND breakdown = 'total' "
            "AND territory_level = 'COM' AND status IN ('ok', 'low_reliability')",
            [sign, indicator, YEAR]).fetchone()
        rank, peers = ranks[(indicator, "COM", code)]
        assert rank == 1
        published = con.execute(
            "SELECT count(*) FROM indicator_values WHERE indicator_id = ? AND year = ? AND "
            "breakdown = 'total' AND territory_level = 'COM' AND value IS NOT NULL",
            [indicator, YEAR]).fetchone()[0]
        assert peers == published
    assert not any(key[0] == "LNK01" for key in ranks)  # a context indicator is not ranked


def test_the_rank_reads_as_an_ordinal_of_the_peers_in_both_languages(con, catalogue, pages):
    meta = {i.id: (i.direction, i.decimals) for i in catalogue}
    rank, peers = peer_ranks(con, YEAR, [("COM", CORBEIL)], meta)[("LL01", "COM", CORBEIL)]
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank if rank < 20 else rank % 10, "th")
    assert f"Rank {rank}{suffix} of {peers} communes" in plain(block(pages[(CORBEIL, "en")],
                                                                     "LL01"))
    french = block(pages[(CORBEIL, "fr")], "LL01")
    assert f"{rank}<sup>{'er' if rank == 1 else 'e'}</sup> sur {peers} communes" in french
    assert "not ranked (context indicator)" in plain(block(pages[(CORBEIL, "en")], "LNK01"))


# Distance to the target.

def test_the_distance_to_the_target_is_said_with_the_target_and_its_source(con, catalogue,
                                                                           pages):
    target = catalogue.get("LL01").target
    assert target is not None
    ll01 = value(con, "LL01", CORBEIL)[0]
    distance = target_distance(ll01, target.value, "higher_is_better")
    side = "below" if distance.distance < 0 else "above"
    reached = "reached" if distance.reached else "not reached"
    shown = plain(block(pages[(CORBEIL, "en")], "LL01"))
    assert (f"{abs(distance.distance):.1f} points {side} the target of 60% — {reached} "
            f"({target.source})") in shown
    assert "Target" not in plain(block(pages[(CORBEIL, "en")], "LL05"))  # no target there


def test_a_target_is_reached_on_the_better_side_of_the_direction():
    assert target_distance(62, 60, "higher_is_better").reached
    assert not target_distance(58, 60, "higher_is_better").reached
    assert target_distance(8, 10, "lower_is_better").reached
    assert target_distance(8, 10, "context").reached is None
    assert target_distance(58, 60, "higher_is_better").distance == -2


# Reference territories and the gaps to them.

def test_by_default_the_references_are_every_level_above_and_every_group_holding_it(pages):
    assert ("Compared with: CA Grand Paris Sud Seine-Essonne-Sénart (EPCI), Essonne "
            "(départements), Île-de-France (régions).") in plain(pages[(CORBEIL, "en")])
    assert "Pays de Vannes (groups)" in plain(pages[(VANNES, "en")])
    assert "Groupes de territoires" not in pages[(CORBEIL, "fr")]


def test_the_references_setting_chooses_levels_and_groups(con, catalogue, tmp_path):
    page = write_profile(con, catalogue, CORBEIL, YEAR, "en", tmp_path,
                         references=["DEP", "FR-GNLC"]).read_text(encoding="utf-8")
    assert ("Compared with: Essonne (départements), French UNESCO learning cities "
            "(groups).") in plain(page)
    table = block(page, "LL01").split('class="lci-compare"')[1]
    assert "Essonne" in table and "Île-de-France" not in table


def test_a_territory_no_reference_holds_has_no_comparison_table(pages):
    page = pages[("FR-GNLC", "en")]
    assert "No reference territory holds this territory." in plain(page)
    assert 'class="lci-compare"' not in page


def test_an_unknown_reference_is_one_clear_error(con, catalogue, tmp_path):
    with pytest.raises(ProfileError, match="neither a territory level nor a group") as raised:
        write_profile(con, catalogue, CORBEIL, YEAR, "en", tmp_path, references=["DEPT"])
    assert "ni un niveau de territoire ni un code de groupe" in raised.value.french


def test_a_gap_to_a_containing_territory_is_the_design_based_one(con):
    """A commune inside its EPCI and région: the run's test, with their covariance."""
    pairs = [("COM", CORBEIL, "EPCI", "200059228"), ("COM", CORBEIL, "REG", "11")]
    gaps = reference_gaps(con, YEAR, pairs)
    assert gaps
    tested = 0
    for (indicator, level, code, ref_level, ref_code), gap in gaps.items():
        row = con.execute(
            "SELECT gap, se_gap, significant FROM indicator_gaps WHERE indicator_id = ? "
            "AND territory_level = ? AND territory_code = ? AND reference_level = ? "
            "AND reference_code = ? AND year = ? AND breakdown = 'total'",
            [indicator, level, code, ref_level, ref_code, YEAR]).fetchone()
        if row is None:
            assert gap.significant is None  # administrative: exact, not tested
            continue
        tested += 1
        assert (gap.gap, gap.se, gap.significant) == pytest.approx(row)
    assert tested
    assert any(g.significant for g in gaps.values())


def test_a_gap_to_a_territory_not_containing_it_is_tested_as_independent(con):
    pairs = [("COM", CORBEIL, "COM", "91228")]  # another commune
    gaps = reference_gaps(con, YEAR, pairs)
    assert gaps
    for (indicator, _, code, ref_level, ref_code), gap in gaps.items():
        mine = con.execute("SELECT value, se FROM indicator_values WHERE indicator_id = ? AND "
                           "territory_code = ? AND year = ? AND breakdown = 'total'",
                           [indicator, code, YEAR]).fetchone()
        theirs = con.execute("SELECT value, se FROM indicator_values WHERE indicator_id = ? "
                             "AND territory_level = ? AND territory_code = ? AND year = ? AND "
                             "breakdown = 'total'", [indicator, ref_level, ref_code,
                                                     YEAR]).fetchone()
        expected = gap_test(mine[0], mine[1], theirs[0], theirs[1])
        assert gap.significant == expected.significant
        assert gap.gap == pytest.approx(expected.gap)


def test_the_gap_test_is_two_sided_at_five_percent():
    assert gap_test(54.0, 1.0, 50.0, 1.0).significant  # z = 2.83
    assert not gap_test(52.0, 1.0, 50.0, 1.0).significant  # z = 1.41
    assert gap_test(46.0, 1.0, 50.0, 1.0).significant
    assert gap_test(52.0, None, 50.0, None).significant is None
    assert gap_test(52.0, 1.0, 50.0, 1.0).se == pytest.approx(2 ** 0.5)


def test_significant_gaps_are_in_bold_with_an_arrow_and_the_others_say_so(con, pages):
    gap = reference_gaps(con, YEAR, [("COM", CORBEIL, "EPCI", "200059228")])
    significant = [i for (i, *_), g in gap.items() if g.significant]
    plain_ones = [i for (i, *_), g in gap.items() if g.significant is False]
    page = pages[(CORBEIL, "en")]
    for indicator in significant:
        row = block(page, indicator).split("CA Grand Paris Sud")[1].split("</tr>")[0]
        assert re.search(r'<strong class="lci-sig" title="[^"]+">[▲▼]', row)
        assert ">significant<" in row
    for indicator in plain_ones:
        row = block(page, indicator).split("CA Grand Paris Sud")[1].split("</tr>")[0]
        assert "lci-sig" not in row and ">not significant<" in row


def test_the_methods_note_says_gaps_and_changes_take_the_covariance(pages):
    methods = plain(pages[(CORBEIL, "en")].split('id="methods"')[1])
    assert methods.count("covariance") >= 2 and "Student" in methods
    french = plain(pages[(CORBEIL, "fr")].split('id="methods"')[1])
    assert french.count("covariance") >= 2 and "Student" in french


# The trend chart.

def test_the_trend_chart_covers_every_year_on_one_scale_with_an_accessible_name(con, pages):
    chart = block(pages[(CORBEIL, "en")], "LL01").split('<figure class="lci-chart">')[1]
    assert 'role="img"' in chart and 'aria-labelledby="chart-LL01-title"' in chart
    title = unescape(re.search(r"<title[^>]*>(.*?)</title>", chart).group(1))
    years = [y for (y,) in con.execute(
        "SELECT DISTINCT year FROM indicator_values ORDER BY year").fetchall()]
    assert title.startswith(f"LL01 from {years[0]} to {years[-1]}: Corbeil-Essonnes ")
    for name in ("CA Grand Paris Sud Seine-Essonne-Sénart", "Essonne", "Île-de-France"):
        assert name in title
    for year in years:
        assert f">{year}</text>" in chart
    ticks = [float(t) for t in re.findall(r'text-anchor="end"[^>]*>([\d.]+)</text>', chart)]
    values = [v for (v,) in con.execute(
        "SELECT value FROM indicator_values WHERE indicator_id = 'LL01' AND breakdown = "
        "'total' AND value IS NOT NULL AND territory_code IN (?, '200059228', '91', '11')",
        [CORBEIL]).fetchall()]
    assert min(ticks) <= min(values) and max(values) <= max(ticks)  # one axis for all lines
    assert chart.count("<polyline") == 4  # the territory and its three references


def test_the_axis_of_a_chart_spans_at_least_a_fifth_of_its_values():
    ticks = nice_ticks(69.6, 69.9)
    assert ticks[-1] - ticks[0] >= 0.2 * 69.9 and ticks[0] <= 69.6 and ticks[-1] >= 69.9
    assert nice_ticks(0.0, 0.0)[0] == 0.0  # counts are never drawn below zero


def test_a_chart_names_withheld_values_by_their_mark(pages):
    title = re.search(r"<title[^>]*>(.*?)</title>", block(pages[(ILE_AUX_MOINES, "en")],
                                                         "LL01")).group(1)
    assert f"Île-aux-Moines {SUPPRESSED_MARK}, {SUPPRESSED_MARK}" in unescape(title)


# Sex breakdown and change.

def test_the_sex_breakdown_is_shown_where_it_is_published(con, pages):
    women, men = value(con, "LL01", CORBEIL, "sex=F")[0], value(con, "LL01", CORBEIL,
                                                                "sex=M")[0]
    assert f"By sex women {women:.1f} · men {men:.1f}" in plain(block(pages[(CORBEIL, "en")],
                                                                       "LL01"))
    assert "By sex" not in plain(block(pages[(CORBEIL, "en")], "LL04"))  # no breakdown


def test_the_change_since_the_previous_year_says_whether_it_is_significant(con, pages):
    change = con.execute("SELECT change, previous_year FROM indicator_changes WHERE "
                         "indicator_id = 'LL08' AND territory_code = ? AND year = ? AND "
                         "breakdown = 'total' AND significant", [CORBEIL, YEAR]).fetchone()
    assert change is not None and change[0] < 0
    shown = block(pages[(CORBEIL, "en")], "LL08")
    assert re.search(rf'<dt>Change since {change[1]}</dt><dd><strong class="lci-sig" '
                     rf'title="statistically significant decrease[^"]*">'
                     rf"{SIGNIFICANT_DOWN_MARK}&#8239;−{abs(change[0]):.1f}</strong> points, "
                     rf"significant</dd>", shown)
    assert "points, not significant" in plain(block(pages[(CORBEIL, "en")], "LL01"))
    assert "exhaustive count, not tested" in plain(block(pages[(CORBEIL, "en")], "MED04"))


# Marks.

def test_a_suppressed_value_shows_its_mark_never_a_number(pages):
    shown = block(pages[(ILE_AUX_MOINES, "en")], "LL01")
    assert re.search(rf'<span class="lci-big"><span class="lci-mark lci-suppressed" '
                     rf'title="[^"]+">{SUPPRESSED_MARK}</span>', shown)
    assert "95% CI" not in shown and "Rank" not in plain(shown)


def test_a_low_reliability_value_is_always_in_italic_on_hatching_with_its_mark(con, pages):
    low = con.execute("SELECT indicator_id, value FROM indicator_values WHERE territory_code = ? "
                      "AND year = ? AND breakdown = 'total' AND status = 'low_reliability'",
                      [SENE, YEAR]).fetchall()
    assert low
    page = pages[(SENE, "en")]
    for indicator, number in low:
        shown = block(page, indicator)
        text = f"{number:.1f}"
        flagged = re.findall(rf'<span class="lci-low" style="[^"]*repeating-linear-gradient'
                             rf'[^"]*"><em>{re.escape(text)}%?</em>&nbsp;<span class="lci-mark '
                             rf'lci-low-reliability" title="[^"]+">{LOW_RELIABILITY_MARK}</span>',
                             shown)
        assert len(flagged) >= 2  # the big value and its row in the comparison at least
        # wherever the number shows (a reference of the same value is flagged too), flagged
        assert len(re.findall(rf">{re.escape(text)}%?<", shown)) == len(flagged)


def test_the_legend_explains_every_mark_in_the_words_of_the_report(pages):
    legend = plain(pages[(CORBEIL, "en")].split('class="lci-reading"')[1].split("</div>")[0])
    for symbol, meaning in legend_items("en"):
        assert f"{symbol} {meaning}" in legend
    assert f"{SIGNIFICANT_UP_MARK} or {SIGNIFICANT_DOWN_MARK} in bold" in legend
    assert SUPPRESSED_MARK in legend and MISSING_MARK in legend


# French.

def test_the_french_profile_is_french_with_french_typography(con, pages):
    page = pages[(CORBEIL, "fr")]
    assert '<html lang="fr">' in page and "Portrait de territoire" in page
    ll01 = value(con, "LL01", CORBEIL)[0]
    assert f"{ll01:.1f}".replace(".", ",") + f"{NARROW_NBSP}%" in page
    body = unescape(re.sub(r"<[^>]+>", "", page.split("<body")[1]))
    assert f"Comparé à{NARROW_NBSP}:" in body
    assert not re.search(r"\S [;:%?!»]", body)  # a line never breaks before these
    assert "Chiffres clés 2024" in page and "Méthodes" in page
    for english in ("Key figures", "Compared with", "not significant", "Rank"):
        assert english not in body


# Unknown codes.

def test_an_unknown_code_is_one_clear_error_listing_near_matches(con, catalogue, tmp_path):
    with pytest.raises(ProfileError) as raised:
        write_profiles(con, catalogue, [VANNES, "5626"], YEAR, "en", tmp_path)
    assert str(raised.value) == ("'5626': no territory or group has this code in the "
                                 "warehouse; did you mean 56260 (Vannes), 56206 (Saint-Avé), "
                                 "56243 (Séné), 56 (Morbihan)?")
    assert raised.value.french.startswith("« 5626 » : aucun territoire ni groupe n'a ce code")
    assert not (tmp_path / "profiles").exists()  # nothing written when one code is unknown


def test_many_unknown_codes_are_named_ten_at_most_and_the_rest_counted(con, catalogue,
                                                                        tmp_path):
    with pytest.raises(ProfileError) as raised:
        write_profiles(con, catalogue, [f"X{n}" for n in range(25)], YEAR, "en", tmp_path)
    lines = str(raised.value).splitlines()
    assert len(lines) == 11 and lines[-1] == "and 15 more unknown code(s)"
    assert raised.value.french.splitlines()[-1] == "et 15 autre(s) code(s) inconnu(s)"


def test_a_misspelt_name_finds_the_territory_by_its_name(con, catalogue, tmp_path):
    with pytest.raises(ProfileError, match=r"did you mean 56260 \(Vannes\)"):
        write_profile(con, catalogue, "Vanes", YEAR, "en", tmp_path)


# Print.

def test_the_stylesheet_prints_on_a4_portrait_and_keeps_each_indicator_together(pages):
    css = pages[(CORBEIL, "en")]
    assert re.search(r"@page\s*{\s*size: A4 portrait", css)
    assert re.search(r"\.lci-indicator {[^}]*break-inside: avoid", css)
    assert re.search(r"h2 {[^}]*break-after: avoid", css)  # a heading stays with its content


# Queries for a batch.

class CountingConnection:
    """A connection that counts the statements it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements = 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return self.con.execute(*args, **kwargs)

    def sql(self, *args, **kwargs):
        self.statements += 1
        return self.con.sql(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.con, name)


def test_the_number_of_queries_does_not_grow_with_the_number_of_territories(con, catalogue,
                                                                            tmp_path):
    every = [code for (code,) in con.execute(
        "SELECT DISTINCT territory_code FROM indicator_values ORDER BY 1").fetchall()]
    counts = []
    communes = [code for code in every if len(code) == 5 and code.isdigit()]
    for codes in ([CORBEIL], communes[:5], every):
        counting = CountingConnection(con)
        write_profiles(counting, catalogue, codes, YEAR, "en", tmp_path / str(len(codes)))
        counts.append(counting.statements)
    assert len(every) > 30
    assert counts[0] == counts[1] == counts[2]
