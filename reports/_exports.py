"""Exports of ``indicator_values`` in the run's language: ``indicators.csv`` (for programs, or
for a spreadsheet in its language's conventions), ``indicators.xlsx`` for people
(:mod:`reports._spreadsheet`) and ``indicators.sdmx.csv`` for statistical exchange
(:mod:`reports._sdmx`).

A French run's CSV and workbook hold no English: column names, statuses, breakdowns, reasons
and group names are French. Programs that must not depend on the language read the Parquet
files or the SDMX-CSV, whose codes never change.

Every cell's text is made in DuckDB, the rules written once here (:func:`number_sql`,
:func:`text_sql`, :func:`reason_sql`) and shared by the three files, so that two million rows
stream through in batches. All are deterministic: rows sorted on the table's key, floats written
with a fixed format, the workbook stamped with a fixed date; each file is replaced in one step.
"""

from __future__ import annotations

import csv as csv_module
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

import duckdb

from indicators import Catalogue
from indicators.sql import quote_ident
from indicators.territories import GROUP_LEVEL
from reports._i18n import Lang, check_lang

CsvStyle = Literal["standard", "spreadsheet"]
CSV_STYLES: tuple[str, ...] = get_args(CsvStyle)

CSV_NAME, XLSX_NAME, SDMX_NAME = "indicators.csv", "indicators.xlsx", "indicators.sdmx.csv"
"""The files :func:`write_exports` writes, in the year's folder."""

FLOAT_DECIMALS = 6
"""CSV floats: fixed-point, at most six decimals, trailing zeros dropped (``45.3``, ``0.0125``)."""
FETCH_ROWS = 20_000
"""Rows an export takes from DuckDB at a time: its memory, whatever the table's length."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting so is a formula to a spreadsheet: the CSV prefixes it with ``'``."""

VALUE_COLUMNS: tuple[str, ...] = (
    "territory_code", "territory_level", "territory_name", "year", "breakdown", "value",
    "numerator", "denominator", "se", "ci_low", "ci_high", "n_unweighted", "status",
    "status_reason", "item_nonresponse",  # last, so that the older columns keep their places
)
EXPORT_COLUMNS: tuple[str, ...] = ("indicator_id", "domain", "label", "unit", *VALUE_COLUMNS)
"""Every column of the CSV and of the workbook's data sheet, by key."""
CSV_COLUMNS: tuple[str, ...] = ("indicator_id", "domain", "label_en", "unit_en", *VALUE_COLUMNS)
"""The standard CSV's header in an English run (see :func:`standard_header`)."""
FRENCH_CSV_COLUMNS: tuple[str, ...] = (
    "code_indicateur", "domaine", "libelle", "unite", "code_territoire", "niveau_territoire",
    "nom_territoire", "annee", "ventilation", "valeur", "numerateur", "denominateur",
    "erreur_type", "ic_bas", "ic_haut", "effectif_non_pondere", "statut", "motif_statut",
    "non_reponse_partielle")
"""The standard CSV's header in a French run, column for column :data:`CSV_COLUMNS`: ASCII,
lower case and underscores, so that R, pandas or SQL take them as names unquoted and a program
reading the file as Latin-1 or Windows-1252 still finds them (the file has no byte-order mark)."""
FLOATS = frozenset({"value", "numerator", "denominator", "se", "ci_low", "ci_high",
                    "item_nonresponse"})
STATUSES: tuple[str, ...] = ("ok", "low_reliability", "suppressed", "missing")
BREAKDOWNS: tuple[str, ...] = ("total", "sex=F", "sex=M")
"""Every breakdown the catalogue allows (``breakdowns: [sex]``; sex is F or M): each has its
words (``breakdown.<code>`` in :data:`_WORDS`); English writes the code itself."""
_SORT = ("indicator_id", "territory_level", "territory_code", "year", "breakdown")

