"""The calibration's refusals said again in French, for a French run.

The survey engine (``indicators.survey.calibration``) is a library and speaks English; the run
tells a French user the same thing in French. Each message is matched whole, and its parts
(where, which margin and category) are said again with it; a message not known here is kept
as it is rather than half translated.
"""

from __future__ import annotations

import re

_WHERE = re.compile(r"^(?P<cell>.+?) in (?P<group>.+)$")
_DESCRIBED = (
    (re.compile(r"^the total population of (?P<group>.+)$"), "la population totale de {group}"),
    (re.compile(r"^margin (?P<margin>'[^']*'), category (?P<category>.+) of (?P<group>.+)$"),
     "la marge {margin}, catégorie {category} de {group}"),
)
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), french) for pattern, french in (
        (r"^the population's (?P<total>'[^']*') is missing, negative or not finite for "
         r"(?P<where>.+)$",
         "le total {total} de la population est manquant, négatif ou non fini pour {where}"),
        (r"^(?P<n>\d+) respondents are in (?P<where>.+), a category the population of margin "
         r"(?P<margin>'[^']*') does not have$",
         "{n} répondants ont {where}, une catégorie que la population de la marge "
         "{margin} n'a pas"),
        (r"^no respondent is in (?P<where>.+), whose population is (?P<total>[^:]+): merge it "
         r"with a neighbouring category or calibrate at a coarser level$",
         "aucun répondant n'a {where}, dont la population est de {total} : regroupez cette "
         "catégorie avec une voisine, ou calez à un niveau territorial plus large (level)"),
        (r"^the respondents in (?P<where>.+) all have weight 0$",
         "les répondants qui ont {where} ont tous un poids nul"),
        (r"^the calibration did not converge in (?P<n>\d+) iterations: (?P<described>.+) is "
         r"still off by (?P<misfit>\S+) \((?P<relative>\S+) of 1 \+ its population, epsilon "
         r"(?P<epsilon>\S+)\); widen the bounds or merge small categories$",
         "le calage n'a pas convergé en {n} itérations : {described} s'écarte encore de "
         "{misfit} ({relative} de 1 + sa population, epsilon {epsilon}) ; élargissez les "
         "bornes (bounds) ou regroupez les petites catégories"),
        (r"^the margins disagree on the population of (?P<group>.+): (?P<first>\S+) sums to "
         r"(?P<a>\S+), (?P<second>\S+) to (?P<b>\S+)$",
         "les marges ne s'accordent pas sur la population de {group} : {first} totalise {a}, "
         "{second} {b}"),
        (r"^the calibration makes the weights of (?P<n>\d+) cells zero, negative or not finite "
         r"\(g = (?P<g>\S+) for (?P<cell>.+)\); give bounds with a positive lower bound, or "
         r"calibrate by raking$",
         "le calage rend nuls, négatifs ou non finis les poids de {n} cellules (g = {g} pour "
         "{cell}) ; donnez des bornes (bounds) dont la borne basse est positive, ou calez par "
         "raking"),
        (r"^(?P<n>\d+) respondents of (?P<code>'[^']*') in (?P<year>\d+) belong to no territory "
         r"of level (?P<level>'[^']*'): their weights cannot be calibrated$",
         "{n} répondants de {code} en {year} n'appartiennent à aucun territoire du niveau "
         "{level} : leurs poids ne peuvent pas être calés"),
        (r"^the design weights are missing, negative or not finite in (?P<n>\d+) rows$",
         "les poids de sondage sont manquants, négatifs ou non finis dans {n} lignes"),
        (r"^calibration column (?P<column>'[^']*') is NULL in (?P<n>\d+) rows: every respondent "
         r"needs a category$",
         "la variable de calage {column} est vide dans {n} lignes : chaque répondant doit avoir "
         "une catégorie"),
    ))


def _group(text: str) -> str:
    return "le plan de sondage" if text == "the design" else text


def _where(text: str) -> str:
    match = _WHERE.match(text)
    return f"{match['cell']} dans {_group(match['group'])}" if match else _group(text)


def _described(text: str) -> str:
    for pattern, french in _DESCRIBED:
        if match := pattern.match(text):
            return french.format(**{**match.groupdict(), "group": _group(match["group"])})
    return text


def in_french(message: str) -> str | None:
    """The calibration's ``message`` in French, or None when it is not one of its known
    refusals."""
    for pattern, french in _MESSAGES:
        if match := pattern.match(message):
            parts = match.groupdict()
            if "where" in parts:
                parts["where"] = _where(parts["where"])
            if "group" in parts:
                parts["group"] = _group(parts["group"])
            if "described" in parts:
                parts["described"] = _described(parts["described"])
            return french.format(**parts)
    return None
