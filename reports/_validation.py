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
from html import escape
from pathlib import Path

import duckdb
import pandas as pd
from great_tables import GT, loc, style

from reports._i18n import Lang, check_lang

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
    "sources": ("Sources", "Sources"),
    "checks": ("Checks (failing ones first)", "Contrôles (en échec d’abord)"),
    "waived": ("Accepted failures (waivers)", "Échecs acceptés (dérogations)"),
    "none_waived": ("No failure was waived.", "Aucun échec n'a fait l'objet d'une dérogation."),
    "source": ("Source", "Source"), "file": ("File", "Fichier"),
    "read": ("Rows read", "Lignes lues"), "accepted": ("Accepted", "Acceptées"),
    "quarantined": ("Quarantined", "En quarantaine"), "flagged": ("Flagged", "Signalées"),
    "waived_rows": ("Waived", "Dérogées"), "notes": ("Reader notes", "Notes de lecture"),
    "error": ("Not read", "Non lue"),
    "table": ("Table", "Table"), "check": ("Check", "Contrôle"), "rule": ("Rule", "Règle"),
    "severity": ("Severity", "Gravité"), "checked": ("Rows checked", "Lignes contrôlées"),
    "passed": ("Passed", "Conformes"), "failed": ("Failed", "En échec"),
    "examples": ("Failing values (examples)", "Valeurs en échec (exemples)"),
    "row": ("Row", "Ligne"), "column": ("Column", "Colonne"), "value": ("Value", "Valeur"),
    "waiver": ("Waiver", "Dérogation"),
    "failing": ("Failing rows", "Lignes en échec"),
    "no_failing": ("No row failed a check.", "Aucune ligne n'a échoué à un contrôle."),
    "more": ("… and {n} more: every one is in report.json and quarantine.csv.",
             "… et {n} de plus : toutes figurent dans report.json et quarantine.csv."),
    "message": ("Message", "Message"), "code": ("Code", "Code"),
    "summary_title": ("Validation summary", "Synthèse de la validation"),
    "summary_intro": ("Counts only: the rows themselves, their values and the full validation "
                      "report are in the restricted bundle given to auditors.",
                      "Des comptes seulement : les lignes, leurs valeurs et le rapport de "
                      "validation complet sont dans le paquet restreint remis aux auditeurs."),
    "rows": ("Rows", "Lignes"),
}
SHOWN_FAILURES = 200  # rows of the failing-rows table in the HTML page


def _w(key: str, lang: Lang) -> str:
    en, fr = WORDS[key]
    return fr if lang == "fr" else en


def validation_facts(con: duckdb.DuckDBPyConnection) -> dict:
    """The validation outcome as plain data, in a stable order (the JSON report)."""
    def rows(sql: str) -> list[dict]:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r, strict=True)) for r in result.fetchall()]

    return {
        "sources": rows("SELECT source, file, contract_table, sha256, rows_read, rows_accepted, "
                        "rows_quarantined, rows_flagged, rows_waived FROM run_sources "
                        "ORDER BY source"),
        "checks": rows("SELECT contract_table, check_id, \"column\", severity, rule, "
                       "rows_checked, rows_checked - rows_failed - rows_waived AS rows_passed, "
                       "rows_failed, rows_waived, examples FROM validation_results "
                       "ORDER BY rows_failed + rows_waived = 0, contract_table, check_id"),
        "waived": rows("SELECT source, file, row_number, file_column AS \"column\", check_id, "
                       "value, waiver FROM validation_failures WHERE outcome = 'waived' "
                       "ORDER BY source, row_number, check_id"),
        "problems": rows(PROBLEMS_SQL),
    }


# One problem as a dict: the shape of ``pipelines.problems.Problem.as_dict()``.
PROBLEMS_SQL = """
SELECT code, severity, source, file, "row", "column", field, value, message, hint
FROM problems
ORDER BY code NOT LIKE 'source.%', code NOT LIKE 'read.%',
         CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, rowid
"""


SUMMARY_CHECK_COLUMNS = ("contract_table", "check_id", "column", "severity", "rule",
                         "rows_checked", "rows_passed", "rows_failed", "rows_waived")