_WORDS: dict[str, tuple[str, str]] = {
    "column.indicator_id": ("Indicator", "Indicateur"),
    "column.domain": ("Domain", "Domaine"),
    "column.label": ("Label", "Libellé"),
    "column.unit": ("Unit", "Unité"),
    "column.territory_code": ("Territory code", "Code du territoire"),
    "column.territory_level": ("Level", "Niveau"),
    "column.territory_name": ("Territory", "Territoire"),
    "column.year": ("Year", "Année"),
    "column.breakdown": ("Breakdown", "Ventilation"),
    "column.value": ("Value", "Valeur"),
    "column.numerator": ("Numerator", "Numérateur"),
    "column.denominator": ("Denominator", "Dénominateur"),
    "column.se": ("Standard error", "Erreur type"),
    "column.ci_low": ("95% CI, low", "IC à 95\u202f%, borne basse"),
    "column.ci_high": ("95% CI, high", "IC à 95\u202f%, borne haute"),
    "column.n_unweighted": ("Respondents (unweighted)", "Répondants (non pondéré)"),
    "column.item_nonresponse": ("Item non-response (share)", "Non-réponse partielle (part)"),
    "column.status": ("Status", "Statut"),
    "column.status_reason": ("Reason", "Motif"),
    "status.ok": ("Published", "Publié"),
    "status.low_reliability": ("Low reliability", "Fiabilité limitée"),
    "status.suppressed": ("Not published", "Non publié"),
    "status.missing": ("Missing", "Manquant"),
    "breakdown.total": ("total", "Ensemble"),
    "breakdown.sex=F": ("sex=F", "Femmes"),
    "breakdown.sex=M": ("sex=M", "Hommes"),
    "meaning.indicator_id": ("Indicator identifier (see the definitions).",
                             "Identifiant de l'indicateur (voir les définitions)."),
    "meaning.domain": ("Action domain code.", "Code du domaine d'action."),
    "meaning.label": ("The indicator's name.", "Nom de l'indicateur."),
    "meaning.unit": ("The unit of the value and of the interval.",
                     "Unité de la valeur et de l'intervalle."),
    "meaning.territory_code": (
        "The territory's code at its level (in France: INSEE code of the commune, SIREN of "
        "the EPCI, département or région code), or the code of a custom group. Levels may "
        "share a code: a territory is its level and its code together.",
        "Code du territoire à son niveau (en France\u00a0: code INSEE de la commune, SIREN de "
        "l'EPCI, code du département ou de la région), ou code d'un groupe. Des niveaux "
        "peuvent partager un code\u00a0: un territoire, c'est son niveau et son code."),
    "meaning.territory_level": (
        "The territory's level, as the project declares them (in France: COM, EPCI, DEP, "
        "REG), or GROUP.",
        "Niveau du territoire, tel que le projet les déclare (en France\u00a0: COM, EPCI, DEP, "
        "REG), ou GROUP pour un groupe."),
    "meaning.territory_name": ("The territory's name.", "Nom du territoire."),
    "meaning.year": ("Reference year.", "Année de référence."),
    "meaning.breakdown": ("'total', or a subgroup such as 'sex=F'.",
                          "«\u00a0Ensemble\u00a0», ou un sous-groupe\u00a0: «\u00a0Femmes\u00a0» "
                          "ou «\u00a0Hommes\u00a0»."),
    "meaning.value": ("The indicator, in its unit; empty when not published.",
                      "L'indicateur, dans son unité\u00a0; vide s'il n'est pas publié."),
    "meaning.numerator": ("The numerator the value is computed from (weighted for survey "
                          "indicators).",
                          "Numérateur dont la valeur est tirée (pondéré pour les indicateurs "
                          "d'enquête)."),
    "meaning.denominator": ("The denominator the value is computed from (weighted for survey "
                            "indicators).",
                            "Dénominateur dont la valeur est tirée (pondéré pour les "
                            "indicateurs d'enquête)."),
    "meaning.se": ("Survey indicators: standard error of the estimate.",
                   "Indicateurs d'enquête\u00a0: erreur type de l'estimation."),
    "meaning.ci_low": ("Survey indicators: lower bound of the 95% confidence interval.",
                       "Indicateurs d'enquête\u00a0: borne basse de l'intervalle de confiance à "
                       "95\u202f%."),
    "meaning.ci_high": ("Survey indicators: upper bound of the 95% confidence interval.",
                        "Indicateurs d'enquête\u00a0: borne haute de l'intervalle de confiance "
                        "à 95\u202f%."),
    "meaning.n_unweighted": ("Survey indicators: number of respondents.",
                             "Indicateurs d'enquête\u00a0: nombre de répondants."),
    "meaning.item_nonresponse": (
        "Survey indicators: share (0 to 1) of the respondents in the indicator's population "
        "who left its questions unanswered; they are not in the estimate.",
        "Indicateurs d'enquête\u00a0: part (de 0 à 1) des répondants de la population de "
        "l'indicateur qui n'ont pas répondu à ses questions\u00a0; ils ne sont pas dans "
        "l'estimation."),
    "meaning.status": (
        "Published, Low reliability (interpret with caution), Not published (too few "
        "respondents or units) or Missing (no data).",
        "Publié, Fiabilité limitée (à interpréter avec prudence), Non publié (trop peu de "
        "répondants ou d'unités) ou Manquant (pas de donnée)."),
    "meaning.status_reason": ("Why a value is flagged, not published or missing.",
                              "Pourquoi une valeur est signalée, non publiée ou manquante."),
}

