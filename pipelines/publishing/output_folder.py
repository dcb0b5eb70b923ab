"""The output folder: LCI replaces only what it wrote, one run at a time, never half of it.

- **Recognised by a marker.** Every output LCI writes holds ``.lci-output.json``: the project
  it belongs to, the run, and the list of every file the run wrote. A folder is replaced only
  when its marker says it is a complete output of the same project and it holds no file the
  marker does not list; anything else (documents, a folder that merely holds a file called
  ``warehouse.duckdb``, the output of another project) is refused. The output may never be the
  project folder, a folder holding it, a folder of its source files, the home folder or ``/``.
- **One run at a time.** A lock file beside the output (``.<name>.lock``, held with ``flock``)
  makes a second run into the same folder stop at once with a message naming the first.
- **Crash-safe swap.** The run is built in ``.<name>.building`` (marked "building" from its
  first instant). The finished folder is exchanged with the old one in one ``renameat2``
  (``RENAME_EXCHANGE``) system call where the kernel offers it, so that at every instant one
  complete output is in place; elsewhere two renames are made under a journal
  (``.<name>.swap.json``). Whatever instant a run is killed at, the next run puts the complete
  output back (or finishes the swap) before it starts, and says what it did.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipelines.problems import Text

MARKER = ".lci-output.json"
LEGACY_MANIFEST = "manifest.json"  # outputs written before markers: recognised by their manifest
ALWAYS_ALLOWED = {MARKER, "warehouse.duckdb.wal"}  # DuckDB may leave its log beside the file
HOLDER, STARTED = "process", "started"  # the lock file's words: "process 123, started …"


class OutputFolderError(Exception):
    """The output folder cannot be used (or replaced) as asked; the message says why, in
    English (the exception's text) and in French (``french``)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.en)
        self.french = message.fr


def _more(names: list[str], lang: str) -> str:
    """The first three names, and how many more."""
    shown = ", ".join(names[:3])
    if len(names) > 3:
        shown += f" and {len(names) - 3} more" if lang == "en" else \
            f" et {len(names) - 3} autre{'s' if len(names) > 4 else ''}"
    return shown


def _sibling(out_dir: Path, suffix: str, hidden: bool = True) -> Path:
    return out_dir.with_name(f"{'.' if hidden else ''}{out_dir.name}{suffix}")


def building_folder(out_dir: Path) -> Path:
    return _sibling(out_dir, ".building")


def previous_folder(out_dir: Path) -> Path:
    return _sibling(out_dir, ".previous")


def failed_folder(out_dir: Path) -> Path:
    return _sibling(out_dir, ".failed", hidden=False)


def journal_file(out_dir: Path) -> Path:
    return _sibling(out_dir, ".swap.json")


def lock_file(out_dir: Path) -> Path:
    return _sibling(out_dir, ".lock")


def after_step(step: str) -> None:
    """Called with the name of each step of the swap just taken (fault injection in tests)."""


# ---------------------------------------------------------------------------- the marker


def read_marker(folder: Path) -> dict | None:
    """The folder's marker, or None when it has none LCI could have written."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("lci_output") != 1:
        return None
    return marker


def write_marker(folder: Path, project: str, run_id: str, *, complete: bool = False,
                 status: str | None = None) -> None:
    """Mark a folder as LCI's; a complete (or failed) output lists every file it holds."""
    status = status or ("complete" if complete else "building")
    marker: dict[str, object] = {"lci_output": 1, "project": project, "run_id": run_id,
                                 "status": status}
    if status != "building":
        marker["files"] = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                                 if not p.is_dir() and p.name != MARKER)
    _write_atomically(folder / MARKER, json.dumps(marker, indent=2, ensure_ascii=False) + "\n")


def is_complete(folder: Path) -> bool:
    """A complete output: its marker says so and every file it lists is there."""
    marker = read_marker(folder)
    return (marker is not None and marker.get("status") == "complete"
            and all((folder / f).is_file() for f in marker.get("files", [])))


