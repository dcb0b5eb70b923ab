"""Everything a reader sees that is not data, in English and French, plus number formatting.

Keeping the words apart from the builders means a translation fix never touches layout code, and
every string is checked to exist in both languages when the module loads.
"""

from __future__ import annotations

import re
from typing import Literal, cast

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

NARROW_NBSP = "\u202f"
"""French thousands separator and space before ``%`` (as great-tables' ``locale="fr"``)."""

_STRINGS: dict[str, tuple[str, str]] = {
    # Directions.
    "direction.higher_is_better": ("Higher is better", "Plus élevé = mieux"),
    "direction.lower_is_better": ("Lower is better", "Plus bas = mieux"),
    "direction.context": (
        "Context (neither better nor worse)", "Contexte (ni mieux ni moins bien)"
    ),
    # Table parts.
    "table.stubhead": ("Territory", "Territoire"),
    "table.value": ("Value", "Valeur"),
    "table.estimate": ("Estimate (95{nbsp}% CI)", "Estimation (IC à 95{nbsp}%)"),
    "table.change": ("Change", "Évolution"),
    "table.subtitle": ("{year} · {period}", "{year} · {period}"),
    # What a change is measured against: the previous year present, named.
    "period.one": ("change since {previous}", "évolution depuis {previous}"),
    "period.one_gap": ("change since {previous} ({gap} years earlier)",
                       "évolution depuis {previous} ({gap} ans plus tôt)"),
    "period.several": (
        "change since the previous year each indicator has values for ({years})",
        "évolution depuis l'année précédente disponible pour chaque indicateur ({years})",
    ),
    "period.none": ("no earlier year to compare with", "pas d'année antérieure à comparer"),
    "period.or": (" or ", " ou "),
    "table.source": ("Source ({ids}): {source}.", "Source ({ids}) : {source}."),
    "note.suppressed_survey": (
        "× Not published: fewer than {min_n} respondents.",
        "× Non publié : moins de {min_n} répondants.",
    ),
    "note.suppressed_other": (
        "× Not published: below the disclosure threshold ({min_n} units).",
        "× Non publié : sous le seuil de diffusion ({min_n} unités).",
    ),
    "note.low_survey": (
        "Low reliability (fewer than {reliable_n} respondents or coefficient of variation above "
        "{max_cv}): interpret with caution.",
        "Fiabilité limitée (moins de {reliable_n} répondants ou coefficient de variation "
        "supérieur à {max_cv}) : à interpréter avec prudence.",
    ),
    "note.low_other": (
        "Low reliability: interpret with caution.",
        "Fiabilité limitée : à interpréter avec prudence.",
    ),
    "note.significant": (
        "▲/▼ in bold: the change is statistically significant at the 5{nbsp}% level "
        "(design-based test on survey data); survey changes shown plainly are not significant.",
        "▲/▼ en gras : évolution statistiquement significative au seuil de 5{nbsp}% "
        "(test tenant compte du plan de sondage) ; les évolutions d'enquête sans marque ne "
        "sont pas significatives.",
    ),
    "note.missing": (
        "— Not available (no data, or a value not publishable in one of the two years).",
        "— Non disponible (pas de donnée, ou valeur non publiable l'une des deux années).",
    ),
    "note.ci": (
        "Survey estimates: the 95{nbsp}% confidence interval is shown in small type below the "
        "value.",
        "Estimations d'enquête : l'intervalle de confiance à 95{nbsp}% figure en petits "
        "caractères sous la valeur.",
    ),
    "note.colours": (
        "Shading compares the territories shown: darker green is better (for indicators where "
        "lower is better, lower values are darker); context indicators are not shaded.",
        "La couleur compare les territoires affichés : plus le vert est foncé, meilleure est la "
        "situation (pour les indicateurs où plus bas = mieux, les valeurs basses sont plus "
        "foncées) ; les indicateurs de contexte ne sont pas colorés.",
    ),
    # Levels with more territories than a table lists: their distribution instead.
    "dist.group": ("{level} — distribution over {n} territories",
                   "{level} — distribution sur {n} territoires"),
    "dist.count": ("{level} — territories with a value", "{level} — territoires avec une valeur"),
    "dist.count_cell": ("n = {x}", "n = {x}"),
    "dist.p10": ("{level} — 10th percentile", "{level} — 10e centile"),
    "dist.p25": ("{level} — 25th percentile", "{level} — 25e centile"),
    "dist.p50": ("{level} — median", "{level} — médiane"),
    "dist.p75": ("{level} — 75th percentile", "{level} — 75e centile"),
    "dist.p90": ("{level} — 90th percentile", "{level} — 90e centile"),
    "note.distribution": (
        "Distribution rows: percentiles of the published values over the territories of a "
        "level (suppressed and missing cells left out), with how many territories have one; "
        "they are not shaded and carry no change. Every territory's value is in "
        "indicators.csv, indicators.xlsx and published/indicator_values.parquet.",
        "Lignes de distribution : centiles des valeurs publiées sur les territoires d'un "
        "niveau (cellules non publiées ou manquantes exclues), avec le nombre de territoires "
        "qui en ont une ; elles ne sont pas colorées et ne portent pas d'évolution. La valeur "
        "de chaque territoire figure dans indicators.csv, indicators.xlsx et "
        "published/indicator_values.parquet.",
    ),
    "shown.levels_item": ("{level} ({n})", "{level} ({n})"),
    "shown.and": (" and ", " et "),
    "shown.listed": ("The tables list every territory of these levels: {levels}.",
                     "Les tableaux présentent chaque territoire de ces niveaux : {levels}."),
    "shown.chosen": ("The tables list the {n} territories chosen for this report.",
                     "Les tableaux présentent les {n} territoires retenus pour ce rapport."),
    "shown.chosen_one": ("The tables list the territory chosen for this report.",
                         "Les tableaux présentent le territoire retenu pour ce rapport."),
    "shown.distributed": (
        "For {levels}, more than {cap} territories each, they show the distribution of the "
        "values instead (10th, 25th, 50th, 75th and 90th percentiles, and how many territories "
        "have a value).",
        "Pour {levels}, plus de {cap} territoires chacun, ils donnent à la place la "
        "distribution des valeurs (10e, 25e, 50e, 75e et 90e centiles, et le nombre de "
        "territoires qui ont une valeur).",
    ),
    "shown.distributed_chosen": (
        "For {levels}, more than {cap} territories each, they also show the distribution of "
        "the values (10th, 25th, 50th, 75th and 90th percentiles, and how many territories "
        "have a value).",
        "Pour {levels}, plus de {cap} territoires chacun, ils donnent aussi la distribution "
        "des valeurs (10e, 25e, 50e, 75e et 90e centiles, et le nombre de territoires qui ont "
        "une valeur).",
    ),
    "shown.everything": (
        "Every value of every territory is in indicators.csv, indicators.xlsx and "
        "published/indicator_values.parquet.",
        "Toutes les valeurs de tous les territoires figurent dans indicators.csv, "
        "indicators.xlsx et published/indicator_values.parquet.",
    ),
    # Report page.
    "report.title": (
        "Learning city indicators {year}", "Indicateurs de la ville apprenante {year}"
    ),
    "report.reference_year": ("Reference year {year}: {period}.",
                              "Année de référence {year} : {period}."),
    "report.contents": ("Contents", "Sommaire"),
    "report.introduction": ("About this report", "À propos de ce rapport"),
    "report.intro_what": (
        "This report presents the learning-city indicators for {year}, grouped into "
        "{n_domains} action domains: {n_with} of the {n_indicators} indicators have values for "
        "{year}. Each table compares the territories side by side: for every indicator it shows "
        "the value in {year} and, where an earlier year has values, the change since that year "
        "(named above each table), in the indicator's unit (percentage points for percentages).",
        "Ce rapport présente les indicateurs de la ville apprenante pour {year}, regroupés en "
        "{n_domains} domaines d'action : {n_with} des {n_indicators} indicateurs ont des valeurs "
        "pour {year}. Chaque tableau compare les territoires côte à côte : pour chaque "
        "indicateur, il donne la valeur en {year} et, lorsqu'une année antérieure a des "
        "valeurs, l'évolution depuis cette année (indiquée en tête de chaque tableau), dans "
        "l'unité de l'indicateur (en points pour les pourcentages).",
    ),
    "report.coverage_title": ("Indicators with values in {year}, by domain:",
                              "Indicateurs ayant des valeurs en {year}, par domaine :"),
    "report.coverage_item": ("{domain} ({code}): {n_with} of {n_total}",
                             "{domain} ({code}) : {n_with} sur {n_total}"),
    "report.intro_nothing": (
        "No indicator could be computed for {year} from the project's data, so this report has "
        "no table. The methods section lists each of the {n_indicators} indicators with the "
        "reason it has no value.",
        "Aucun indicateur n'a pu être calculé pour {year} à partir des données du projet : ce "
        "rapport ne contient donc aucun tableau. La section des méthodes donne, pour chacun des "
        "{n_indicators} indicateurs, la raison de l'absence de valeur.",
    ),
    "report.missing_title": ("Indicators without values in {year}",
                             "Indicateurs sans valeur en {year}"),
    "report.missing_intro": (
        "These indicators of the catalogue have no value for {year}, for the reason given.",
        "Ces indicateurs du catalogue n'ont aucune valeur pour {year}, pour la raison indiquée.",
    ),
    "report.missing_not_computed": ("not computed: {reason}", "non calculé : {reason}"),
    "report.missing_no_publishable": (
        "computed, but no value can be published for {year} ({statuses})",
        "calculé, mais aucune valeur n'est publiable pour {year} ({statuses})",
    ),
    "report.missing_no_row": ("no value for {year} in the project's data",
                              "aucune valeur pour {year} dans les données du projet"),
    "status.missing": ("no data", "pas de donnée"),
    "status.suppressed": ("too few respondents", "trop peu de répondants"),
    "report.intro_colours": (
        "Colours compare the territories shown in a table, column by column: the darker the "
        "green, the better the position. For indicators where lower is better (such as unmet "
        "learning demand) the scale is reversed, so the lowest value is the darkest. Context "
        "indicators describe a territory without being good or bad, and are not shaded. A colour "
        "ranks territories among themselves; it does not compare them with a target.",
        "Les couleurs comparent les territoires d'un même tableau, colonne par colonne : plus le "
        "vert est foncé, meilleure est la position. Pour les indicateurs où une valeur basse est "
        "souhaitable (comme la demande de formation non satisfaite), l'échelle est inversée : la "
        "valeur la plus basse est la plus foncée. Les indicateurs de contexte décrivent le "
        "territoire sans jugement et ne sont pas colorés. La couleur classe les territoires entre "
        "eux ; elle ne les compare pas à une cible.",
    ),
    "report.intro_marks": ("Marks used in the tables:", "Signes utilisés dans les tableaux :"),
    "report.mark_ci": (
        "small figures below a survey estimate: its 95{nbsp}% confidence interval;",
        "petits chiffres sous une estimation d'enquête : son intervalle de confiance à 95{nbsp}% ;",
    ),
    "report.mark_suppressed": (
        "×: not published, too few respondents (or units) to be reliable or confidential;",
        "× : non publié, trop peu de répondants (ou d'unités) pour être fiable ou confidentiel ;",
    ),
    "report.mark_low": (
        "italic value with a footnote letter: low reliability, to interpret with caution;",
        "valeur en italique avec une lettre d'appel : fiabilité limitée, à interpréter avec "
        "prudence ;",
    ),
    "report.mark_significant": (
        "▲ or ▼ in bold: a statistically significant change (survey indicators, 5{nbsp}% level);",
        "▲ ou ▼ en gras : évolution statistiquement significative (indicateurs d'enquête, seuil "
        "de 5{nbsp}%) ;",
    ),
    "report.mark_missing": ("—: not available.", "— : non disponible."),
    "report.methods": ("Methods and definitions", "Méthodes et définitions"),
    "report.methods_intro": (
        "Each indicator is defined once in the indicator catalogue; the entries below are read "
        "from it.",
        "Chaque indicateur est défini une seule fois dans le catalogue des indicateurs ; les "
        "fiches ci-dessous en sont extraites.",
    ),
    "report.changes_title": ("Changes over time", "Évolutions"),
    "report.changes_text": (
        "A change is the difference between the value of the reference year and that of the "
        "previous year the indicator has values for (the year before, or an earlier one when "
        "the source skips years, such as a survey run every five years), for the same "
        "territory; every territory of an indicator is compared with the same year. For "
        "survey indicators it is tested at the 5{nbsp}% level with the sampling design: the "
        "primary sampling units surveyed both years make the two estimates correlated, so "
        "the standard error of the difference takes their covariance, and the test uses "
        "Student's t with the design degrees of freedom of both years (a unit surveyed twice "
        "counted once); strata whose units were replaced count as independent samples. Only "
        "significant changes are marked. Changes of administrative indicators come from "
        "exhaustive counts and are not tested.",
        "Une évolution est l'écart entre la valeur de l'année de référence et celle de la "
        "dernière année antérieure où l'indicateur a des valeurs (l'année précédente, ou une "
        "année plus ancienne quand la source saute des années, comme une enquête "
        "quinquennale), pour un même territoire ; tous les territoires d'un indicateur sont "
        "comparés à la même année. Pour les indicateurs d'enquête, elle est testée au seuil "
        "de 5{nbsp}% en tenant compte du plan de sondage : les unités primaires enquêtées les "
        "deux années rendent les deux estimations corrélées, l'erreur type de l'écart tient "
        "donc compte de leur covariance, et le test suit la loi de Student avec les degrés "
        "de liberté du plan des deux années (une unité enquêtée deux fois comptée une "
        "fois) ; les strates dont les unités ont été renouvelées comptent comme des "
        "échantillons indépendants. Seules les évolutions significatives sont signalées. Les "
        "évolutions des indicateurs administratifs proviennent de comptages exhaustifs et ne "
        "sont pas testées.",
    ),
    "report.reliability_title": ("Reliability of survey estimates",
                                 "Fiabilité des estimations d'enquête"),
    "report.reliability_text": (
        "A survey value is not published below the indicator's minimum number of respondents "
        "(shown with each indicator). A published value is flagged ◊ low reliability at the "
        "first of these rules it fails: fewer respondents than the indicator's reliability "
        "threshold; fewer than {min_df} design degrees of freedom (the primary sampling "
        "units holding its respondents minus their strata); an effective sample size (the "
        "number of respondents divided by the design effect) below {min_effective_n}; for a "
        "percentage, a 95{nbsp}% interval wider than {max_interval_width} points; a "
        "coefficient of variation above the indicator's maximum, {cv_rule}; more than "
        "{max_item_nonresponse} of the respondents in its population without an answer to its "
        "questions (item non-response, which may bias the estimate: OMB Standards for "
        "Statistical Surveys, 2006, guideline 3.2.9). The other defaults are those of the "
        "NCHS Data Presentation Standards for Proportions (2017); each flagged value gives "
        "the rule it failed in the data exports, and each survey value its item non-response "
        "share.",
        "Une valeur d'enquête n'est pas publiée sous le nombre minimal de répondants de "
        "l'indicateur (indiqué avec chaque indicateur). Une valeur publiée est signalée ◊ "
        "fiabilité limitée à la première de ces règles qu'elle ne respecte pas : moins de "
        "répondants que le seuil de fiabilité de l'indicateur ; moins de {min_df} degrés de "
        "liberté du plan (les unités primaires de ses répondants moins leurs strates) ; une "
        "taille d'échantillon effective (nombre de répondants divisé par l'effet de plan) "
        "inférieure à {min_effective_n} ; pour un pourcentage, un intervalle à 95{nbsp}% "
        "plus large que {max_interval_width} points ; un coefficient de variation supérieur "
        "au maximum de l'indicateur, {cv_rule} ; plus de {max_item_nonresponse} des "
        "répondants de sa population sans réponse à ses questions (non-réponse partielle, qui "
        "peut biaiser l'estimation : normes OMB des enquêtes statistiques, 2006, ligne "
        "directrice 3.2.9). Les autres valeurs par défaut sont celles des normes de "
        "présentation des proportions du NCHS (2017) ; chaque valeur signalée indique dans "
        "les exports de données la règle non respectée, et chaque valeur d'enquête sa part "
        "de non-réponse partielle.",
    ),
    "report.cv_symmetric": (
        "taken for a percentage on the smaller of p and 100 − p so that p and its complement "
        "are judged alike",
        "calculé pour un pourcentage sur le plus petit de p et 100 − p, pour juger de même p "
        "et son complément",
    ),
    "report.cv_plain": ("the standard error over the value", "erreur type rapportée à la valeur"),
    "report.kflc_title": (
        "UNESCO Key Features of Learning Cities (KFLC)",
        "Caractéristiques clés des villes apprenantes de l'UNESCO (KFLC)",
    ),
    "field.id": ("Identifier", "Identifiant"),
    "field.definition": ("Definition", "Définition"),
    "field.unit": ("Unit", "Unité"),
    "field.direction": ("Reading", "Lecture"),
    "field.source": ("Source", "Source"),
    "field.kflc": ("KFLC codes", "Codes KFLC"),
    "field.reference": ("Reference", "Référence"),
    "field.target": ("Target", "Cible"),
    "field.method": ("Estimation", "Estimation"),
    "field.none": ("none", "aucune"),
    "field.item_nonresponse": ("Item non-response", "Non-réponse partielle"),
    "item_nonresponse.text": (
        "respondents in the population without an answer to its questions: {median} in the "
        "median cell of {year}, {largest} at most (they are left out of the estimate)",
        "répondants de la population sans réponse à ses questions : {median} dans la case "
        "médiane de {year}, {largest} au plus (ils sont exclus de l'estimation)"),
    "method.survey_proportion": (
        "Design-based estimate from the survey (weights, strata and primary sampling units), "
        "variance by Taylor linearisation, 95{nbsp}% confidence interval on the logit scale. "
        "Not published below {min_n} respondents; flagged as low reliability below "
        "{reliable_n} respondents or by the rules of the reliability section below "
        "(coefficient of variation above {max_cv}).",
        "Estimation tenant compte du plan de sondage (poids, strates et unités primaires), "
        "variance par linéarisation de Taylor, intervalle de confiance à 95{nbsp}% sur l'échelle "
        "logit. Non publié sous {min_n} répondants ; signalé comme peu fiable sous "
        "{reliable_n} répondants ou par les "
        "règles de la section sur la fiabilité ci-dessous (coefficient de variation "
        "supérieur à {max_cv}).",
    ),
    "method.admin_ratio": (
        "Ratio of sums: the numerator and the denominator are summed over the territory's "
        "member units, then divided (never an average of rates).",
        "Ratio de sommes : numérateur et dénominateur sont additionnés sur les unités qui "
        "composent le territoire, puis divisés (jamais une moyenne de taux).",
    ),
    "method.commuting": (
        "Computed from home-work commuting flows, each flow placed at both its place of "
        "residence and its place of work.",
        "Calculé à partir des flux domicile-travail, chaque flux étant rattaché à son lieu de "
        "résidence et à son lieu de travail.",
    ),
    "method.survey_mean": (
        "Design-based weighted mean from the survey (weights, strata and primary sampling "
        "units), variance by Taylor linearisation, 95{nbsp}% confidence interval (estimate "
        "± 1.96 standard errors). Respondents without an answer are left out of the mean. "
        "Not published below {min_n} respondents; flagged as low reliability below "
        "{reliable_n} respondents or by the rules of the reliability section below "
        "(coefficient of variation above {max_cv}).",
        "Moyenne pondérée tenant compte du plan de sondage (poids, strates et unités "
        "primaires), variance par linéarisation de Taylor, intervalle de confiance à 95{nbsp}% "
        "(estimation ± 1,96 erreur type). Les répondants sans réponse sont exclus de la "
        "moyenne. Non publié sous {min_n} répondants ; signalé comme peu fiable sous "
        "{reliable_n} répondants ou par les "
        "règles de la section sur la fiabilité ci-dessous (coefficient de variation "
        "supérieur à {max_cv}).",
    ),
    "method.survey_total": (
        "Design-based estimate of a population total from the survey (weights, strata and "
        "primary sampling units), variance by Taylor linearisation, 95{nbsp}% confidence "
        "interval (estimate ± 1.96 standard errors). Not published below {min_n} respondents; "
        "flagged as low reliability below {reliable_n} respondents or by the "
        "rules of the reliability section below (coefficient of variation above {max_cv}).",
        "Estimation d'un total de population tenant compte du plan de sondage (poids, strates "
        "et unités primaires), variance par linéarisation de Taylor, intervalle de confiance "
        "à 95{nbsp}% (estimation ± 1,96 erreur type). Non publié sous {min_n} répondants ; "
        "signalé comme peu fiable sous {reliable_n} répondants ou par les "
        "règles de la section sur la fiabilité ci-dessous (coefficient de variation "
        "supérieur à {max_cv}).",
    ),
    "method.survey_ratio": (
        "Ratio of two totals estimated from the survey with its design (weights, strata and "
        "primary sampling units), never an average of individual ratios; variance by Taylor "
        "linearisation, 95{nbsp}% confidence interval (estimate ± 1.96 standard errors). Not "
        "published below {min_n} respondents; flagged as low reliability below {reliable_n} "
        "respondents or by the "
        "rules of the reliability section below (coefficient of variation above {max_cv}).",
        "Rapport de deux totaux estimés à partir de l'enquête et de son plan de sondage "
        "(poids, strates et unités primaires), jamais une moyenne de rapports individuels ; "
        "variance par linéarisation de Taylor, intervalle de confiance à 95{nbsp}% "
        "(estimation ± 1,96 erreur type). Non publié sous {min_n} répondants ; signalé comme "
        "peu fiable sous {reliable_n} répondants ou par les "
        "règles de la section sur la fiabilité ci-dessous (coefficient de variation "
        "supérieur à {max_cv}).",
    ),
    "target.text": ("{value} ({source})", "{value} ({source})"),
    "english_only": ("{text}", "{text} (en anglais)"),
}

