"""The learning-city index in the report: a table of scores and ranks, and a rank-interval chart.

Reads ``composite_scores``, ``composite_ranks``, ``composite_sensitivity`` and ``composite_log``
as ``indicators.compute_learning_city_index`` wrote them; computes no statistics. The chart is
an inline SVG drawn with fixed ids and no date, so the report stays byte-identical across runs.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

import duckdb
import pandas as pd
from great_tables import GT, loc, style

from indicators import Catalogue
from indicators.learning_index import index_not_built
from indicators.territories import in_sentence, level_labels, split_reference
from reports._i18n import NARROW_NBSP, Lang, check_lang, format_number, format_percent
from reports._tables import HIGHLIGHT_RULE, PALETTE, ROWS_PER_LEVEL, shade_styles

INDEX_ENDS = 10
"""When the index ranks more units than a table lists: how many first and last are shown."""

TABLE_ID = "lci-index"
SECTION_ID = "learning-city-index"
ACCENT, INTERVAL, NOMINAL = "#1b6e3a", "#a1d99b", "#222222"

_STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Learning-city index", "Indice de la ville apprenante"),
    "subtitle": ("{units}, {year} · domain scores and index on 0–100, rank with its 5–95{nbsp}% "
                 "interval",
                 "{units}, {year} · scores des domaines et indice sur 0–100, rang et son "
                 "intervalle à 5–95{nbsp}%"),
    "stubhead": ("Territory", "Territoire"),
    "index": ("Index", "Indice"),
    "rank": ("Rank", "Rang"),
    "interval": ("5–95{nbsp}% interval", "Intervalle 5–95{nbsp}%"),
    "median": ("Median rank", "Rang médian"),
    "ranks": ("Rank among the {units_lower}", "Rang parmi les {units_lower}"),
    "domains": ("Action domains (0–100)", "Domaines d'action (0–100)"),
    "intro": (
        "One score per territory sums up the action domains: each indicator is put on a 0–100 "
        "scale where 100 is the best territory, indicators are averaged within their domain and "
        "domains into the index. How sure is a rank? The index was rebuilt {runs} times while "
        "varying the method choices and the survey estimates within their sampling error; the "
        "interval holds 90{nbsp}% of the ranks obtained.",
        "Un score par territoire résume les domaines d'action : chaque indicateur est ramené sur "
        "une échelle de 0 à 100 où 100 correspond au meilleur territoire, les indicateurs sont "
        "moyennés dans leur domaine et les domaines dans l'indice. Quelle confiance accorder à "
        "un rang ? L'indice a été recalculé {runs} fois en faisant varier les choix de méthode "
        "et les estimations d'enquête dans leur marge d'erreur ; l'intervalle contient 90{nbsp}% "
        "des rangs obtenus.",
    ),
    "note_rank": (
        "Rank 1 is the best; tied territories share the best rank. The interval runs from the 5th "
        "to the 95th percentile of the rank over the Monte Carlo runs. The index is shaded by "
        "the percentile rank of its rank, in four classes of equal size: the darker the green, "
        "the better.",
        "Le rang 1 est le meilleur ; les territoires à égalité partagent le meilleur rang. "
        "L'intervalle va du 5e au 95e centile du rang sur les tirages de Monte-Carlo. La "
        "couleur de l'indice suit le rang centile de son rang, en quatre classes d'effectif "
        "égal\u00a0: plus le vert est foncé, meilleur est le rang.",
    ),
    "chart_caption": (
        "Rank of each territory: dot for the median rank, diamond for the published rank, bar for "
        "the 5–95{nbsp}% interval. Long bars mean ranks that depend on the method or on "
        "sampling error.",
        "Rang de chaque territoire : point pour le rang médian, losange pour le rang publié, barre "
        "pour l'intervalle à 5–95{nbsp}%. Une barre longue signale un rang qui dépend de la "
        "méthode ou de l'erreur d'échantillonnage.",
    ),
    "axis": ("Rank (1 = best)", "Rang (1 = meilleur)"),
    "highlight": ("Names in bold with a green rule: the territories this report is about.",
                  "Noms en gras avec un filet vert\u00a0: les territoires sur lesquels porte ce "
                  "rapport."),
    "chart_title": ("Rank of each territory in the learning-city index, {year}, with its "
                    "5–95{nbsp}% interval",
                    "Rang de chaque territoire dans l'indice de la ville apprenante, {year}, et "
                    "son intervalle à 5–95{nbsp}%"),
    "chart_desc": ("Ranks among {total}, best first: {items}.",
                   "Rangs parmi {total}, du meilleur au moins bon\u00a0: {items}."),
    "chart_item": ("{name}, rank {rank} (median {median}, interval {interval})",
                   "{name}, rang {rank} (médian {median}, intervalle {interval})"),
    "shown": (
        "The table and the chart show {n} of the {total} {units_lower} in the index: the "
        "{ends} first and the {ends} last ranks{chosen}, in rank order (a dashed line marks "
        "each gap). Every unit's scores and ranks are in published/composite_scores.parquet "
        "and published/composite_ranks.parquet.",
        "Le tableau et le graphique présentent {n} des {total} {units_lower} de l'indice : les "
        "{ends} premiers et les {ends} derniers rangs{chosen}, dans l'ordre du rang (un trait "
        "pointillé marque chaque intervalle omis). Les scores et les rangs de chaque unité "
        "figurent dans published/composite_scores.parquet et published/composite_ranks.parquet.",
    ),
    "shown.chosen": (", and the report's territories among them ({n})",
                     ", ainsi que les territoires du rapport qui y figurent ({n})"),
    "legend_median": ("median rank", "rang médian"),
    "legend_rank": ("published rank", "rang publié"),
    "legend_interval": ("5–95{nbsp}% interval", "intervalle à 5–95{nbsp}%"),
    "sensitivity": (
        "Which choices move the ranks most (share of the variance of rank shifts explained by "
        "each choice alone, first-order sensitivity index): {items}.",
        "Choix qui déplacent le plus les rangs (part de la variance des écarts de rang "
        "expliquée par chaque choix seul, indice de sensibilité de premier ordre) : {items}.",
    ),
    "choice.normalise": ("normalisation", "normalisation"),
    "choice.aggregate": ("aggregation", "agrégation"),
    "choice.impute": ("imputation", "imputation"),
    "choice.weights": ("weights", "pondérations"),
    "choice.sampling": ("survey sampling error", "erreur d'échantillonnage des enquêtes"),
    "methods_title": ("Learning-city index", "Indice de la ville apprenante"),
    "methods_frame": (
        "The index follows the OECD/JRC Handbook on Constructing Composite Indicators, as the "
        "JRC's COINr package implements it. The catalogue's indicators form the action domains "
        "and the domains form the index, with {weights}; context indicators are left out. "
        "Each indicator is oriented so that higher is better and normalised by {normalise} over "
        "the territories ranked; each domain, then the index, is the weighted {aggregate} of "
        "its parts, "
        "and a missing part's weight goes to the other parts. Imputation of missing values: "
        "{impute}.",
        "L'indice suit le manuel OCDE/JRC de construction des indicateurs composites, tel que "
        "le met en œuvre le logiciel COINr du JRC. Les indicateurs du catalogue forment les "
        "domaines d'action et les domaines forment l'indice, avec {weights} ; les indicateurs "
        "de contexte en sont exclus. Chaque indicateur est orienté pour que « plus élevé = "
        "mieux » et normalisé par {normalise} entre les territoires classés ; chaque domaine, "
        "puis "
        "l'indice, est la {aggregate} pondérée de ses composantes, et le poids d'une "
        "composante manquante revient aux autres. Imputation des valeurs manquantes : {impute}.",
    ),
    "methods_uncertainty": (
        "Uncertainty: {runs} Monte Carlo runs ({draws} base draws, Saltelli design, seed "
        "{seed}) vary {factors}. Every choice is recorded in the composite_log table of the "
        "warehouse.",
        "Incertitude : {runs} tirages de Monte-Carlo ({draws} tirages de base, plan de "
        "Saltelli, graine {seed}) font varier {factors}. Chaque choix est consigné dans la "
        "table composite_log de l'entrepôt.",
    ),
    "weights.equal": ("equal weights", "des poids égaux"),
    "weights.set": ("the weights recorded in the log", "les poids consignés dans le journal"),
    "or": (" or ", " ou "),
    "and": (" and ", " et "),
    "vary.normalise": ("the normalisation ({items})", "la normalisation ({items})"),
    "vary.aggregate": ("the aggregation ({items})", "l'agrégation ({items})"),
    "vary.impute": ("the imputation ({items})", "l'imputation ({items})"),
    "vary.weights": ("every weight within ±{noise}{nbsp}%", "chaque poids de ±{noise}{nbsp}%"),
    "vary.sampling": (
        "each survey estimate within its sampling distribution (from its standard error; "
        "logit scale for percentages)",
        "chaque estimation d'enquête selon sa distribution d'échantillonnage (à partir de son "
        "erreur type ; échelle logit pour les pourcentages)",
    ),
    "method.minmax": ("min-max onto {lower}–{upper}", "min-max sur {lower}–{upper}"),
    "method.zscore": ("z-scores", "scores z"),
    "method.rank": ("ranks", "rangs"),
    "method.prank": ("percentile ranks", "rangs centiles"),
    "method.target": ("distance to target", "distance à la cible"),
    "method.goalposts": ("goalposts", "bornes fixes"),
    "method.amean": ("arithmetic mean", "moyenne arithmétique"),
    "method.gmean": ("geometric mean", "moyenne géométrique"),
    "method.hmean": ("harmonic mean", "moyenne harmonique"),
    "method.none": ("none", "aucune"),
    "method.mean": ("the indicator's mean", "la moyenne de l'indicateur"),
    "method.median": ("the indicator's median", "la médiane de l'indicateur"),
    "method.group_mean": ("the group mean", "la moyenne du groupe"),
    "method.previous_year": ("the previous year's value", "la valeur de l'année précédente"),
    # The index left out: one sentence, from the log's not_built entry.
    "not_built.no_values": (
        "No learning-city index for {year}: no indicator has a value for the territories ranked.",
        "Pas d'indice de la ville apprenante pour {year} : aucun indicateur n'a de valeur pour "
        "les territoires classés.",
    ),
    "not_built.too_few_units": (
        "No learning-city index for {year}: fewer than two territories have values for enough of "
        "its indicators (at least {unit_share}), and an index compares territories.",
        "Pas d'indice de la ville apprenante pour {year} : moins de deux territoires ont des "
        "valeurs pour assez de ses indicateurs (au moins {unit_share}), or un indice compare "
        "des territoires.",
    ),
    "not_built.no_variation": (
        "No learning-city index for {year}: no indicator differs between the territories ranked.",
        "Pas d'indice de la ville apprenante pour {year} : aucun indicateur ne distingue les "
        "territoires classés.",
    ),
    "not_built.no_domain": (
        "No learning-city index for {year}: no action domain has values for at least "
        "{domain_share} of its indicators.",
        "Pas d'indice de la ville apprenante pour {year} : aucun domaine d'action n'a de "
        "valeurs pour au moins {domain_share} de ses indicateurs.",
    ),
    "not_built.too_few_indicators": (
        "No learning-city index for {year}: only {usable} indicator could enter it, and an "
        "index of one indicator would only repeat that indicator's ranking.",
        "Pas d'indice de la ville apprenante pour {year} : un seul indicateur pouvait y entrer, "
        "et un indice d'un seul indicateur ne ferait que répéter son classement.",
    ),
    "screened": (
        "Left out for lack of data (a domain needs values for at least {domain_share} of its "
        "indicators, a territory for at least {unit_share} of the index's indicators): {items}.",
        "Exclus faute de données (un domaine doit avoir des valeurs pour au moins "
        "{domain_share} de ses indicateurs, un territoire pour au moins {unit_share} des "
        "indicateurs de l'indice) : {items}.",
    ),
    "screened.domain": ("{domain} ({n_with} of {n_total} indicators)",
                        "{domain} ({n_with} indicateurs sur {n_total})"),
    "screened.unit": ("{name} (values for {share})", "{name} (valeurs pour {share})"),
}


def _t(key: str, lang: Lang, **values: object) -> str:
    pair = _STRINGS[key]
    return pair[0 if lang == "en" else 1].format(nbsp=NARROW_NBSP if lang == "fr" else "",
                                                 **values)


def index_title(lang: str) -> str:
    return _t("title", check_lang(lang))


def _base_label(con: duckdb.DuckDBPyConnection, lang: Lang) -> str:
    """The heading of the level the index ranks (the project's base unit: "Communes")."""
    labels = level_labels(con)
    return labels[0][2 if lang == "fr" else 1] if labels else "Communes"


def has_learning_city_index(con: duckdb.DuckDBPyConnection, year: int) -> bool:
    """Whether the warehouse holds the index of ``year`` (the report shows it only then)."""
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema()"
    ).fetchall()}
    if not {"composite_scores", "composite_ranks"} <= tables:
        return False
    return bool(con.execute("SELECT count(*) FROM composite_ranks WHERE year = ?",
                            [year]).fetchone()[0])


