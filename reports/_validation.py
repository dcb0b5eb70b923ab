"""The validation report: what was checked, what passed, what failed and what was waived.

For people, an HTML page of great-tables tables (sources with their row accounting, then every
check of every contract table); for machines, the same facts as JSON. Both are built from the
warehouse tables ``run_sources``, ``validation_results``, ``validation_failures`` and
``problems``: every message shown (a source not read, a reader's note, a failing check) is a
row of ``problems``, with its code, where it is, the value as written and its English and French
text; report.json lists them all, in both languages.

That full report holds values of failing rows: it belongs to the restricted bundle. What may be
published is the *summary* (``summary.json``, ``summary.html``): counts only — rows read,
accepted, quarantined per source; rows checked, passed, failed, waived per check; failing rows
counted per problem code — and the messages about whole sources (not read, reader's notes), never
a row, a value or a record.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
from great_tables import GT, loc, style

from reports._i18n import Lang, check_lang, format_count, format_percent, say, typeset

WORDS = {
    "title": ("Validation report", "Rapport de validation"),
    "intro": ("Every source was read, typed and checked against its contract before any "
              "indicator was computed. Rows failing an error-level check were quarantined "
              "(kept aside with their reasons); warnings were kept and flagged; waived failures "
              "were accepted by a declared waiver.",
              "Chaque source a été lue, typée et contrôlée selon son contrat avant tout calcul "
              "d'indicateur. Les lignes en échec sur un contrôle bloquant ont été mises en "
              "quarantaine (avec leurs motifs) ; les avertissements ont été conservés et "
              "signalés ; les échecs couverts par une dérogation déclarée ont été acceptés."),
    "verdict": ("Verdict", "Verdict"),
    "verdict.accepted": ("Accepted: every row of every source passed validation.",
                         "Acceptées : toutes les lignes de toutes les sources ont passé la "
                         "validation."),
    "verdict.accepted_with_quarantine": (
        "Accepted with quarantined rows: {rows} row(s) were set aside and are not used; every "
        "other row is. Correct the rows listed below in the files and run again.",
        "Acceptées avec des lignes en quarantaine : {rows} ligne(s) ont été mises de côté et "
        "ne sont pas utilisées ; toutes les autres le sont. Corrigez dans les fichiers les "
        "lignes listées ci-dessous, puis relancez."),
    "verdict.accepted_with_quarantine.public": (
        "Accepted with quarantined rows: {rows} row(s) were set aside and are not used; every "
        "other row is. The rows are listed in the full validation report (restricted bundle).",
        "Acceptées avec des lignes en quarantaine : {rows} ligne(s) ont été mises de côté et "
        "ne sont pas utilisées ; toutes les autres le sont. Les lignes figurent dans le "
        "rapport de validation complet (paquet restreint)."),
    "verdict.refused": (
        "Refused: a source could not be read or rejected more rows than allowed; the run stops "
        "until the sources below are corrected.",
        "Refusées : une source n'a pas pu être lue ou a rejeté plus de lignes que permis ; "
        "l'exécution s'arrête tant que les sources ci-dessous ne sont pas corrigées."),
    "status.accepted": ("accepted: {read} row(s), all used",
                        "acceptée : {read} ligne(s), toutes utilisées"),
    "status.accepted_with_quarantine": (
        "accepted with quarantined rows: {quarantined} of {read} row(s) set aside ({share})",
        "acceptée avec des lignes en quarantaine : {quarantined} ligne(s) sur {read} mises "
        "de côté ({share})"),
    "status.refused": (
        "refused: {quarantined} of {read} row(s) rejected ({share}, more than the {allowed} "
        "allowed)",
        "refusée : {quarantined} ligne(s) rejetées sur {read} ({share}, plus que les "
        "{allowed} admis)"),
    "status.not_read": ("refused: not read — {message}", "refusée : non lue — {message}"),
    "status.word.accepted": ("accepted", "acceptée"),
    "status.word.accepted_with_quarantine": ("accepted with quarantined rows",
                                             "acceptée avec des lignes en quarantaine"),
    "status.word.refused": ("refused", "refusée"),
    "status.word.not_read": ("refused: not read", "refusée : non lue"),
    "sources": ("Sources", "Sources"),
    "checks": ("Checks (failing ones first)", "Contrôles (en échec d'abord)"),
    "waived": ("Accepted failures (waivers)", "Échecs acceptés (dérogations)"),
    "none_waived": ("No failure was waived.", "Aucun échec n'a fait l'objet d'une dérogation."),
    "source": ("Source", "Source"), "file": ("File", "Fichier"),
    "read": ("Rows read", "Lignes lues"), "accepted": ("Accepted", "Acceptées"),
    "quarantined": ("Quarantined", "En quarantaine"), "flagged": ("Flagged", "Signalées"),
    "waived_rows": ("Waived", "Dérogées"), "outcome": ("Outcome", "Résultat"),
    "notes": ("Reader's notes", "Notes de lecture"),
    "notes_intro": ("What the readers detected or corrected in the files, with the first value "
                    "concerned.",
                    "Ce que la lecture a détecté ou corrigé dans les fichiers, avec la première "
                    "valeur concernée."),
    "note": ("Note", "Note"), "example": ("Example from the file", "Exemple tiré du fichier"),
    "no_notes": ("The readers noted nothing.", "La lecture n'a rien relevé."),
    "table": ("Contract table", "Table du contrat"),
    "check": ("Check id (for a waiver)", "Identifiant du contrôle (pour une dérogation)"),
    "rule": ("Rule", "Règle"),
    "severity": ("Severity", "Gravité"), "checked": ("Rows checked", "Lignes contrôlées"),
    "passed": ("Passed", "Conformes"), "failed": ("Failed", "En échec"),
    "examples": ("Failing values (examples)", "Valeurs en échec (exemples)"),
    "severity.error": ("error: row quarantined", "erreur : ligne mise en quarantaine"),
    "severity.warning": ("warning: row kept, flagged", "avertissement : ligne conservée, "
                         "signalée"),
    "severity.note": ("note", "note"),
    "row": ("Row", "Ligne"),
    "row.csv": ("Line in the file", "Ligne du fichier"),
    "row.xlsx": ("Spreadsheet row", "Ligne du tableur"),
    "row.parquet": ("Record (first = 1)", "Enregistrement (1 = le premier)"),
    "where.csv": ("{file} (CSV): line numbers as a text editor shows them, the header "
                  "included", "{file} (CSV) : numéros de ligne tels qu'un éditeur de texte "
                  "les affiche, en-tête compris"),
    "where.xlsx": ("{file} (Excel): row numbers as the spreadsheet shows them",
                   "{file} (Excel) : numéros de ligne tels que le tableur les affiche"),
    "where.parquet": ("{file} (Parquet): records counted from 1",
                      "{file} (Parquet) : enregistrements comptés à partir de 1"),
    "file_column": ("Column in the file", "Colonne du fichier"),
    "file_codes": ("(in the file: {codes})", "(dans le fichier : {codes})"),
    "value": ("Value as written", "Valeur telle qu'écrite"),
    "waiver": ("Waiver", "Dérogation"),
    "failing": ("Rows to correct", "Lignes à corriger"),
    "failing_intro": ("Each failing row with the file's own column name and the value as "
                      "written in the file (a recoded column shows the file's code).",
                      "Chaque ligne en échec, avec le nom de colonne du fichier et la valeur "
                      "telle qu'écrite dans le fichier (une colonne recodée montre le code du "
                      "fichier)."),
    "no_failing": ("No row failed a check.", "Aucune ligne n'a échoué à un contrôle."),
    "more": ("… and {n} more: every one is in report.json and quarantine.csv.",
             "… et {n} de plus : toutes figurent dans report.json et quarantine.csv."),
    "empty": ("(empty)", "(vide)"),
    "summary_title": ("Validation summary", "Synthèse de la validation"),
    "summary_intro": ("Counts only: the rows themselves, their values and the full validation "
                      "report are in the restricted bundle given to auditors.",
                      "Des comptes seulement : les lignes, leurs valeurs et le rapport de "
                      "validation complet sont dans le paquet restreint remis aux auditeurs."),
    "rows": ("Rows", "Lignes"),
    "waiver_label": ("waiver {n}: {reason} ({owner}, until {expires})",
                     "dérogation {n} : {reason} ({owner}, jusqu'au {expires})"),
}
SHOWN_FAILURES = 200  # rows of the failing-rows table in the HTML page
FORMATS = ("csv", "xlsx", "parquet")
Verdict = Literal["accepted", "accepted_with_quarantine", "refused"]
# The label checks give a waived failure (``pipelines.validating.checks``), said again in French.
_WAIVER_LABEL = re.compile(r"^waiver (\d+): (.*) \((.*), until (\S+)\)$", re.S)


def _w(key: str, lang: Lang, **values: object) -> str:
    en, fr = WORDS[key]
    return typeset(fr if lang == "fr" else en, lang).format(**values)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def validation_facts(con: duckdb.DuckDBPyConnection,
                     sources: Mapping[str, Mapping[str, object]] | None = None) -> dict:
    """The validation outcome as plain data, in a stable order (the JSON report).

    ``sources`` gives what the warehouse does not hold of each source: its ``format`` (what
    its row numbers count) and its ``max_rejected_share`` (above which it is refused).
    """
    return {
        "verdict": validation_verdict(con, sources),
        "sources": _rows(con, "SELECT source, file, contract_table, sha256, rows_read, "
                              "rows_accepted, rows_quarantined, rows_flagged, rows_waived "
                              "FROM run_sources ORDER BY source"),
        "checks": _rows(con, "SELECT contract_table, check_id, \"column\", severity, rule, "
                             "rows_checked, rows_checked - rows_failed - rows_waived AS "
                             "rows_passed, rows_failed, rows_waived, examples "
                             "FROM validation_results "
                             "ORDER BY rows_failed + rows_waived = 0, contract_table, check_id"),
        "waived": _rows(con, "SELECT source, file, row_number, file_column AS \"column\", "
                             "check_id, value, waiver FROM validation_failures "
                             "WHERE outcome = 'waived' ORDER BY source, row_number, check_id"),
        "problems": _rows(con, PROBLEMS_SQL),
    }


def validation_verdict(con: duckdb.DuckDBPyConnection,
                       sources: Mapping[str, Mapping[str, object]] | None = None) -> dict:
    """Accepted, accepted with quarantined rows, or refused; with each source's own outcome.

    A source is refused when it could not be read or rejected a larger share of its rows than
    it may (``max_rejected_share``); the whole is refused when one source is.
    """
    sources = sources or {}
    per_source = []
    for source, file, read, quarantined, error in con.execute(
            "SELECT source, file, rows_read, rows_quarantined, error FROM run_sources "
            "ORDER BY source").fetchall():
        facts = sources.get(source, {})
        allowed = facts.get("max_rejected_share")
        share = quarantined / read if read else 0.0
        if error is not None:
            status = "not_read"
        elif isinstance(allowed, int | float) and share > allowed:
            status = "refused"
        elif quarantined:
            status = "accepted_with_quarantine"
        else:
            status = "accepted"
        per_source.append({"source": source, "file": file, "format": _format(file, facts),
                           "status": status, "rows_read": read,
                           "rows_quarantined": quarantined, "rejected_share": share,
                           "max_rejected_share": allowed})
    statuses = {s["status"] for s in per_source}
    verdict: Verdict = ("refused" if statuses & {"refused", "not_read"} else
                        "accepted_with_quarantine" if "accepted_with_quarantine" in statuses
                        else "accepted")
    return {"verdict": verdict,
            "rows_quarantined": sum(s["rows_quarantined"] for s in per_source),
            "sources": per_source}


def _format(file: str | None, facts: Mapping[str, object]) -> str:
    """The source's format as declared, else as its file's name says."""
    declared = facts.get("format")
    if declared in FORMATS:
        return str(declared)
    suffix = Path(file or "").suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "csv"


# One problem as a dict: the shape of ``pipelines.problems.Problem.as_dict()``.
PROBLEMS_SQL = """
SELECT code, severity, source, file, "row", "column", field, value, message, hint
FROM problems
ORDER BY code NOT LIKE 'source.%', code NOT LIKE 'read.%',
         CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, rowid
