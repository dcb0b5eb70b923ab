"""Every word of the territory profile, in English and French, and the ordinal ranks.

French text gets its typography here, once: a narrow no-break space before ``;``, ``:``,
``?``, ``!`` and ``%`` and inside guillemets, so that no line breaks before the mark.
"""

from __future__ import annotations

from functools import lru_cache

from reports._i18n import LANGS, NARROW_NBSP, Lang, format_number

_STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Territory profile", "Portrait de territoire"),
    "subtitle": ("{level} · code {code} · {year}", "{level} · code {code} · {year}"),
    "compared": ("Compared with: {names}.", "Comparé à : {names}."),
    "compared.none": ("No reference territory holds this territory.",
                      "Aucun territoire de référence ne contient ce territoire."),
    "key_figures": ("Key figures {year}", "Chiffres clés {year}"),
    "key.index": ("Learning-city index", "Indice de la ville apprenante"),
    "key.index_rank": ("{rank} of {units}", "{rank} sur {units}"),
    "key.index_interval": ("rank interval {low}–{high} (5–95{nbsp}%)",
                           "intervalle de rang {low}–{high} (5–95{nbsp}%)"),
    "indicators": ("Indicators {year}", "Indicateurs {year}"),
    "nothing": ("No indicator has a value for this territory in {year}.",
                "Aucun indicateur n'a de valeur pour ce territoire en {year}."),
    "ci": ("95{nbsp}% CI {low}–{high}", "IC à 95{nbsp}% {low}–{high}"),
    "rank": ("Rank", "Rang"),
    "rank.value": ("{rank} of {peers} {level}", "{rank} sur {peers} {level}"),
    "rank.context": ("not ranked (context indicator)", "non classé (indicateur de contexte)"),
    "rank.best": ("rank 1 = best", "rang 1 = meilleur"),
    "change": ("Change since {previous}", "Évolution depuis {previous}"),
    "change.significant": ("significant", "significative"),
    "change.not_significant": ("not significant", "non significative"),
    "change.not_tested": ("exhaustive count, not tested", "comptage exhaustif, non testée"),
    "target": ("Target", "Cible"),
    "target.below": ("{distance} {units} below the target of {target}",
                     "{distance} {units} sous la cible de {target}"),
    "target.above": ("{distance} {units} above the target of {target}",
                     "{distance} {units} au-dessus de la cible de {target}"),
    "target.at": ("at the target of {target}", "à la cible de {target}"),
    "target.reached": ("reached", "atteinte"),
    "target.not_reached": ("not reached", "non atteinte"),
    "points": ("points", "points"),
    "point": ("point", "point"),
    "sex": ("By sex", "Par sexe"),
    "sex.F": ("women", "femmes"),
    "sex.M": ("men", "hommes"),
    "table.territory": ("Territory", "Territoire"),
    "table.value": ("Value", "Valeur"),
    "table.gap": ("Gap", "Écart"),
    "gap.significant": ("significant", "significatif"),
    "gap.not_significant": ("not significant", "non significatif"),
    "gap.not_tested": ("not tested", "non testé"),
    "chart": ("{id} from {first} to {last}: {series}.", "{id} de {first} à {last} : {series}."),
    "chart.one_year": ("{id} in {first}: {series}.", "{id} en {first} : {series}."),
    "chart.series": ("{name} {values}", "{name} {values}"),
    "legend.title": ("How to read the profile", "Comment lire ce portrait"),
    "legend.gap": (
        "Gap: the territory's value minus the reference's, in the indicator's unit; {up} or "
        "{down} in bold when the difference is statistically significant (5{nbsp}% level).",
        "Écart : valeur du territoire moins celle de la référence, dans l'unité de "
        "l'indicateur ; {up} ou {down} en gras lorsque la différence est statistiquement "
        "significative (seuil de 5{nbsp}%).",
    ),
    "legend.chart": (
        "Charts: every year of the data, the territory in thick green (its 95{nbsp}% "
        "confidence interval as a bar), its references on the same scale; a hollow dot is a "
        "low-reliability value, a missing dot a value not published.",
        "Graphiques : toutes les années disponibles, le territoire en vert épais (son "
        "intervalle de confiance à 95{nbsp}% en barre), ses références sur la même échelle ; "
        "un point creux signale une valeur peu fiable, un point absent une valeur non publiée.",
    ),
    "methods": ("Methods", "Méthodes"),
    "methods.values": (
        "Values are those of the annual report for {year}, from the same warehouse: survey "
        "estimates take the survey design into account, with their 95{nbsp}% confidence "
        "interval; administrative indicators are ratios of exhaustive counts.",
        "Les valeurs sont celles du rapport annuel {year}, issues du même entrepôt : les "
        "estimations d'enquête tiennent compte du plan de sondage, avec leur intervalle de "
        "confiance à 95{nbsp}% ; les indicateurs administratifs sont des rapports de "
        "comptages exhaustifs.",
    ),
    "methods.rank": (
        "Rank: the territory's place among the territories of its level that have a published "
        "value, rank 1 being the best (the highest value, or the lowest where lower is "
        "better); values equal as published share the best rank; context indicators are not "
        "ranked. A rank does not say whether two values differ significantly.",
        "Rang : place du territoire parmi les territoires de son niveau qui ont une valeur "
        "publiée, le rang 1 étant le meilleur (la valeur la plus haute, ou la plus basse quand "
        "plus bas = mieux) ; les valeurs égales telles que publiées partagent le meilleur "
        "rang ; les indicateurs de contexte ne sont pas classés. Un rang ne dit pas si deux "
        "valeurs diffèrent significativement.",
    ),
    "methods.gap": (
        "Gap to a reference: the difference between the territory's estimate and the "
        "reference's, tested at the 5{nbsp}% level. A territory inside its reference shares "
        "respondents with it: the test takes the covariance this creates and Student's t "
        "with the design degrees of freedom of both (their PSUs minus their strata, a shared "
        "PSU counted once). A reference that does not contain the territory is tested as an "
        "independent estimate. Administrative values come from exhaustive counts: their gaps "
        "are exact and not tested.",
        "Écart à une référence : différence entre l'estimation du territoire et celle de la "
        "référence, testée au seuil de 5{nbsp}%. Un territoire inclus dans sa référence "
        "partage avec elle des répondants : le test tient compte de la covariance qui en "
        "résulte et suit la loi de Student avec les degrés de liberté du plan des deux "
        "(leurs unités primaires moins leurs strates, une unité commune comptée une fois). "
        "Une référence qui ne contient pas le territoire est traitée comme une estimation "
        "indépendante. Les valeurs administratives proviennent de comptages exhaustifs : "
        "leurs écarts sont exacts et ne sont pas testés.",
    ),
    "methods.change": (
        "Change: the difference from the previous year the indicator has values for, tested "
        "at the 5{nbsp}% level for survey indicators. PSUs surveyed both years make the two "
        "estimates correlated: the test takes their covariance, and Student's t with the "
        "design degrees of freedom of both years (a PSU surveyed twice counted once); "
        "strata whose PSUs were replaced count as independent samples.",
        "Évolution : écart à la dernière année antérieure où l'indicateur a des valeurs, "
        "testé au seuil de 5{nbsp}% pour les indicateurs d'enquête. Les unités primaires "
        "enquêtées les deux années rendent les deux estimations corrélées : le test tient "
        "compte de leur covariance et suit la loi de Student avec les degrés de liberté du "
        "plan des deux années (une unité enquêtée deux fois comptée une fois) ; les strates "
        "dont les unités ont été renouvelées comptent comme des échantillons indépendants.",
    ),
    "methods.target": (
        "Targets come from the indicator catalogue, with their source; the distance is the "
        "value minus the target, in the indicator's unit (points for percentages).",
        "Les cibles proviennent du catalogue des indicateurs, avec leur source ; la distance "
        "est la valeur moins la cible, dans l'unité de l'indicateur (en points pour les "
        "pourcentages).",
    ),
    "methods.index": (
        "Learning-city index: the rank of the territory among the {units} of the index, with "
        "the interval holding 90{nbsp}% of its ranks when the method choices and the survey "
        "estimates vary (see the annual report).",
        "Indice de la ville apprenante : rang du territoire parmi les {units} de l'indice, "
        "avec l'intervalle qui contient 90{nbsp}% de ses rangs lorsque les choix de méthode et "
        "les estimations d'enquête varient (voir le rapport annuel).",
    ),
    "sources": ("Sources: {sources}.", "Sources : {sources}."),
    "contact": ("Contact: {contact}", "Contact : {contact}"),
    "produced": ("Produced with LCI (Learning City Indicators) from the data of {year}.",
                 "Réalisé avec LCI (Learning City Indicators) à partir des données {year}."),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The profile's string ``key`` in ``lang``, placeholders filled, French typography set."""
    return _filled(key, lang, tuple(values.items()))


