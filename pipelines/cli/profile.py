"""``lci profile CODE [CODE…]``: the territory profiles of a previous run, one page each.

Reads the run's warehouse read-only (as ``lci explain`` and ``lci trace`` do) and writes the
profiles beside the output folder, never inside it: the output folder holds only what the run
wrote (the next run refuses a folder with other files) and its public bundle is signed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from pipelines.cli.explain import WAREHOUSE, _catalogue, _kept_project_file, _warehouse
from reports import Lang as Language

if TYPE_CHECKING:
    import duckdb

    from pipelines.config import ProjectConfig

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

_WORDS: dict[str, tuple[str, str]] = {
    "error": ("Error", "Erreur"),
    "no_run": ("no run in {out} (no {warehouse}): run 'lci run --out {out}' first, or give "
               "the output folder with --out",
               "aucune exécution dans {out} (pas de {warehouse}) : lancez d'abord "
               "« lci run --out {out} », ou indiquez le dossier de sortie avec --out"),
    "no_year": ("no indicator value for {year} in the warehouse; its years: {years}",
                "aucune valeur d'indicateur pour {year} dans l'entrepôt ; ses années : {years}"),
    "empty": ("the warehouse holds no indicator value: run 'lci run' again",
              "l'entrepôt ne contient aucune valeur d'indicateur : relancez « lci run »"),
    "project": ("configuration: {error}", "configuration : {error}"),
    "written": ("Profile: {path}", "Portrait : {path}"),
    "written_pdf": ("PDF: {path}", "PDF : {path}"),
    "cannot_write": ("cannot write in {folder}: {why}", "impossible d'écrire dans {folder} : "
                     "{why}"),
}


def _say(key: str, lang: str, **values: object) -> str:
    return _WORDS[key][lang == "fr"].format(**values)


def _fail(message: str, lang: str, code: int = 2) -> typer.Exit:
    colon = " :" if lang == "fr" else ":"
    errors.print(f"[red]{_say('error', lang)}{colon}[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def profile_command(
    codes: Annotated[list[str], typer.Argument(
        metavar="CODE",
        help="Territory or group codes, e.g. 56260; LEVEL:CODE when levels share a code.")],
    lang: Annotated[Language, typer.Option(help="Language of the profiles: en or fr.")] = "en",
    year: Annotated[int | None, typer.Option(
        help="Year of the values (default: the latest in the warehouse).")] = None,
    project: Annotated[Path | None, typer.Option(
        "--project", "-c", help="Project file (default: the one the run kept); gives "
                                "report.references and report.contact.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder of a run (holds the warehouse).")] = Path("output"),
    to: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder to write DIR/profiles/<code>.html in (default: the folder "
                            "holding the output folder).")] = None,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="Also print each profile to an A4 PDF beside it (needs WeasyPrint).")
    ] = False,
) -> None:
    """Write the profile of each territory: a printable page for its elected officials.

    Key figures, then every indicator with its rank among its peers, its distance to the
    target, its reference territories and its trend, from the warehouse of a previous run.
    """
    from reports._pdf import PdfUnavailable
    from reports._profile import ProfileError, write_profile_pdfs, write_profiles

    config = _project(project, out, lang)
    catalogue = _catalogue(out, project)
    con = _warehouse(out)
    if con is None:
        raise _fail(_say("no_run", lang, out=out, warehouse=WAREHOUSE), lang)
    try:
        chosen = _year(con, year, lang)
        folder = to if to is not None else Path(out).resolve().parent
        references = None if config is None else config.report.references
        contact = None if config is None else config.report.contact
        if pdf:
            written = [path for pair in write_profile_pdfs(
                con, catalogue, codes, chosen, lang, folder, references, contact=contact,
                project=config.name if config is not None else "LCI",
                version=_version()) for path in pair]
        else:
            written = write_profiles(con, catalogue, codes, chosen, lang, folder, references,
                                     contact=contact)
    except ProfileError as error:
        raise _fail(error.message(lang), lang) from None
    except PdfUnavailable as error:
        raise _fail(error.message(lang), lang, code=1) from None
    except OSError as error:
        raise _fail(_say("cannot_write", lang, folder=error.filename or folder,
                         why=error.strerror or error), lang) from None
    finally:
        con.close()
    for path in written:
        key = "written_pdf" if path.suffix == ".pdf" else "written"
        console.print(_say(key, lang, path=path), markup=False, soft_wrap=True)


def _version() -> str:
    """LCI's version, for the PDF's colophon."""
    from importlib import metadata

    try:
        return metadata.version("lci")
    except metadata.PackageNotFoundError:
        return "unknown"


def _project(path: Path | None, out: Path, lang: str) -> ProjectConfig | None:
    """The project's settings: from ``--project``, else from the project file the run kept
    (``None`` when there is none: default references, no contact)."""
    from pipelines.config import ConfigError, load_config

    source = path if path is not None else _kept_project_file(out)
    if source is None:
        return None
    try:
        return load_config(source)
    except ConfigError as error:
        if path is None:
            return None  # the kept copy is for the record; the defaults do without it
        raise _fail(_say("project", lang, error=error), lang) from None


def _year(con: duckdb.DuckDBPyConnection, year: int | None, lang: str) -> int:
    years = [int(y) for (y,) in con.execute(
        "SELECT DISTINCT year FROM indicator_values WHERE value IS NOT NULL ORDER BY year"
    ).fetchall()]
    if not years:
        raise _fail(_say("empty", lang), lang)
    if year is None:
        return years[-1]
    if year not in years:
        raise _fail(_say("no_year", lang, year=year, years=", ".join(map(str, years))), lang)
    return year