"""


SUMMARY_CHECK_COLUMNS = ("contract_table", "check_id", "column", "severity", "rule",
                         "rows_checked", "rows_passed", "rows_failed", "rows_waived")


def validation_summary(con: duckdb.DuckDBPyConnection,
                       sources: Mapping[str, Mapping[str, object]] | None = None) -> dict:
    """What may be published of the validation: counts and source-level messages only.

    ``verdict``, ``sources`` and ``checks`` are those of :func:`validation_facts` without the
    failing values (``examples``); ``waived`` counts the rows each waiver accepted;
    ``problems`` keeps the messages about whole sources (``source.*``, ``read.*``) without row
    or value, and ``failing`` counts the rows of every other problem code per source.
    """
    facts = validation_facts(con, sources)
    problems = [{k: p[k] for k in ("code", "severity", "source", "file", "message", "hint")}
                for p in facts["problems"] if p["code"].startswith(("source.", "read."))]
    failing: dict[tuple[str, str, str], int] = {}
    for p in facts["problems"]:
        if not p["code"].startswith(("source.", "read.")):
            key = (p["code"], p["severity"], p["source"])
            failing[key] = failing.get(key, 0) + 1
    waived: dict[tuple[str, str], int] = {}
    for w in {(w["check_id"], w["waiver"], w["source"], w["row_number"])
              for w in facts["waived"]}:
        waived[w[:2]] = waived.get(w[:2], 0) + 1
    return {
        "verdict": facts["verdict"],
        "sources": facts["sources"],
        "checks": [{k: c[k] for k in SUMMARY_CHECK_COLUMNS} for c in facts["checks"]],
        "waived": [{"check_id": c, "waiver": w, "rows": n}
                   for (c, w), n in sorted(waived.items())],
        "problems": problems,
        "failing": [{"code": c, "severity": s, "source": src, "rows": n}
                    for (c, s, src), n in sorted(failing.items(),
                                                 key=lambda i: tuple(map(str, i[0])))],
    }


def write_validation_summary(con: duckdb.DuckDBPyConnection, out_dir: Path,
                             lang: str = "en", *,
                             sources: Mapping[str, Mapping[str, object]] | None = None
                             ) -> list[Path]:
    """Write the publishable ``summary.html`` and ``summary.json`` into ``out_dir``."""
    lang = check_lang(lang)
    summary = validation_summary(con, sources)
    json_path = _replace(out_dir / "summary.json", _json(summary))
    if summary["waived"]:
        columns = {"check_id": _w("check", lang), "waiver": _w("waiver", lang),
                   "rows": _w("rows", lang)}
        rows = [{**w, "waiver": _waiver_label(w["waiver"], lang)} for w in summary["waived"]]
        waived = _gt(rows, columns, "lci-validation-waived").as_raw_html()
    else:
        waived = f"<p>{escape(_w('none_waived', lang))}</p>"
    body = [f"<h1>{escape(_w('summary_title', lang))}</h1>",
            _verdict_html(summary["verdict"], summary["problems"], lang, public=True),
            f"<p>{escape(_w('intro', lang))}</p>",
            f"<p>{escape(_w('summary_intro', lang))}</p>",
            f"<h2>{escape(_w('sources', lang))}</h2>",
            _sources_table(summary["sources"], summary["verdict"], summary["problems"], lang),
            f"<h2>{escape(_w('notes', lang))}</h2>",
            _notes_table(summary["problems"], lang),
            f"<h2>{escape(_w('checks', lang))}</h2>",
            _checks_table(summary["checks"], lang, examples=False),
            f"<h2>{escape(_w('waived', lang))}</h2>", waived]
    html_path = _replace(out_dir / "summary.html", _page(_w("summary_title", lang), body, lang))
    return [html_path, json_path]


def _message(problem: dict, lang: Lang) -> str:
    """A problem's message in ``lang``, with French typography (the messages are ours)."""
    text = problem["message"]
    return typeset(text["fr"], lang) if lang == "fr" else text["en"]