# What the ``lci`` commands print, apart from the reports. French typography (no-break
# spaces before : ; ? ! and inside « », a narrow one before %) is added by ``say``.
_CONSOLE: dict[str, tuple[str, str]] = {
    "error": ("Error:", "Erreur :"),
    "config_error": ("Configuration error:", "Erreur de configuration :"),
    "signing_key_error": ("Signing key:", "Clé de signature :"),
    "config.invalid": ("{file}: invalid configuration", "{file} : configuration non valide"),
    "config.line": ("line {row}", "ligne {row}"),
    "config.value": (" (value: '{value}')", " (valeur : « {value} »)"),
    "key_created": (
        "Created your signing key at {path} (readable by you only): every run signs its "
        "bundles with it. Keep it, back it up, and give auditors its fingerprint "
        "{fingerprint}, or its public key {public}.",
        "Votre clé de signature a été créée dans {path} (lisible par vous seul) : chaque "
        "exécution signe ses paquets avec elle. Gardez-la, sauvegardez-la, et donnez aux "
        "auditeurs son empreinte {fingerprint} ou sa clé publique {public}.",
    ),
    "stage.ingest": ("Reading and validating sources", "Lecture et validation des sources"),
    "stage.indicators": ("Computing indicators", "Calcul des indicateurs"),
    "stage.report": ("Writing tables, report and exports",
                     "Écriture des tableaux, du rapport et des exports"),
    "stage.bundle": ("Writing the public and restricted bundles (Parquet, signed manifests)",
                     "Écriture des paquets public et restreint (Parquet, manifestes signés)"),
    "progress.ingest": ("sources loaded", "sources chargées"),
    "progress.indicators": ("indicators computed", "indicateurs calculés"),
    "progress.index": ("index runs (Monte Carlo)", "tirages de l'indice (Monte-Carlo)"),
    "progress.left": ("left", "restant"),
    "run_failed": ("Run failed:", "Échec de l'exécution :"),
    "untouched": ("Previous outputs in {out} are untouched; this run's files are in {failed}",
                  "Les sorties précédentes de {out} sont intactes ; les fichiers de cette "
                  "exécution sont dans {failed}"),
    "sources.title": ("Sources", "Sources"),
    "sources.source": ("source", "source"),
    "sources.file": ("file", "fichier"),
    "sources.read": ("read", "lues"),
    "sources.accepted": ("accepted", "acceptées"),
    "sources.quarantined": ("quarantined", "en quarantaine"),
    "sources.flagged": ("flagged", "signalées"),
    "source_not_loaded": ("Source not loaded:", "Source non chargée :"),
    "source_error": ("{file} (source '{source}'): {message}",
                     "{file} (source « {source} ») : {message}"),
    "example": ("e.g. row {row}, column '{column}': {value}",
                "p. ex. ligne {row}, colonne « {column} » : {value}"),
    "example_row": ("e.g. row {row}", "p. ex. ligne {row}"),
    "example.csv": ("e.g. line {row}, column '{column}': {value}",
                    "p. ex. ligne {row}, colonne « {column} » : {value}"),
    "example_row.csv": ("e.g. line {row}", "p. ex. ligne {row}"),
    "example_value": ("e.g. row {row}: {value}", "p. ex. ligne {row} : {value}"),
    "value": ("'{value}'", "« {value} »"),
    "empty": ("(empty)", "(vide)"),
    "values_computed": ("{values} indicator values for {indicators} indicators",
                        "{values} valeurs d'indicateurs pour {indicators} indicateurs"),
    "note": ("Note:", "Note :"),
    "written": ("Written:", "Fichiers écrits :"),
    "report": ("Report:", "Rapport :"),
    "publish": ("Publish:", "À publier :"),
    "restricted": ("Restricted, auditors only:", "Restreint, pour les auditeurs seulement :"),
    "signed": ("Signed by key", "Signé avec la clé"),
    "origin.per-user key": ("per-user key", "clé personnelle"),
    "origin.LCI_SIGNING_KEY": ("LCI_SIGNING_KEY", "LCI_SIGNING_KEY"),
    "origin.--signing-key": ("--signing-key", "--signing-key"),
    "availability.title": ("Indicators: {computed} computed, {missing} not computed",
                           "Indicateurs : {computed} calculé{computed_s}, {missing} non "
                           "calculé{missing_s}"),
    "availability.indicator": ("indicator", "indicateur"),
    "availability.label": ("label", "libellé"),
    "availability.why": ("why not computed", "raison"),
    "validation_report": ("Validation report: {report} (restricted); summary: {summary}",
                          "Rapport de validation : {report} (restreint) ; synthèse : {summary}"),
    "over_threshold": ("{source}: {share} of rows rejected, above the {allowed} allowed",
                       "{source} : {share} des lignes rejetées, au-delà des {allowed} admis"),
    "all_passed": ("All rows passed validation.", "Toutes les lignes ont passé la validation."),
    "quarantined": (
        "{rows} row(s) quarantined, not used ({sources}): the rows and their reasons are in "
        "{path}",
        "{rows} ligne(s) mises en quarantaine, non utilisées ({sources}) : les lignes et leurs "
        "motifs sont dans {path}",
    ),
    "quarantined_source": ("{source}: {rows}", "{source} : {rows}"),
    "sources_not_loaded": ("{n} source(s) not loaded: {sources}",
                           "{n} source(s) non chargée(s) : {sources}"),
    "catalogue.project": ("{project}: {n} indicators, {own} of the project's own",
                          "{project} : {n} indicateurs, dont {own} propres au projet"),
    "catalogue.definitions": ("Indicator definitions:", "Définitions des indicateurs :"),
    "catalogue.id": ("id", "id"),
    "catalogue.indicator": ("indicator", "indicateur"),
    "catalogue.unit": ("unit", "unité"),
    "catalogue.direction": ("direction", "lecture"),
    "catalogue.kind": ("kind", "calcul"),
    "catalogue.defined_in": ("defined in", "défini dans"),
    "catalogue.own": ("project: {file}", "projet : {file}"),
    "catalogue.builtin": ("built-in", "intégré"),
    "catalogue.changed": ("built-in, changed: {changes}", "intégré, modifié : {changes}"),
    "kind.survey_proportion": ("survey proportion", "proportion d'enquête"),
    "kind.survey_mean": ("survey mean", "moyenne d'enquête"),
    "kind.survey_total": ("survey total", "total d'enquête"),
    "kind.survey_ratio": ("survey ratio", "rapport d'enquête"),
    "kind.admin_ratio": ("administrative ratio", "ratio administratif"),
    "kind.commuting": ("commuting flows", "flux domicile-travail"),
    "explain.unknown": ("no indicator {indicator!r} in the catalogue; known: {known}",
                        "aucun indicateur {indicator!r} dans le catalogue ; connus : {known}"),
    "explain.from_run": ("-- from the run in {out}", "-- tiré de l'exécution dans {out}"),
    "explain.planned": ("-- planned on the data of {project} (no run found)",
                        "-- planifié sur les données de {project} (aucune exécution trouvée)"),
    "explain.configuration": ("configuration: {error}", "configuration : {error}"),
    "explain.catalogue": ("indicator catalogue: {error}", "catalogue des indicateurs : {error}"),
    "explain.not_warehouse": ("{path}: not a readable LCI warehouse ({error})",
                              "{path} : pas un entrepôt LCI lisible ({error})"),
    "trace.no_run": ("no run in {out} (no {warehouse}): run 'lci run --out {out}' first, or "
                     "give the output folder with --out",
                     "aucune exécution dans {out} (pas de {warehouse}) : lancez d'abord "
                     "'lci run --out {out}', ou donnez le dossier de sortie avec --out"),
    "trace.old": ("{path} cannot be traced ({error}); run 'lci run --out {out}' again",
                  "{path} ne peut pas être tracé ({error}) ; relancez 'lci run --out {out}'"),
    "trace.published": ("published value {value} ({status})", "valeur publiée {value} ({status})"),
    "trace.records": ("{n} records (first {shown})", "{n} enregistrements (les {shown} premiers)"),
    "trace.written": ("All {n} records written to {path}",
                      "Les {n} enregistrements sont écrits dans {path}"),
    "trace.question": ("Do the records reproduce the published cell?",
                       "Les enregistrements redonnent-ils la cellule publiée ?"),
    "trace.from_records": ("from the records", "d'après les enregistrements"),
    "trace.published_column": ("published", "publié"),
    "trace.withheld": ("withheld", "non diffusé"),
    "trace.withheld_cell": (
        "The published cell withholds its parts (suppressed): the records are listed, there is "
        "nothing published to compare them with.",
        "La cellule publiée ne diffuse pas ses composantes (secret) : les enregistrements sont "
        "listés, rien de publié ne permet de les comparer."),
    "trace.differ": ("The records do not reproduce the published cell.",
                     "Les enregistrements ne redonnent pas la cellule publiée."),
    "trace.reproduce": ("The records reproduce the published numerator, denominator and n.",
                        "Les enregistrements redonnent le numérateur, le dénominateur et le n "
                        "publiés."),
    "cannot_write": ("cannot write {path}: {error}", "impossible d'écrire {path} : {error}"),
    "composite.written": ("{units} units, {indicators} indicators → {path}",
                          "{units} unités, {indicators} indicateurs → {path}"),
    "composite.title": ("Composite index — {units} units, {indicators} indicators",
                        "Indice composite — {units} unités, {indicators} indicateurs"),
    "composite.choices": ("normalisation {normalise} · aggregation {aggregate} · outlier "
                          "treatment {treat}",
                          "normalisation {normalise} · agrégation {aggregate} · traitement des "
                          "valeurs extrêmes {treat}"),
    "composite.none": ("none", "aucun"),
    "composite.rank": ("Rank", "Rang"),
    "composite.treated": ("Outliers treated in {n} indicators: {codes}",
                          "Valeurs extrêmes traitées dans {n} indicateurs : {codes}"),
    "composite.more": ("All normalised indicators and aggregates: add --out RESULTS.csv",
                       "Tous les indicateurs normalisés et les agrégats : ajoutez --out "
                       "RESULTATS.csv"),
    "survey.title": ("{statistic} of {target} — {file}", "{statistic} de {target} — {file}"),
    "survey.mean": ("mean", "moyenne"),
    "survey.total": ("total", "total"),
    "survey.proportion": ("proportion", "proportion"),
    "survey.ratio": ("ratio", "rapport"),
    "survey.one_statistic": ("give exactly one of --mean, --total, --proportion, --ratio",
                             "donnez exactement une option parmi --mean, --total, "
                             "--proportion, --ratio"),
    "survey.level": ("--level must be between 0 and 1, got {level}",
                     "--level doit être compris entre 0 et 1 (reçu : {level})"),
    "survey.ci": ("--ci {ci} is for proportions; use normal or t for a {statistic}",
                  "--ci {ci} est pour les proportions ; pour une {statistic}, utilisez normal "
                  "ou t"),
    "survey.ratio_form": ("--ratio takes NUM:DEN, e.g. --ratio api.stu:enroll",
                          "--ratio prend NUM:DEN, p. ex. --ratio api.stu:enroll"),
    "survey.not_found": ("{path}: file not found", "{path} : fichier introuvable"),
    "survey.cannot_compute": ("the estimate cannot be computed on {file}: {reason}",
                              "l'estimation ne peut pas être calculée sur {file} : {reason}"),
    "keygen.private": ("Private key: {path} (readable by you only: keep it secret)",
                       "Clé privée : {path} (lisible par vous seul : gardez-la secrète)"),
    "keygen.public": ("Public key: {path} (give it to auditors)",
                      "Clé publique : {path} (à donner aux auditeurs)"),
    "keygen.fingerprint": ("Fingerprint: {fingerprint}", "Empreinte : {fingerprint}"),
    "keygen.use": ("Sign with it: lci run --signing-key {path}, or LCI_SIGNING_KEY={path}",
                   "Pour signer avec : lci run --signing-key {path}, ou LCI_SIGNING_KEY={path}"),
}