# Why a value is flagged, as the publication step writes it (English), and in French: a
# pattern of the whole reason and its French replacement (DuckDB's \1 for the first group).
_REASONS_FR: tuple[tuple[str, str], ...] = (
    (r"^no data reported$", "aucune donnée transmise"),
    (r"^denominator is zero or missing$", "dénominateur nul ou manquant"),
    (r"^unweighted n = (\d+) < (\d+)$", r"effectif non pondéré de \1 < \2"),
    (r"^coefficient of variation (\d+)\.(\d+) > (\d+)\.(\d+)$",
     r"coefficient de variation de \1,\2 > \3,\4"),
    (r"^(\d+) of (\d+) member communes reported$", r"\1 communes membres sur \2 ont répondu"),
    (r"^fewer than (\d+) workers \((\d+)\)$", r"moins de \1 actifs occupés (\2)"),
    (r"^design degrees of freedom (\d+) < (\d+)$",
     r"\1 degrés de liberté du plan de sondage < \2"),
    (r"^effective sample size (\d+)\.(\d+) < (\d+)$",
     r"taille d'échantillon effective de \1,\2 < \3"),
    (r"^effective sample size (\d+)\.(\d+) < (\d+)\.(\d+)$",
     r"taille d'échantillon effective de \1,\2 < \3,\4"),
    (r"^95% interval width (\d+)\.(\d+) points > (\d+)$",
     r"intervalle à 95 % large de \1,\2 points > \3"),
    (r"^95% interval width (\d+)\.(\d+) points > (\d+)\.(\d+)$",
     r"intervalle à 95 % large de \1,\2 points > \3,\4"),
    (r"^item non-response (\d+)\.(\d+)% > (\d+)%$", r"non-réponse partielle de \1,\2 % > \3 %"),
    (r"^item non-response (\d+)\.(\d+)% > (\d+)\.(\d+)%$",
     r"non-réponse partielle de \1,\2 % > \3,\4 %"),
    (r"^complementary suppression \(protects ([^,]+), (.+)\)$",
     r"suppression secondaire (protège \1, \2)"),
)


def word(key: str, lang: Lang) -> str:
    """An export's word (column header, status, meaning) in ``lang``."""
    try:
        pair = _WORDS[key]
    except KeyError:
        raise KeyError(f"no export word {key!r}") from None
    return pair[0 if lang == "en" else 1]


def column_header(key: str, lang: Lang) -> str:
    """The header a person reads over the column ``key`` of :data:`EXPORT_COLUMNS`."""
    return word(f"column.{key}", lang)


def standard_header(lang: Lang) -> tuple[str, ...]:
    """The standard CSV's header: names a program can use unquoted, in the run's language
    (:data:`CSV_COLUMNS` in English, :data:`FRENCH_CSV_COLUMNS` in French)."""
    return CSV_COLUMNS if lang == "en" else FRENCH_CSV_COLUMNS