@dataclass(frozen=True)
class IndexShown:
    """Which index units the table and chart show: all, or the ends and the report's own."""

    total: int  # units ranked
    positions: tuple[int, ...]  # place in rank order (1 = first) of each unit shown
    chosen: int  # the report's territories among the units shown
    ends: int  # first and last units shown when not all are

    @property
    def partial(self) -> bool:
        return len(self.positions) < self.total

    def gaps(self) -> list[int]:
        """Rows (0-based) after which units are left out."""
        return [n for n, (a, b) in enumerate(pairwise(self.positions)) if b - a > 1]


def build_index_table(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                      lang: str, territories: Sequence[str] | None = None,
                      rows_per_level: int | None = ROWS_PER_LEVEL, ends: int = INDEX_ENDS,
                      highlight: Sequence[str] | None = None) -> GT:
    """Communes by rank: rank, 5–95 % interval, median rank, index and domain scores.

    Past ``rows_per_level`` units, only the ``ends`` first and last and the report's
    ``territories`` among the units are shown, in rank order, a dashed rule at each gap. The
    territories the report is about (``highlight``) are in bold with a rule, as in the domain
    tables."""
    lang_ = check_lang(lang)
    frame, domains, shown = _index_frame(con, catalogue, year, lang_, territories,
                                         rows_per_level, ends)
    table = frame.drop(columns=["territory_code", "rank_p05", "rank_p95", "shade"])
    gt = (
        GT(table, rowname_col="name", id=TABLE_ID, locale=lang_)
        .tab_header(title=_t("title", lang_), subtitle=_t("subtitle", lang_, year=year,
                                                          units=_base_label(con, lang_)))
        .tab_stubhead(label=_t("stubhead", lang_))
        .fmt_integer(columns="rank")
        .fmt_number(columns="median_rank", decimals=1, drop_trailing_zeros=True)
        .fmt_number(columns=["INDEX", *domains], decimals=1)
        .sub_missing(missing_text="—")
        .cols_label(rank=_t("rank", lang_), interval=_t("interval", lang_),
                    median_rank=_t("median", lang_), INDEX=_t("index", lang_),
                    **{code: catalogue.domain(code).label(lang_) for code in domains})
        .tab_spanner(label=_t("ranks", lang_, units_lower=in_sentence(_base_label(con, lang_))),
                     columns=["rank", "interval", "median_rank"])
        .tab_spanner(label=_t("domains", lang_), columns=domains)
        .cols_align(align="center", columns=["rank", "interval", "median_rank"])
        .tab_style(style.text(weight="bold"), loc.body(columns=["rank", "INDEX"]))
        .tab_source_note(_t("note_rank", lang_))
        .tab_options(table_font_size="14px", heading_align="left",
                     column_labels_font_weight="bold", data_row_padding="5px",
                     source_notes_font_size="85%")
    )
    if table["INDEX"].notna().sum() >= 2:  # classes of the rank's percentile, as domain tables
        classes: dict[int, list[int]] = {}
        for n, (shade, score) in enumerate(zip(frame["shade"], table["INDEX"], strict=True)):
            if pd.notna(shade) and pd.notna(score):
                classes.setdefault(int(shade), []).append(n)
        for shade, rows in sorted(classes.items()):
            gt = gt.tab_style(shade_styles(shade), loc.body(columns="INDEX", rows=rows))
    own = set(_index_codes(con, highlight))
    if mine := [n for n, code in enumerate(frame["territory_code"]) if code in own]:
        gt = gt.tab_style([style.text(weight="bold"),
                           style.borders(sides="left", color=HIGHLIGHT_RULE, weight="4px")],
                          loc.stub(rows=mine)).tab_source_note(_t("highlight", lang_))
    if gaps := [n + 1 for n in shown.gaps()]:
        gt = gt.tab_style(style.borders(sides="top", color="#737373", style="dashed",
                                        weight="2px"),
                          [loc.body(rows=gaps), loc.stub(rows=gaps)])
    return gt