def _written_by_lci(folder: Path) -> bool:
    return read_marker(folder) is not None


def why_not_removable(folder: Path, project: str) -> Text | None:
    """Why LCI may not remove a leftover folder (None when it may): it must carry LCI's
    marker for this project and, once its files are listed, hold no other file."""
    marker = read_marker(folder)
    if marker is None:
        return Text("it was not written by LCI", "il n'a pas été écrit par LCI")
    if marker.get("project") != project:
        return Text(f"it belongs to another project ({marker.get('project')})",
                    f"il appartient à un autre projet ({marker.get('project')})")
    if marker.get("status") == "building":
        return None  # a run of this project, killed while it wrote: nothing else is in it
    listed = set(marker.get("files", [])) | ALWAYS_ALLOWED
    foreign = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if (p.is_symlink() or not p.is_dir())
                     and p.relative_to(folder).as_posix() not in listed)
    if foreign:
        return Text(f"it holds files that LCI did not write ({_more(foreign, 'en')})",
                    f"il contient des fichiers qu'LCI n'a pas écrits ({_more(foreign, 'fr')})")
    return None


# ---------------------------------------------------------------------- the folder checks


def check_location(out_dir: Path, project_root: Path | None,
                   data_folders: tuple[Path, ...] = ()) -> None:
    """Refuse an output folder where LCI may never write (see the module's text)."""
    if out_dir == Path(out_dir.anchor) or out_dir == Path.home().resolve():
        raise OutputFolderError(Text(
            f"{out_dir} cannot be an output folder: choose a folder of its own (--out)",
            f"{out_dir} ne peut pas être un dossier de sortie : choisissez un dossier à part "
            f"(--out)"))
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(Text(
            f"{out_dir} is a file, not a folder: choose an output folder (--out)",
            f"{out_dir} est un fichier, pas un dossier : choisissez un dossier de sortie "
            f"(--out)"))
    if project_root is not None:
        root = project_root.resolve()
        if root == out_dir or root.is_relative_to(out_dir):
            raise OutputFolderError(Text(
                f"{out_dir} holds the project itself ({root}): choose an output folder "
                f"outside it (--out)",
                f"{out_dir} contient le projet lui-même ({root}) : choisissez un dossier de "
                f"sortie en dehors (--out)"))
    for folder in data_folders:
        if out_dir.is_relative_to(folder.resolve()):
            raise OutputFolderError(Text(
                f"{out_dir} is inside the folder of the project's data ({folder}): choose an "
                f"output folder outside it (--out)",
                f"{out_dir} est dans le dossier des données du projet ({folder}) : "
                f"choisissez un dossier de sortie en dehors (--out)"))


def check_contents(out_dir: Path, project: str) -> None:
    """Refuse to replace a folder holding anything but a complete output of this project."""
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    listed = _listed_files(out_dir, project)
    foreign = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
                     if not p.is_dir() and p.relative_to(out_dir).as_posix() not in listed)
    if foreign:
        raise OutputFolderError(Text(
            f"{out_dir} holds files that no LCI run wrote ({_more(foreign, 'en')}): move "
            f"them, or choose another output folder (--out)",
            f"{out_dir} contient des fichiers qu'aucune exécution d'LCI n'a écrits "
            f"({_more(foreign, 'fr')}) : déplacez-les, ou choisissez un autre dossier de "
            f"sortie (--out)"))