_KFLC: dict[str, tuple[str, str]] = {
    "W1": ("Individual empowerment and social cohesion",
           "Autonomisation des personnes et cohésion sociale"),
    "W2": ("Economic development and cultural prosperity",
           "Développement économique et prospérité culturelle"),
    "W3": ("Sustainable development", "Développement durable"),
    "B1": ("Inclusive learning in the education system",
           "Apprentissage inclusif dans le système éducatif"),
    "B2": ("Revitalised learning in families and communities",
           "Apprentissage revitalisé dans les familles et les communautés"),
    "B3": ("Effective learning for and in the workplace",
           "Apprentissage efficace pour et sur le lieu de travail"),
    "B4": ("Extended use of modern learning technologies",
           "Usage étendu des technologies modernes d'apprentissage"),
    "B5": ("Enhanced quality in learning", "Qualité accrue de l'apprentissage"),
    "B6": ("A vibrant culture of learning throughout life",
           "Culture dynamique de l'apprentissage tout au long de la vie"),
    "F1": ("Strong political will and commitment", "Volonté et engagement politiques forts"),
    "F2": ("Governance and participation of all stakeholders",
           "Gouvernance et participation de toutes les parties prenantes"),
    "F3": ("Mobilisation and utilisation of resources",
           "Mobilisation et utilisation des ressources"),
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if the report can be written in it; any other value is an error."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; valid: {list(LANGS)}")
    return cast(Lang, lang)