def rank_interval_chart(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                        lang: str, territories: Sequence[str] | None = None,
                        rows_per_level: int | None = ROWS_PER_LEVEL, ends: int = INDEX_ENDS
                        ) -> str:
    """An inline SVG: per commune, its 5–95 % rank interval, median rank and published rank
    (the units ``build_index_table`` shows, on an axis of all ranks)."""
    import matplotlib  # here, not at import: only reports with an index need it
    from matplotlib.figure import Figure

    lang_ = check_lang(lang)
    frame, _, shown = _index_frame(con, catalogue, year, lang_, territories, rows_per_level,
                                   ends)
    n = len(frame)
    with matplotlib.rc_context({"svg.hashsalt": "lci-learning-city-index",
                                "svg.fonttype": "path", "font.family": "DejaVu Sans",
                                "font.size": 9}):
        figure = Figure(figsize=(7.5, 0.28 * n + 1.3))
        axes = figure.add_subplot()
        y = range(n)
        axes.hlines(y, frame["rank_p05"], frame["rank_p95"], colors=INTERVAL, linewidth=5,
                    label=_t("legend_interval", lang_))
        axes.scatter(frame["median_rank"], y, color=ACCENT, s=28, zorder=3,
                     label=_t("legend_median", lang_))
        axes.scatter(frame["rank"], y, marker="D", facecolors="none", edgecolors=NOMINAL,
                     s=30, zorder=4, label=_t("legend_rank", lang_))
        axes.set_yticks(list(y), labels=list(frame["name"]))
        axes.set_ylim(n - 0.5, -0.5)
        if shown.partial:  # an axis of every rank, with its own ticks; a rule at each gap
            axes.set_xlim(0.5, shown.total + 0.5)
            for gap in shown.gaps():
                axes.axhline(gap + 0.5, color="#737373", linestyle="--", linewidth=0.8)
        else:
            axes.set_xlim(0.5, n + 0.5)
            axes.set_xticks(range(1, n + 1))
        axes.set_xlabel(_t("axis", lang_))
        axes.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):].strip()
    return _with_accessible_name(svg, _chart_title(year, lang_),
                                 _chart_description(frame, shown, lang_))