def _listed_files(out_dir: Path, project: str) -> set[str]:
    """The files LCI wrote in a previous output, by its marker (or an older run's manifest)."""
    marker = read_marker(out_dir)
    if marker is None:
        legacy = _legacy_listing(out_dir)
        if legacy is None:
            raise OutputFolderError(Text(
                f"{out_dir} is not empty and holds no previous LCI run: choose a new or "
                f"empty output folder (--out)",
                f"{out_dir} n'est pas vide et ne contient pas de sortie d'LCI : choisissez "
                f"un dossier de sortie nouveau ou vide (--out)"))
        return legacy
    if marker.get("project") != project:
        raise OutputFolderError(Text(
            f"{out_dir} holds the output of another project ({marker.get('project')}): "
            f"choose another output folder (--out)",
            f"{out_dir} contient la sortie d'un autre projet ({marker.get('project')}) : "
            f"choisissez un autre dossier de sortie (--out)"))
    if marker.get("status") != "complete":
        raise OutputFolderError(Text(
            f"{out_dir} holds an unfinished LCI output: run again to let LCI restore it, or "
            f"choose another output folder (--out)",
            f"{out_dir} contient une sortie d'LCI inachevée : relancez pour qu'LCI la "
            f"rétablisse, ou choisissez un autre dossier de sortie (--out)"))
    return set(marker.get("files", [])) | ALWAYS_ALLOWED


def _legacy_listing(out_dir: Path) -> set[str] | None:
    """Outputs of LCI before markers: every file listed by their manifest."""
    try:
        manifest = json.loads((out_dir / LEGACY_MANIFEST).read_text(encoding="utf-8"))
        if not manifest.get("lci_manifest"):
            return None
        return {e["file"] for e in manifest["outputs"]} | {
            LEGACY_MANIFEST, "run.json", "warehouse.duckdb"} | ALWAYS_ALLOWED
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# ------------------------------------------------------------------------------ the lock