def write_exports(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, out_dir: Path,
                  lang: str = "en", csv: str = "standard",
                  territories: Sequence[str] | None = None,
                  year: int | None = None, title: str | None = None,
                  rows_per_level: int | None = None) -> list[Path]:
    """Write ``indicators.csv``, ``indicators.xlsx`` and ``indicators.sdmx.csv`` in ``lang``.

    ``csv`` is the project's ``exports.csv`` setting; ``territories`` are the report's, in its
    order (``None``: a bounded default, see :func:`reports._spreadsheet.write_workbook`);
    ``year``, ``title`` and ``rows_per_level`` the report's (``None``: the latest year with
    values, the default title, the report tables' default)."""
    lang_ = check_lang(lang)
    if csv not in CSV_STYLES:
        raise ValueError(f"unknown CSV style {csv!r}; valid: {list(CSV_STYLES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_known(con, catalogue)
    from reports._sdmx import write_sdmx  # both modules build on this one's cell rules
    return [write_csv(con, catalogue, out_dir / CSV_NAME, lang_, csv),
            write_xlsx(con, catalogue, out_dir / XLSX_NAME, lang_, territories, year, title,
                       rows_per_level),
            write_sdmx(con, catalogue, out_dir / SDMX_NAME)]


def write_xlsx(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path,
               lang: str = "en", territories: Sequence[str] | None = None,
               year: int | None = None, title: str | None = None,
               rows_per_level: int | None = None) -> Path:
    """The workbook for people: see :func:`reports._spreadsheet.write_workbook`."""
    from reports._spreadsheet import write_workbook  # it builds on this module's cell rules
    return write_workbook(con, catalogue, Path(path), check_lang(lang), territories, year,
                          title, rows_per_level)


def format_float(value: float | None, decimal: str = ".") -> str:
    """Fixed-point text for a float: ``45.3``, ``0.001235``, ``12``; empty for NULL.
    ``decimal=","`` writes the decimal comma of a French spreadsheet (``45,3``)."""
    if value is None:
        return ""
    formatted = f"{value:.{FLOAT_DECIMALS}f}".rstrip("0").rstrip(".")
    formatted = "0" if formatted in ("-0", "") else formatted
    return formatted.replace(".", decimal)


def neutralise_formula(text: str) -> str:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``@SUM(…)``,
    ``+1``) prefixed with a single quote, as OWASP advises against CSV injection; numbers are
    never passed here."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cell_params(decimal: str = ".") -> dict[str, object]:
    """The parameters :func:`number_sql` and :func:`text_sql` refer to."""
    return {"float_format": f"%.{FLOAT_DECIMALS}f", "quote": "'", "decimal": decimal,
            **{f"start{n}": start for n, start in enumerate(FORMULA_STARTS)}}


def number_sql(column: str) -> str:
    """:func:`format_float` in SQL over ``column`` (printf rounds as Python's format does),
    with the decimal mark bound as ``$decimal``."""
    trimmed = f"rtrim(rtrim(printf($float_format, {column}), '0'), '.')"
    return (f"CASE WHEN {column} IS NULL THEN '' WHEN {trimmed} = '-0' THEN '0' "
            f"ELSE replace({trimmed}, '.', $decimal) END")


def text_sql(expression: str) -> str:
    """:func:`neutralise_formula` in SQL: a leading quote before a formula's first character;
    NULL becomes empty."""
    risky = " OR ".join(f"starts_with({expression}, $start{n})"
                        for n in range(len(FORMULA_STARTS)))
    return (f"CASE WHEN {risky} THEN $quote || {expression} "
            f"ELSE coalesce({expression}, '') END")


def reason_sql(expression: str, lang: Lang) -> tuple[str, dict[str, object]]:
    """``status_reason`` in ``lang``: each reason the publication step writes, in French for a
    French export (a reason of no known form stays as written)."""
    if lang == "en":
        return expression, {}
    params: dict[str, object] = {}
    branches = []
    for n, (pattern, replacement) in enumerate(_REASONS_FR):
        params[f"reason_p{n}"], params[f"reason_r{n}"] = pattern, replacement
        branches.append(f"WHEN regexp_matches({expression}, $reason_p{n}) "
                        f"THEN regexp_replace({expression}, $reason_p{n}, $reason_r{n})")
    return f"CASE {' '.join(branches)} ELSE {expression} END", params


def status_sql(expression: str, lang: Lang) -> tuple[str, dict[str, object]]:
    """The status word a person reads in ``lang`` (an unknown status stays as written)."""
    return _words_sql(expression, lang, "status", STATUSES)