CHART_ID = "lci-index-chart"


def _chart_title(year: int, lang: Lang) -> str:
    return _t("chart_title", lang, year=year)


def _chart_description(frame: pd.DataFrame, shown: IndexShown, lang: Lang) -> str:
    """The chart's content in words, for a reader who cannot see it: each unit's ranks."""
    items = [_t("chart_item", lang, name=name,
                rank="—" if pd.isna(rank) else format_number(int(rank), 0, lang),
                median="—" if pd.isna(median) else _rank_text(median, lang),
                interval=_interval(low, high, lang))
             for name, rank, median, low, high in zip(
                 frame["name"], frame["rank"], frame["median_rank"], frame["rank_p05"],
                 frame["rank_p95"], strict=True)]
    separator = "\u00a0; " if lang == "fr" else "; "
    return _t("chart_desc", lang, total=format_number(shown.total, 0, lang),
              items=separator.join(items))


def _with_accessible_name(svg: str, title: str, description: str) -> str:
    """``svg`` as an image with a name and a description (``<title>``, ``<desc>``, both named
    by ``aria-labelledby``): its text is drawn as paths, which no screen reader can read."""
    head_end = svg.index(">") + 1
    named = (f'<svg style="max-width: 100%; height: auto;" role="img" '
             f'aria-labelledby="{CHART_ID}-title {CHART_ID}-desc" '
             + svg[len("<svg "):head_end]
             + f'\n <title id="{CHART_ID}-title">{escape(title)}</title>'
             f'\n <desc id="{CHART_ID}-desc">{escape(description)}</desc>')
    return named + svg[head_end:]