def _french_holder(holder: str) -> str:
    """The lock file's "process 123, started …" in French (any other text as it is)."""
    prefix = f"{HOLDER} "
    if not holder.startswith(prefix) or f", {STARTED} " not in holder:
        return holder
    pid, started = holder[len(prefix):].split(f", {STARTED} ", 1)
    return f"processus {pid}, démarré le {started}"


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the output folder for this run; a second run stops with a message naming ours.

    The lock file is removed when the run ends; a run that opened it just before is told by
    the file's identity that the lock it got is stale, and tries the new file.
    """
    path = lock_file(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(10):
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise OutputFolderError(Text(
                f"another LCI run is writing {out_dir} ({holder or 'another process'}): "
                f"wait for it to finish, or choose another output folder (--out)",
                f"une autre exécution d'LCI écrit dans {out_dir} "
                f"({_french_holder(holder) or 'un autre processus'}) : attendez qu'elle se "
                f"termine, ou choisissez un autre dossier de sortie (--out)")) from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the lock file was removed by the run that just ended: try again
    else:
        raise OutputFolderError(Text(
            f"could not hold {path}: runs into {out_dir} keep starting",
            f"impossible de garder {path} : des exécutions dans {out_dir} ne cessent de "
            f"démarrer"))
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{HOLDER} {os.getpid()}, {STARTED} "
                     f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)  # while still held: no run can hold it in between
        handle.close()


# ------------------------------------------------------------------- recovery and swap


def recover(out_dir: Path, project: str) -> list[Text]:
    """Put back a complete output after an interrupted run (under the lock); say what was done.

    Only folders carrying this project's marker, and no file LCI did not write, are moved or
    removed.
    """
    notes: list[Text] = []
    building, previous = building_folder(out_dir), previous_folder(out_dir)
    journal = journal_file(out_dir)
    if not out_dir.exists():
        for candidate, said in (
                (building, Text("the finished output of the interrupted run",
                                "la sortie achevée de l'exécution interrompue")),
                (previous, Text("the output of the previous run",
                                "la sortie de l'exécution précédente"))):
            if candidate.is_dir() and is_complete(candidate) and \
                    why_not_removable(candidate, project) is None:
                os.replace(candidate, out_dir)
                _sync(out_dir.parent)
                notes.append(Text(
                    f"a run was interrupted while it replaced {out_dir}: {said.en} was put "
                    f"back in place",
                    f"une exécution a été interrompue pendant qu'elle remplaçait {out_dir} : "
                    f"{said.fr} a été remise en place"))
                break
    for leftover, said in (
            (previous, Text("the output it replaced", "la sortie qu'elle remplaçait")),
            (building, Text("the output it was building", "la sortie qu'elle construisait"))):
        if leftover.is_dir():
            if not any(leftover.iterdir()):  # made, then killed before its marker
                leftover.rmdir()
                continue
            refused = why_not_removable(leftover, project)
            if refused:
                raise OutputFolderError(Text(
                    f"{leftover} is in the way and LCI may not remove it: {refused.en}; move "
                    f"it away before running into {out_dir}",
                    f"{leftover} gêne et LCI ne peut pas le supprimer : {refused.fr} ; "
                    f"déplacez-le avant de lancer une exécution dans {out_dir}"))
            remove_output(leftover)
            notes.append(Text(
                f"a run into {out_dir} was interrupted: {said.en} ({leftover.name}) was "
                f"removed",
                f"une exécution dans {out_dir} a été interrompue : {said.fr} "
                f"({leftover.name}) a été supprimée"))
    journal.unlink(missing_ok=True)
    return notes


def start_building(out_dir: Path, project: str, run_id: str) -> Path:
    """A fresh, marked folder beside the output, where the run writes everything."""
    building = building_folder(out_dir)
    building.mkdir(parents=True)
    write_marker(building, project, run_id, complete=False)
    return building


def keep_failed(building: Path, out_dir: Path, project: str, run_id: str) -> Path:
    """A failed run's folder is kept as ``<out>.failed`` (replacing an older one LCI wrote),
    its files listed in its marker so that a file added there later is never removed."""
    failed = failed_folder(out_dir)
    if failed.exists():
        refused = why_not_removable(failed, project)
        if refused:
            remove_output(building)  # ours, made by this run; the user's folder is kept
            raise OutputFolderError(Text(
                f"{failed} was kept as it is ({refused.en}): the failed run's own files were "
                f"not kept",
                f"{failed} a été laissé tel quel ({refused.fr}) : les fichiers de l'exécution "
                f"en échec n'ont pas été gardés"))
        remove_output(failed)
    write_marker(building, project, run_id, status="failed")
    os.replace(building, failed)
    return failed


def swap_into_place(building: Path, out_dir: Path, project: str, run_id: str) -> None:
    """Make the finished folder the output; at every instant a complete output exists."""
    write_marker(building, project, run_id, complete=True)
    after_step("marked complete")
    _sync(building)
    if out_dir.exists() and _exchange(building, out_dir):
        after_step("exchanged")
        remove_output(building)  # now the old output
        after_step("old output removed")
    else:
        journal = journal_file(out_dir)
        _write_atomically(journal, json.dumps({"run_id": run_id, "building": building.name,
                                               "previous": previous_folder(out_dir).name}))
        after_step("journal written")
        if out_dir.exists():
            os.replace(out_dir, previous_folder(out_dir))
            after_step("old output moved aside")
        os.replace(building, out_dir)
        _sync(out_dir.parent)
        after_step("new output in place")
        if previous_folder(out_dir).exists():
            remove_output(previous_folder(out_dir))
        after_step("old output removed")
        journal.unlink(missing_ok=True)
    failed = failed_folder(out_dir)
    if failed.is_dir() and why_not_removable(failed, project) is None:
        remove_output(failed)  # an older failed run's, superseded (otherwise it stays)


def remove_output(folder: Path) -> None:
    """Remove a folder LCI wrote, its marker last: interrupted, it is still recognised."""
    for entry in folder.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (folder / MARKER).unlink(missing_ok=True)
    folder.rmdir()


# -------------------------------------------------------------------------- file system


RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one system call (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP):
            return False  # e.g. a file system without exchange: the journal is used
        raise OSError(code, os.strerror(code), str(b))
    _sync(b.parent)
    return True


def _write_atomically(path: Path, text: str) -> None:
    """Write beside, flush to disk, then rename: the file is old or new, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _sync(folder: Path) -> None:
    """Flush a folder's entries (renames) to disk."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