def text(key: str, lang: Lang, **values: object) -> str:
    """The UI string ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    try:
        pair = _STRINGS[key]
    except KeyError:
        raise KeyError(f"no UI string {key!r}") from None
    return pair[LANGS.index(lang)].format(nbsp=NARROW_NBSP if lang == "fr" else "", **values)


def change_period(year: int, previous: set[int], lang: Lang) -> str:
    """What the changes of ``year`` are measured against, naming the actual years: "change
    since 2016 (5 years earlier)", several years by indicator, or no earlier year at all."""
    if not previous:
        return text("period.none", lang)
    if len(previous) == 1:
        (before,) = previous
        if year - before > 1:
            return text("period.one_gap", lang, previous=before, gap=year - before)
        return text("period.one", lang, previous=before)
    return text("period.several", lang,
                years=text("period.or", lang).join(str(y) for y in sorted(previous)))


def kflc_name(code: str, lang: Lang) -> str:
    """Name of a UNESCO Key Feature of Learning Cities (W1-W3, B1-B6, F1-F3)."""
    return _KFLC[code][LANGS.index(lang)]


def kflc_codes() -> tuple[str, ...]:
    return tuple(_KFLC)


def format_number(value: float, decimals: int, lang: Lang) -> str:
    """A number as readers of ``lang`` write it: ``1,234.5`` or ``1 234,5`` (narrow spaces).

    Matches what great-tables prints for ``locale="en"`` and ``locale="fr"``, so prose and
    tables agree.
    """
    formatted = f"{value:,.{decimals}f}"
    if lang == "fr":
        formatted = formatted.replace(",", NARROW_NBSP).replace(".", ",")
    return formatted.replace("-", "−")