def index_section(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                  lang: str, territories: Sequence[str] | None = None,
                  rows_per_level: int | None = ROWS_PER_LEVEL, ends: int = INDEX_ENDS,
                  highlight: Sequence[str] | None = None) -> str | None:
    """The report section of the index, or ``None`` when the warehouse has none for ``year``;
    past ``rows_per_level`` units it says which it shows."""
    lang_ = check_lang(lang)
    if not has_learning_city_index(con, year):
        return None
    runs = _uncertainty(con, year)[0]
    table = build_index_table(con, catalogue, year, lang_, territories, rows_per_level,
                              ends, highlight).as_raw_html()
    chart = rank_interval_chart(con, catalogue, year, lang_, territories, rows_per_level, ends)
    shown = _index_frame(con, catalogue, year, lang_, territories, rows_per_level, ends)[2]
    parts = [
        f'<section id="{SECTION_ID}" class="lci-domain" aria-labelledby="{SECTION_ID}-title">',
        f'  <h2 id="{SECTION_ID}-title">{escape(_t("title", lang_))}</h2>',
        f'  <p class="lci-domain-description">'
        f'{escape(_t("intro", lang_, runs=format_number(runs, 0, lang_)))}</p>',
    ]
    if shown.partial:
        parts.append(f'  <p class="lci-shown">{escape(_shown_sentence(con, shown, lang_))}</p>')
    parts += [
        f'  <div class="lci-table">\n{table}\n  </div>',
        '  <figure class="lci-figure" style="margin: 1.5rem 0; max-width: 48rem;">',
        f'    <div style="width: 100%;">{chart}</div>',
        f'    <figcaption>{escape(_t("chart_caption", lang_))}</figcaption>',
        "  </figure>",
    ]
    sensitivity = _sensitivity_sentence(con, year, lang_)
    if sensitivity:
        parts.append(f"  <p>{escape(sensitivity)}</p>")
    screened = _screened_sentence(con, catalogue, year, lang_)
    if screened:
        parts.append(f'  <p class="lci-screened">{escape(screened)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def index_not_built_sentence(con: duckdb.DuckDBPyConnection, year: int,
                             lang: str) -> str | None:
    """Why the warehouse has no index for ``year``, in one sentence (``None``: not said)."""
    lang_ = check_lang(lang)
    facts = index_not_built(con, year)
    if facts is None or f"not_built.{facts.get('reason')}" not in _STRINGS:
        return None
    return _t(f"not_built.{facts['reason']}", lang_, year=year,
              usable=facts.get("usable_indicators", 0),
              unit_share=format_percent(facts.get("min_unit_share", 0), lang_),
              domain_share=format_percent(facts.get("min_domain_share", 0), lang_))