def write_validation_report(con: duckdb.DuckDBPyConnection, out_dir: Path,
                            lang: str = "en", *,
                            sources: Mapping[str, Mapping[str, object]] | None = None
                            ) -> list[Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir``; return their paths.

    The page is for the person who corrects the files: the verdict first, then each source's
    outcome, what the readers noted (with an example), the rows to correct file by file (the
    file's row numbers, column names and values as written), then every check.
    """
    lang = check_lang(lang)
    facts = validation_facts(con, sources)
    json_path = _replace(out_dir / "report.json", _json(facts))
    formats = {s["source"]: s["format"] for s in facts["verdict"]["sources"]}
    recodes = {name: dict(given.get("recode") or {}) for name, given in (sources or {}).items()}
    body = [f"<h1>{escape(_w('title', lang))}</h1>",
            _verdict_html(facts["verdict"], facts["problems"], lang),
            f"<p>{escape(_w('intro', lang))}</p>",
            f"<h2>{escape(_w('sources', lang))}</h2>",
            _sources_table(facts["sources"], facts["verdict"], facts["problems"], lang),
            f"<h2>{escape(_w('notes', lang))}</h2>",
            _notes_table(facts["problems"], lang, examples=True, formats=formats),
            f"<h2>{escape(_w('failing', lang))}</h2>",
            _failing_tables(facts["problems"], formats, recodes, lang),
            f"<h2>{escape(_w('checks', lang))}</h2>", _checks_table(facts["checks"], lang),
            f"<h2>{escape(_w('waived', lang))}</h2>", _waived_table(facts["waived"], lang)]
    html_path = _replace(out_dir / "report.html", _page(_w("title", lang), body, lang))
    return [html_path, json_path]


def _json(facts: dict) -> str:
    return json.dumps(facts, indent=2, ensure_ascii=False, default=str) + "\n"


def _page(title: str, body: list[str], lang: Lang) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _replace(path: Path, content: str) -> Path:
    """Replace ``path`` in one step (a temporary file beside it, then renamed): readers never
    see half a file, and a failed write leaves the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content.encode("utf-8"))
    os.replace(partial, path)
    return path


def _share(share: float, lang: Lang) -> str:
    return format_percent(round(share, 3), lang)


def _status_text(source: dict, lang: Lang, message: str | None = None) -> str:
    """One source's outcome in words, with its counts."""
    status = source["status"]
    if status == "not_read":
        return _w("status.not_read", lang, message=message or "")
    allowed = source.get("max_rejected_share")
    return _w(f"status.{status}", lang, read=_count(source["rows_read"], lang),
              quarantined=_count(source["rows_quarantined"], lang),
              share=_share(source["rejected_share"], lang),
              allowed=_share(allowed, lang) if isinstance(allowed, int | float) else "")


def _verdict_html(verdict: dict, problems: list[dict], lang: Lang,
                  public: bool = False) -> str:
    """The verdict first: one sentence, then each source that is not simply accepted, with
    its counts (or why it could not be read); ``public``: the page lists no row."""
    kind = verdict["verdict"]
    key = f"verdict.{kind}" + (".public" if public and f"verdict.{kind}.public" in WORDS
                               else "")
    said = _w(key, lang, rows=_count(verdict["rows_quarantined"], lang))
    errors = _source_errors(problems, lang)
    items = "".join(
        f"<li><strong>{escape(s['source'])}</strong> ({escape(s['file'] or '')}) — "
        f"{escape(_status_text(s, lang, errors.get(s['source'])))}</li>"
        for s in verdict["sources"] if s["status"] != "accepted")
    return (f'<section class="lci-verdict lci-verdict-{kind}" id="verdict">'
            f"<h2>{escape(_w('verdict', lang))}</h2><p><strong>{escape(said)}</strong></p>"
            + (f"<ul>{items}</ul>" if items else "") + "</section>")


def _source_errors(problems: list[dict], lang: Lang) -> dict[str, str]:
    """Why each source that could not be read was not, in ``lang``."""
    return {p["source"]: _message(p, lang) for p in problems if p["code"].startswith("source.")}


def _gt(frame_rows: list[dict], columns: dict[str, str], table_id: str) -> GT:
    frame = pd.DataFrame(frame_rows, columns=list(columns))
    return GT(frame, id=table_id).cols_label(**columns).sub_missing(missing_text="")


def _sources_table(rows: list[dict], verdict: dict, problems: list[dict], lang: Lang) -> str:
    """Each source with its row accounting and its outcome (why it was refused, if it was)."""
    status = {s["source"]: s for s in verdict["sources"]}
    errors = _source_errors(problems, lang)
    data = [{**r, "outcome": _status_text(status[r["source"]], lang, errors.get(r["source"]))
             if r["source"] in status else "",
             "refused": status.get(r["source"], {}).get("status") in ("refused", "not_read")}
            for r in rows]
    columns = {"source": _w("source", lang), "file": _w("file", lang),
               "rows_read": _w("read", lang), "rows_accepted": _w("accepted", lang),
               "rows_quarantined": _w("quarantined", lang), "rows_flagged": _w("flagged", lang),
               "rows_waived": _w("waived_rows", lang), "outcome": _w("outcome", lang)}
    gt = _gt(data, columns, "lci-validation-sources")
    gt = gt.fmt_integer(columns=["rows_read", "rows_accepted", "rows_quarantined",
                                 "rows_flagged", "rows_waived"], sep_mark=_sep(lang))
    gt = gt.tab_style(style.text(color="#b00020", weight="bold"),
                      loc.body(columns="rows_quarantined",
                               rows=[i for i, r in enumerate(data) if r["rows_quarantined"]]))
    gt = gt.tab_style(style.text(color="#b00020", weight="bold"),
                      loc.body(columns="outcome",
                               rows=[i for i, r in enumerate(data) if r["refused"]]))
    return gt.as_raw_html()


def note_example(problem: dict, lang: Lang, kind: str = "xlsx") -> str:
    """The first value a reader's note is about, where it is in the file: "e.g. line 2,
    column 'valeur': '5 432,5'" (a CSV file counts lines, a sheet rows); empty when the note
    is about the whole file."""
    row, column, value = problem.get("row"), problem.get("column"), problem.get("value")
    if row is None:
        return ""
    suffix = ".csv" if kind == "csv" else ""
    if column is None:
        return say("example_row" + suffix, lang, row=row)
    shown = say("value", lang, value=value) if value is not None else say("empty", lang)
    return say("example" + suffix, lang, row=row, column=column, value=shown)


def _notes_table(problems: list[dict], lang: Lang, examples: bool = False,
                 formats: Mapping[str, str] | None = None) -> str:
    """What the readers detected or corrected, source by source (with the first value
    concerned in the full report; the public summary shows no value)."""
    notes = [p for p in problems if p["code"].startswith("read.")]
    if not notes:
        return f"<p>{escape(_w('no_notes', lang))}</p>"
    columns = {"source": _w("source", lang), "file": _w("file", lang),
               "note": _w("note", lang), **({"example": _w("example", lang)} if examples
                                            else {})}
    data = [{"source": p["source"], "file": p["file"], "note": _message(p, lang),
             "example": note_example(p, lang, (formats or {}).get(p["source"], "csv"))
             if examples else ""} for p in notes]
    return (f"<p>{escape(_w('notes_intro', lang))}</p>"
            + _gt(data, columns, "lci-validation-notes").as_raw_html())


def _severity(severity: str, lang: Lang) -> str:
    key = f"severity.{severity}"
    return _w(key, lang) if key in WORDS else severity


def _checks_table(rows: list[dict], lang: Lang, examples: bool = True) -> str:
    data = [{"contract_table": r["contract_table"], "check_id": r["check_id"],
             "rule": typeset(r["rule"][lang], lang),
             "severity": _severity(r["severity"], lang),
             "rows_checked": r["rows_checked"], "rows_passed": r["rows_passed"],
             "rows_failed": r["rows_failed"], "rows_waived": r["rows_waived"],
             **({"examples": r["examples"] or ""} if examples else {})} for r in rows]
    columns = {"contract_table": _w("table", lang), "check_id": _w("check", lang),
               "rule": _w("rule", lang),
               "severity": _w("severity", lang),
               "rows_checked": _w("checked", lang), "rows_passed": _w("passed", lang),
               "rows_failed": _w("failed", lang), "rows_waived": _w("waived_rows", lang),
               **({"examples": _w("examples", lang)} if examples else {})}
    gt = _gt(data, columns, "lci-validation-checks")
    gt = gt.fmt_integer(columns=["rows_checked", "rows_passed", "rows_failed", "rows_waived"],
                        sep_mark=_sep(lang))
    failing = [i for i, r in enumerate(data) if r["rows_failed"]]
    if failing:
        gt = gt.tab_style(style.fill(color="#fdecea"), loc.body(rows=failing))
    return gt.as_raw_html()


def _failing_tables(problems: list[dict], formats: Mapping[str, str],
                    recodes: Mapping[str, Mapping[str, Mapping[str, str]]], lang: Lang) -> str:
    """Rows failing a check, one table per file: its own row numbers (said in the header for
    its format), its own column names, the value as written and the rule broken; for a
    recoded column, the codes the file may hold as well (``recodes``: per source, per file
    column, code → contract value)."""
    failing = [p for p in problems if p["code"].startswith("check.")]
    if not failing:
        return f"<p>{escape(_w('no_failing', lang))}</p>"
    shown = failing[:SHOWN_FAILURES]
    parts = [f"<p>{escape(_w('failing_intro', lang))}</p>"]
    for file in dict.fromkeys(p["file"] for p in shown):
        mine = [p for p in shown if p["file"] == file]
        kind = formats.get(mine[0]["source"], "csv")
        columns = {"row": _w(f"row.{kind}", lang), "column": _w("file_column", lang),
                   "value": _w("value", lang), "message": _w("rule", lang),
                   "severity": _w("severity", lang), "check": _w("check", lang)}
        data = [{"row": p["row"], "column": p["column"],
                 "value": p["value"] if p["value"] is not None else _w("empty", lang),
                 "message": _message(p, lang) + _file_codes(
                     recodes.get(p["source"], {}).get(p["column"] or ""), lang),
                 "severity": _severity(p["severity"], lang),
                 "check": p["code"].removeprefix("check.")} for p in mine]
        parts.append(f"<h3>{escape(_w(f'where.{kind}', lang, file=file))}</h3>")
        gt = _gt(data, columns, f"lci-validation-failing-{len(parts)}")
        parts.append(gt.cols_align("left", columns=["value"]).as_raw_html())
    more = len(failing) - SHOWN_FAILURES
    if more > 0:
        parts.append(f"<p>{escape(_w('more', lang, n=_count(more, lang)))}</p>")
    return "".join(parts)


def _file_codes(recode: Mapping[str, str] | None, lang: Lang) -> str:
    """The codes a recoded column of the file may hold: " (in the file: 1 → M, 2 → F)"."""
    if not recode:
        return ""
    return " " + _w("file_codes", lang, codes=", ".join(f"{code} → {value}"
                                                      for code, value in recode.items()))


def _waiver_label(label: str | None, lang: Lang) -> str:
    """A waiver as the checks name it ("waiver 1: reason (owner, until date)"), in ``lang``."""
    found = _WAIVER_LABEL.match(label or "")
    if found is None:
        return label or ""
    n, reason, owner, expires = found.groups()
    return _w("waiver_label", lang, n=n, reason=reason, owner=owner, expires=expires)


def _waived_table(rows: list[dict], lang: Lang) -> str:
    if not rows:
        return f"<p>{escape(_w('none_waived', lang))}</p>"
    columns = {"source": _w("source", lang), "row_number": _w("row", lang),
               "column": _w("file_column", lang), "check_id": _w("check", lang),
               "value": _w("value", lang), "waiver": _w("waiver", lang)}
    return _gt([{**{k: r[k] for k in columns}, "waiver": _waiver_label(r["waiver"], lang)}
                for r in rows], columns, "lci-validation-waived").as_raw_html()


def _count(n: int, lang: Lang) -> str:
    return format_count(int(n), lang)


QUALITY = {
    "title": ("Data quality", "Qualité des données"),
    "summary": ("{sources} sources were read: {read} rows, of which {quarantined} were "
                "quarantined (kept aside with their reasons) and {flagged} flagged by warnings. "
                "Details: validation/summary.html.",
                "{sources} sources ont été lues : {read} lignes, dont {quarantined} mises en "
                "quarantaine (avec leurs motifs) et {flagged} signalées par des avertissements. "
                "Détail : validation/summary.html."),
    "waived": ("Failures accepted by a declared waiver (the data were kept):",
               "Échecs acceptés par une dérogation déclarée (les données ont été conservées) :"),
    "waiver_line": ("{check}: {rows} row(s) — {waiver}", "{check} : {rows} ligne(s) — {waiver}"),
}


def data_quality_section(con: duckdb.DuckDBPyConnection, lang: str) -> str | None:
    """A short account of validation for the annual report, waivers named, never silent.

    None when the connection holds no validation record (e.g. a warehouse built elsewhere).
    """
    lang = check_lang(lang)
    known = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN "
                        "('run_sources', 'validation_failures')").fetchall()[0][0]
    if known < 2:
        return None
    pick = 1 if lang == "fr" else 0
    sources, read, quarantined, flagged = con.execute(
        "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0), "
        "coalesce(sum(rows_flagged), 0) FROM run_sources").fetchall()[0]
    sep = _sep(lang)
    def number(n: int) -> str:
        return f"{n:,}".replace(",", sep)

    summary = QUALITY["summary"][pick].format(sources=sources, read=number(read),
                                              quarantined=number(quarantined),
                                              flagged=number(flagged))
    waived = con.execute("SELECT check_id, count(DISTINCT (source, row_number)), waiver "
                         "FROM validation_failures WHERE outcome = 'waived' "
                         "GROUP BY check_id, waiver ORDER BY check_id, waiver").fetchall()
    parts = ['<section id="data-quality" class="lci-domain">',
             f"  <h2>{QUALITY['title'][pick]}</h2>", f"  <p>{escape(summary)}</p>"]
    if waived:
        line = QUALITY["waiver_line"][pick]
        items = "".join(f"<li>{escape(line.format(check=c, rows=n, waiver=w))}</li>"
                        for c, n, w in waived)
        parts += [f"  <p>{QUALITY['waived'][pick]}</p>", f"  <ul>{items}</ul>"]
    parts.append("</section>")
    return "\n".join(parts)


def _sep(lang: Lang) -> str:
    return "\u202f" if lang == "fr" else ","


CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1d2327; line-height: 1.45; padding: 0 1rem; }
h1 { border-bottom: 3px solid #1b5e20; padding-bottom: .3rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #1b5e20; }
h3 { margin-top: 1.5rem; font-size: 1rem; }
.lci-verdict { border-left: 6px solid #1b5e20; background: #eef6ee; padding: .2rem 1rem .6rem; }
.lci-verdict h2 { margin-top: .6rem; border: none; }
.lci-verdict-accepted_with_quarantine { border-color: #8a5a00; background: #fff6e0; }
.lci-verdict-refused { border-color: #b00020; background: #fdecea; }
"""