def format_percent(share: float, lang: Lang) -> str:
    """A share (0.2) as a percentage (``20%`` / ``20 %``), without needless decimals."""
    number = format_number(share * 100, 0 if float(share * 100).is_integer() else 1, lang)
    return f"{number}{NARROW_NBSP}%" if lang == "fr" else f"{number}%"


NBSP = "\u00a0"
"""French no-break space: before ``:`` ``;`` ``?`` ``!`` ``»`` and after ``«``."""
_FRENCH_SPACES = re.compile(r" ([:;?!»])|(«) | (%)")


def typeset(template: str, lang: Lang) -> str:
    """French typography for a text of ours (never for data): no-break spaces before ``:``
    ``;`` ``?`` ``!``, inside « », a narrow one before ``%``; English is left as it is."""
    if lang != "fr":
        return template

    def space(match: re.Match[str]) -> str:
        if match.group(1):
            return NBSP + match.group(1)
        if match.group(2):
            return "«" + NBSP
        return NARROW_NBSP + "%"

    return _FRENCH_SPACES.sub(space, template)


def say(key: str, lang: Lang, **values: object) -> str:
    """What a command prints, ``key`` in ``lang`` with French typography, ``{placeholders}``
    filled from ``values`` (values are data: they are not retypeset)."""
    try:
        pair = _CONSOLE[key]
    except KeyError:
        raise KeyError(f"no console string {key!r}") from None
    return typeset(pair[LANGS.index(lang)], lang).format(**values)


def localised(english: str, french: str | None, lang: Lang) -> str:
    """A catalogue text given in English and, when the catalogue has it, in French: the French
    with its typography; an older file's English alone is said to be English."""
    if lang != "fr":
        return english
    if french:
        return typeset(french, lang)
    return text("english_only", lang, text=english)


def format_count(value: int, lang: Lang) -> str:
    """A count as readers of ``lang`` write it: ``25,874`` or ``25 874``."""
    return format_number(value, 0, lang)


def _check_complete() -> None:
    for key, pair in (*_STRINGS.items(), *_CONSOLE.items()):
        if len(pair) != len(LANGS) or not all(pair):
            raise AssertionError(f"UI string {key!r} is missing a language")


_check_complete()