def _screened_sentence(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                       lang: Lang) -> str | None:
    """The domains and communes screening left out of the index, from the selection log."""
    row = con.execute("SELECT choice, effect FROM composite_log WHERE year = ? AND step = "
                      "'selection' ORDER BY position LIMIT 1", [year]).fetchone()
    if row is None:
        return None
    choice, effect = json.loads(row[0]), json.loads(row[1])
    domains = {code: {"with_values": 0,  # domains without any usable indicator, then short ones
                      "indicators": sum(1 for i in catalogue.in_domain(code)
                                        if i.direction != "context")}
               for code in effect.get("excluded_domains") or ()}
    domains.update(effect.get("screened_out_domains") or {})
    domains = {code: domains[code] for code in (d.code for d in catalogue.domains)
               if code in domains and domains[code]["indicators"]}
    units = effect.get("screened_out_units") or {}
    if not domains and not units:
        return None
    items = [_t("screened.domain", lang, domain=catalogue.domain(code).label(lang),
                n_with=counted["with_values"], n_total=counted["indicators"])
             for code, counted in domains.items()]
    names = dict(con.execute(
        "SELECT territory_code, first(territory_name ORDER BY year DESC) FROM indicator_values "
        "WHERE territory_level = ? GROUP BY territory_code",
        [choice.get("territory_level", "COM")]).fetchall())
    items += [_t("screened.unit", lang, name=names.get(code, code),
                 share=format_percent(share, lang)) for code, share in units.items()]
    screening = choice.get("screening", {})
    return _t("screened", lang, items="; ".join(items),
              domain_share=format_percent(screening.get("min_domain_share", 0), lang),
              unit_share=format_percent(screening.get("min_unit_share", 0), lang))