@lru_cache(maxsize=8192)
def _filled(key: str, lang: Lang, values: tuple[tuple[str, object], ...]) -> str:
    """:func:`t`, remembered: a batch of profiles says the same sentences thousands of times."""
    text = _STRINGS[key][LANGS.index(lang)].format(nbsp=NARROW_NBSP if lang == "fr" else "",
                                                   **dict(values))
    return french_spaces(text) if lang == "fr" else text


def french_spaces(text: str) -> str:
    """No line break before ``; : ? ! %`` nor inside guillemets (French typography)."""
    for mark in (";", ":", "?", "!", "%", "»"):
        text = text.replace(f" {mark}", f"{NARROW_NBSP}{mark}")
    return text.replace("« ", f"«{NARROW_NBSP}")


def ordinal(rank: int, lang: Lang) -> str:
    """HTML of a rank: "3rd", "11th"; "1<sup>er</sup>", "3<sup>e</sup>"."""
    number = format_number(rank, 0, lang)
    if lang == "fr":
        return f"{number}<sup>{'er' if rank == 1 else 'e'}</sup>"
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10,
                                                                               "th")
    return f"{number}{suffix}"


def _check_complete() -> None:
    for key, pair in _STRINGS.items():
        if len(pair) != len(LANGS) or not all(pair):
            raise AssertionError(f"profile string {key!r} is missing a language")


_check_complete()