def breakdown_sql(expression: str, lang: Lang) -> tuple[str, dict[str, object]]:
    """The breakdown in ``lang``: its code in English (``total``, ``sex=F``), its words in
    French (``Ensemble``, ``Femmes``); a breakdown of no known code stays as written."""
    if lang == "en":
        return expression, {}
    return _words_sql(expression, lang, "breakdown", BREAKDOWNS)


def _words_sql(expression: str, lang: Lang, kind: str,
               codes: Sequence[str]) -> tuple[str, dict[str, object]]:
    """A CASE from each code to its word in ``lang``, both bound as parameters."""
    params: dict[str, object] = {}
    branches = []
    for n, code in enumerate(codes):
        params[f"{kind}_c{n}"], params[f"{kind}_w{n}"] = code, word(f"{kind}.{code}", lang)
        branches.append(f"WHEN ${kind}_c{n} THEN ${kind}_w{n}")
    return f"CASE {expression} {' '.join(branches)} ELSE {expression} END", params


def export_rows_sql(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, lang: Lang,
                    people: bool) -> tuple[str, dict[str, object]]:
    """A relation of every row of ``indicator_values`` with its domain, label and unit in
    ``lang``, its reason, status and breakdown in ``lang`` (``reason``, ``status_word``,
    ``breakdown_word``: the codes stay in ``status`` and ``breakdown``, to sort on) and, in
    French, a group's French name as its ``territory_name``; ``people`` adds the catalogue's
    and the levels' order (``ordinal``, ``level_rank``).

    The catalogue joins as a relation of bound lists; only identifiers are quoted into SQL."""
    types = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'indicator_values' AND table_schema = current_schema()").fetchall())
    for name in VALUE_COLUMNS:
        kind = types.get(name, "VARCHAR")
        if kind not in ("VARCHAR", "DOUBLE", "FLOAT", *_INTEGER_TYPES):
            raise TypeError(f"indicator_values.{name} is {kind}: the exports write no such "
                            f"column")
    reason, params = reason_sql("v.status_reason", lang)
    status, status_params = status_sql("v.status", lang)
    breakdown, breakdown_params = breakdown_sql("v.breakdown", lang)
    params.update(status_params)
    params.update(breakdown_params)
    extra = ""
    if people:
        levels = [row[0] for row in con.execute(
            "SELECT level FROM territory_levels ORDER BY ordinal").fetchall()] if _has_table(
            con, "territory_levels") else []
        params["levels"] = levels
        extra = (", m.ordinal, "
                 "coalesce(list_position($levels::VARCHAR[], v.territory_level), 1000000) "
                 "AS level_rank")
    rows, groups = "v.*", ""
    if "item_nonresponse" not in types:  # a warehouse written before item non-response
        rows = "v.*, CAST(NULL AS DOUBLE) AS item_nonresponse"
    if lang == "fr" and _has_table(con, "territory_groups"):
        # indicator_values names a group in English, as the contract's territories do.
        params["group_level"] = GROUP_LEVEL
        rows = ("v.* REPLACE (CASE WHEN v.territory_level = $group_level "
                "THEN coalesce(g.name_fr, v.territory_name) ELSE v.territory_name END "
                "AS territory_name)" + rows[len("v.*"):])
        groups = (" LEFT JOIN (SELECT group_code, min(group_name_fr) AS name_fr "
                  "FROM territory_groups GROUP BY group_code) g "
                  "ON v.territory_level = $group_level AND g.group_code = v.territory_code")
    params.update({
        "ids": [i.id for i in catalogue], "domains": [i.domain for i in catalogue],
        "labels": [i.label(lang) for i in catalogue], "units": [i.unit(lang) for i in catalogue],
        "ordinals": list(range(len(list(catalogue))))})
    query = (
        f"SELECT {rows}, m.domain, m.label, m.unit, {reason} AS reason, "
        f"{status} AS status_word, {breakdown} AS breakdown_word{extra}"
        " FROM indicator_values v JOIN (SELECT unnest($ids) AS indicator_id, "
        "unnest($domains) AS domain, unnest($labels) AS label, unnest($units) AS unit, "
        f"unnest($ordinals) AS ordinal) m USING (indicator_id){groups}")
    return query, params


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = ?", [name]).fetchone()[0])


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT")