def index_methods(con: duckdb.DuckDBPyConnection, year: int, lang: str) -> str:
    """The methods paragraph of the index (heading and text), written from its log."""
    lang_ = check_lang(lang)
    weights = _log_choice(con, year, "weights")
    frame = _t("methods_frame", lang_,
               weights=_t("weights.equal" if len(set(weights.values())) <= 1 else "weights.set",
                          lang_),
               normalise=_method(_log_choice(con, year, "normalise"), lang_),
               aggregate=_method(_log_choice(con, year, "aggregate"), lang_),
               impute=_method(_log_choice(con, year, "impute"), lang_))
    runs, draws, _ = _uncertainty(con, year)
    choice = _log_choice(con, year, "uncertainty")
    varied = [_t(f"vary.{name}", lang_, items=_t("or", lang_).join(
        _method(alternative, lang_) for alternative in choice[name]))
              for name in ("normalise", "aggregate", "impute") if choice[name]]
    if choice["weight_noise"]:
        varied.append(_t("vary.weights", lang_,
                         noise=format_number(choice["weight_noise"] * 100, 0, lang_)))
    if choice["sampling"]:
        varied.append(_t("vary.sampling", lang_))
    factors = ", ".join(varied[:-1]) + _t("and", lang_) + varied[-1] if len(varied) > 1 \
        else "".join(varied)
    uncertainty = _t("methods_uncertainty", lang_, runs=format_number(runs, 0, lang_),
                     draws=format_number(draws, 0, lang_), seed=choice["seed"], factors=factors)
    return (f"  <h3>{escape(_t('methods_title', lang_))}</h3>\n"
            f"  <p>{escape(frame)}</p>\n  <p>{escape(uncertainty)}</p>")


def _method(choice: dict, lang: Lang) -> str:
    bounds = {key: format_number(choice[key], 0 if float(choice[key]).is_integer() else 1, lang)
              for key in ("lower", "upper") if key in choice}
    return _t(f"method.{choice['method']}", lang, **bounds)


def _shown_sentence(con: duckdb.DuckDBPyConnection, shown: IndexShown, lang: Lang) -> str:
    chosen = _t("shown.chosen", lang, n=format_number(shown.chosen, 0, lang)) \
        if shown.chosen else ""
    return _t("shown", lang, n=format_number(len(shown.positions), 0, lang),
              total=format_number(shown.total, 0, lang), ends=shown.ends, chosen=chosen,
              units_lower=in_sentence(_base_label(con, lang)))


def _index_codes(con: duckdb.DuckDBPyConnection, territories: Sequence[str] | None) -> list[str]:
    """Codes of the report's territories that may be index units (the base level's)."""
    labels = level_labels(con)
    base = labels[0][0] if labels else None
    codes = []
    for reference in territories or ():
        level, code = split_reference(str(reference))
        if level is None or level == base:
            codes.append(code)
    return codes