def validation_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """What may be published of the validation: counts and source-level messages only.

    ``sources`` and ``checks`` are those of :func:`validation_facts` without the failing
    values (``examples``); ``waived`` counts the rows each waiver accepted; ``problems`` keeps
    the messages about whole sources (``source.*``, ``read.*``) without row or value, and
    ``failing`` counts the rows of every other problem code per source.
    """
    facts = validation_facts(con)
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
                             lang: str = "en") -> list[Path]:
    """Write the publishable ``summary.html`` and ``summary.json`` into ``out_dir``."""
    lang = check_lang(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = validation_summary(con)
    json_path = out_dir / "summary.json"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n",
                         encoding="utf-8")
    if summary["waived"]:
        columns = {"check_id": _w("check", lang), "waiver": _w("waiver", lang),
                   "rows": _w("rows", lang)}
        waived = _gt(summary["waived"], columns, "lci-validation-waived").as_raw_html()
    else:
        waived = f"<p>{_w('none_waived', lang)}</p>"
    body = [f"<h1>{_w('summary_title', lang)}</h1>", f"<p>{_w('intro', lang)}</p>",
            f"<p>{_w('summary_intro', lang)}</p>",
            f"<h2>{_w('sources', lang)}</h2>",
            _sources_table(summary["sources"], summary["problems"], lang),
            f"<h2>{_w('checks', lang)}</h2>",
            _checks_table(summary["checks"], lang, examples=False),
            f"<h2>{_w('waived', lang)}</h2>", waived]
    page = (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_w('summary_title', lang)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
    html_path = out_dir / "summary.html"
    html_path.write_text(page, encoding="utf-8")
    return [html_path, json_path]


def _message(problem: dict, lang: Lang) -> str:
    text = problem["message"]
    return text["fr"] if lang == "fr" else text["en"]


def write_validation_report(con: duckdb.DuckDBPyConnection, out_dir: Path,
                            lang: str = "en") -> list[Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir``; return their paths."""
    lang = check_lang(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = validation_facts(con)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(facts, indent=2, ensure_ascii=False, default=str) + "\n",
                         encoding="utf-8")
    body = [f"<h1>{_w('title', lang)}</h1>", f"<p>{_w('intro', lang)}</p>",
            f"<h2>{_w('sources', lang)}</h2>",
            _sources_table(facts["sources"], facts["problems"], lang),
            f"<h2>{_w('checks', lang)}</h2>", _checks_table(facts["checks"], lang),
            f"<h2>{_w('failing', lang)}</h2>", _failing_table(facts["problems"], lang),
            f"<h2>{_w('waived', lang)}</h2>", _waived_table(facts["waived"], lang)]
    page = (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_w('title', lang)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return [html_path, json_path]


def _gt(frame_rows: list[dict], columns: dict[str, str], table_id: str) -> GT:
    frame = pd.DataFrame(frame_rows, columns=list(columns))
    return GT(frame, id=table_id).cols_label(**columns).sub_missing(missing_text="")


def _sources_table(rows: list[dict], problems: list[dict], lang: Lang) -> str:
    """Each source with its row accounting, and what stopped it or what its reader noted."""
    not_read = _w("error", lang) + (" : " if lang == "fr" else ": ")
    errors = {p["source"]: not_read + _message(p, lang) for p in problems
              if p["code"].startswith("source.")}
    notes: dict[str, list[str]] = {}
    for p in problems:
        if p["code"].startswith("read."):
            notes.setdefault(p["source"], []).append(_message(p, lang))
    data = [{**r, "read_notes": errors.get(r["source"]) or "; ".join(notes.get(r["source"], [])),
             "error": r["source"] in errors} for r in rows]
    columns = {"source": _w("source", lang), "file": _w("file", lang),
               "rows_read": _w("read", lang), "rows_accepted": _w("accepted", lang),
               "rows_quarantined": _w("quarantined", lang), "rows_flagged": _w("flagged", lang),
               "rows_waived": _w("waived_rows", lang), "read_notes": _w("notes", lang)}
    gt = _gt(data, columns, "lci-validation-sources")
    gt = gt.fmt_integer(columns=["rows_read", "rows_accepted", "rows_quarantined",
                                 "rows_flagged", "rows_waived"], sep_mark=_sep(lang))
    gt = gt.tab_style(style.text(color="#b00020", weight="bold"),
                      loc.body(columns="rows_quarantined",
                               rows=[i for i, r in enumerate(data) if r["rows_quarantined"]]))
    gt = gt.tab_style(style.text(color="#b00020", weight="bold"),
                      loc.body(columns="read_notes",
                               rows=[i for i, r in enumerate(data) if r["error"]]))
    return gt.as_raw_html()


def _checks_table(rows: list[dict], lang: Lang, examples: bool = True) -> str:
    data = [{"contract_table": r["contract_table"], "check_id": r["check_id"],
             "rule": r["rule"][lang], "severity": r["severity"],
             "rows_checked": r["rows_checked"], "rows_passed": r["rows_passed"],
             "rows_failed": r["rows_failed"], "rows_waived": r["rows_waived"],
             **({"examples": r["examples"] or ""} if examples else {})} for r in rows]
    columns = {"contract_table": _w("table", lang), "check_id": _w("check", lang),
               "rule": _w("rule", lang), "severity": _w("severity", lang),
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


def _failing_table(problems: list[dict], lang: Lang) -> str:
    """Rows failing a check, each with where it is, the value as written and the message."""
    failing = [p for p in problems if p["code"].startswith("check.")]
    if not failing:
        return f"<p>{_w('no_failing', lang)}</p>"
    columns = {"file": _w("file", lang), "row": _w("row", lang), "column": _w("column", lang),
               "value": _w("value", lang), "message": _w("message", lang),
               "code": _w("code", lang)}
    data = [{**p, "message": _message(p, lang)} for p in failing[:SHOWN_FAILURES]]
    html = _gt(data, columns, "lci-validation-failing").as_raw_html()
    more = len(failing) - SHOWN_FAILURES
    return html + (f"<p>{escape(_w('more', lang).format(n=more))}</p>" if more > 0 else "")


def _waived_table(rows: list[dict], lang: Lang) -> str:
    if not rows:
        return f"<p>{_w('none_waived', lang)}</p>"
    columns = {"source": _w("source", lang), "row_number": _w("row", lang),
               "column": _w("column", lang), "check_id": _w("check", lang),
               "value": _w("value", lang), "waiver": _w("waiver", lang)}
    return _gt([{k: r[k] for k in columns} for r in rows], columns,
               "lci-validation-waived").as_raw_html()


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
"""