def write_csv(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path,
              lang: str = "en", style: str = "standard") -> Path:
    """All rows, sorted on the key, UTF-8, with each indicator's label and unit in ``lang``.

    ``standard`` is for programs: comma, decimal point, no byte-order mark and the header of
    :func:`standard_header`; in English statuses and breakdowns as codes, as ever, in French
    in words, as the workbook writes them. ``spreadsheet`` is for a spreadsheet in ``lang``:
    headers, statuses (and French breakdowns) in words; in French ``;`` and the decimal comma,
    in English ``,`` and the point; both with a byte-order mark, so that Excel reads UTF-8.

    Every cell's text is made in DuckDB, so that two million rows cost seconds; Python's
    CSV writer only quotes and joins them, batch by batch, into a file replaced in one step."""
    lang_ = check_lang(lang)
    if style not in CSV_STYLES:
        raise ValueError(f"unknown CSV style {style!r}; valid: {list(CSV_STYLES)}")
    spreadsheet = style == "spreadsheet"
    french = spreadsheet and lang_ == "fr"
    query, params = _csv_query(con, catalogue, lang_, spreadsheet, "," if french else ".")
    cursor = con.execute(query, params)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8-sig" if spreadsheet else "utf-8",
                      newline="") as out:
        writer = csv_module.writer(_LineFeeds(out), delimiter=";" if french else ",",
                                   lineterminator="\r\n")
        writer.writerow([column_header(c, lang_) for c in EXPORT_COLUMNS] if spreadsheet
                        else standard_header(lang_))
        while batch := cursor.fetchmany(FETCH_ROWS):
            writer.writerows(batch)
    os.replace(partial, path)
    return path


def _csv_query(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, lang: Lang,
               words: bool, decimal: str) -> tuple[str, dict[str, object]]:
    """The SELECT giving each CSV row as its cells' text, in key order."""
    rows, params = export_rows_sql(con, catalogue, lang, people=False)
    params.update(cell_params(decimal))
    status = "status_word" if words or lang != "en" else "status"

    def cell(name: str) -> str:
        if name in FLOATS:
            return number_sql(quote_ident(name))
        if name in ("territory_code", "territory_level", "territory_name"):
            return text_sql(quote_ident(name))
        if name == "breakdown":
            return text_sql("breakdown_word")
        if name == "status":
            return text_sql(status)
        if name == "status_reason":
            return text_sql("reason")
        return f"coalesce(CAST({quote_ident(name)} AS VARCHAR), '')"

    cells = [text_sql("indicator_id"), text_sql("domain"), text_sql("label"), text_sql("unit"),
             *(cell(name) for name in VALUE_COLUMNS)]
    order = ", ".join(quote_ident(c) for c in _SORT)
    return f"SELECT {', '.join(cells)} FROM ({rows}) ORDER BY {order}", params


class _LineFeeds:
    """Rows end with LF, yet a value holding a lone CR is quoted as one holding LF is (the
    writer quotes the characters of its line terminator): a CR would otherwise start a new row
    in a spreadsheet, and that row's first cell could be a formula."""

    def __init__(self, buffer: io.TextIOBase) -> None:
        self.buffer = buffer

    def write(self, line: str) -> int:
        return self.buffer.write(line.removesuffix("\r\n") + "\n")


def line_feeds(buffer: io.TextIOBase) -> _LineFeeds:
    """A CSV writer's target that ends rows with LF and quotes a lone CR (see _LineFeeds)."""
    return _LineFeeds(buffer)


def _check_known(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> None:
    """Rows of an indicator the catalogue does not define would export without a label."""
    ids = [row[0] for row in con.execute(
        "SELECT DISTINCT indicator_id FROM indicator_values ORDER BY 1").fetchall()]
    unknown = sorted(set(ids) - {i.id for i in catalogue})
    if unknown:
        raise ValueError(f"indicator_values holds indicators missing from the catalogue: "
                         f"{unknown}")


def _check_complete() -> None:
    for key, pair in _WORDS.items():
        if len(pair) != 2 or not all(pair):
            raise AssertionError(f"export word {key!r} is missing a language")


_check_complete()