def _index_frame(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int,
                 lang: Lang, territories: Sequence[str] | None = None,
                 rows_per_level: int | None = None, ends: int = INDEX_ENDS
                 ) -> tuple[pd.DataFrame, list[str], IndexShown]:
    """One row per commune shown, by published rank then name; domains in catalogue order.

    All units up to ``rows_per_level``; past it the ``ends`` first and last and the report's
    ``territories``: chosen in DuckDB, so only the rows shown leave it."""
    if ends < 1:
        raise ValueError(f"ends must be at least 1, not {ends}")
    chosen = _index_codes(con, territories)
    ranks = con.execute(
        """
        WITH names AS (
          SELECT territory_code, first(territory_name ORDER BY year DESC) AS name
          FROM indicator_values
          WHERE territory_level = (SELECT level FROM territory_levels WHERE base)
          GROUP BY territory_code),
        ordered AS (
          SELECT r.territory_code, coalesce(n.name, r.territory_code) AS name, r.rank,
                 r.rank_p05, r.rank_p95, r.median_rank,
                 row_number() OVER (ORDER BY r.rank NULLS LAST,
                                    coalesce(n.name, r.territory_code), r.territory_code)
                   AS position,
                 count(*) OVER () AS total,
                 CASE WHEN r.rank IS NOT NULL AND count(r.rank) OVER () > 1
                      THEN round((1 - percent_rank() OVER (ORDER BY r.rank NULLS LAST))
                                 * ($classes - 1))::INTEGER END AS shade
          FROM composite_ranks r LEFT JOIN names n USING (territory_code)
          WHERE r.year = $year)
        SELECT *, list_contains($chosen::VARCHAR[], territory_code) AS chosen
        FROM ordered
        WHERE $cap::BIGINT IS NULL OR total <= $cap::BIGINT OR position <= $ends
           OR position > total - $ends OR list_contains($chosen::VARCHAR[], territory_code)
        ORDER BY position
        """, {"year": year, "chosen": chosen, "cap": rows_per_level, "ends": ends,
              "classes": len(PALETTE)}).df()
    total = int(ranks["total"].iloc[0]) if len(ranks) else 0
    shown = IndexShown(total=total, positions=tuple(int(p) for p in ranks["position"]),
                       chosen=int(ranks["chosen"].sum()), ends=ends)
    ranks = ranks.drop(columns=["position", "total", "chosen"])
    scores = con.execute(
        "SELECT territory_code, node, level, score FROM composite_scores "
        "WHERE year = ? AND level > 1 AND list_contains(?, territory_code)",
        [year, list(ranks["territory_code"])]).df()
    top = scores["level"].max()
    wide = scores.pivot(index="territory_code", columns="node", values="score")
    root = scores.loc[scores["level"] == top, "node"].iloc[0]
    domains = [d.code for d in catalogue.domains if d.code in wide.columns and d.code != root]
    frame = ranks.merge(wide[[root, *domains]].rename(columns={root: "INDEX"}),
                        how="left", left_on="territory_code", right_index=True)
    frame["interval"] = [_interval(low, high, lang) for low, high in
                         zip(frame["rank_p05"], frame["rank_p95"], strict=True)]
    frame["rank"] = frame["rank"].astype("Int64")
    columns = ["territory_code", "name", "rank", "interval", "median_rank", "rank_p05",
               "rank_p95", "INDEX", *domains, "shade"]
    return frame[columns].reset_index(drop=True), domains, shown


def _interval(low: float, high: float, lang: Lang) -> str:
    if pd.isna(low) or pd.isna(high):
        return "—"
    return f"{_rank_text(low, lang)}–{_rank_text(high, lang)}"


def _rank_text(value: float, lang: Lang) -> str:
    """A rank percentile with one decimal only when it has one (2.95 reads 3, 9.5 reads 9.5)."""
    rounded = round(float(value), 1)
    return format_number(rounded, 0 if rounded.is_integer() else 1, lang)


def _log_choice(con: duckdb.DuckDBPyConnection, year: int, step: str) -> dict:
    row = con.execute("SELECT choice FROM composite_log WHERE year = ? AND step = ? "
                      "ORDER BY position LIMIT 1", [year, step]).fetchone()
    if row is None:
        raise ValueError(f"composite_log has no {step!r} entry for {year}")
    return json.loads(row[0]) or {}


def _uncertainty(con: duckdb.DuckDBPyConnection, year: int) -> tuple[int, int, float]:
    """Runs, base draws and weight noise of the year's Monte Carlo analysis, from the log."""
    choice = _log_choice(con, year, "uncertainty")
    row = con.execute("SELECT effect FROM composite_log WHERE year = ? AND step = "
                      "'uncertainty' ORDER BY position LIMIT 1", [year]).fetchone()
    runs = int(json.loads(row[0])["runs"])
    return runs, int(choice["draws"]), float(choice["weight_noise"])


def _sensitivity_sentence(con: duckdb.DuckDBPyConnection, year: int, lang: Lang) -> str | None:
    rows = con.execute(
        "SELECT choice, first_order_index FROM composite_sensitivity WHERE year = ? "
        "ORDER BY first_order_index DESC NULLS LAST, choice", [year]).fetchall()
    if not rows:
        return None
    items = ", ".join(
        f"{_t(f'choice.{choice}', lang)} {format_number(max(index, 0.0), 2, lang)}"
        for choice, index in rows if index is not None)
    return _t("sensitivity", lang, items=items) if items else None
