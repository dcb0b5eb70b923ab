"""Mistakes in the project file that would silently change what is loaded are errors: a
mapping to a contract column that does not exist, a waiver that accepts nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.reading.encodings import transcode_to_utf8
from pipelines.warehouse import scratch_folder
from tests.bad_inputs_loader import Run, ingest_source

HEADER = "code_commune;annee;indicateur;valeur;source"
LINES = ["01053;2024;library_active_borrowers;12,5;R", "2A004;2024;schools_total;douze;R"]
COLUMNS = {"territory_code": "code_commune", "year": "annee", "measure_id": "indicateur",
           "value": "valeur", "source": "source"}
ADMIN = {"name": "admin", "path": "admin.csv", "format": "csv", "table": "admin_measures",
         "options": {"delimiter": ";"}, "columns": COLUMNS}


def run_admin(tmp_path: Path, source: dict | None = None, waivers: list | None = None) -> Run:
    (tmp_path / "admin.csv").write_text("\n".join([HEADER, *LINES, ""]), encoding="utf-8")
    return ingest_source(tmp_path, {**ADMIN, **(source or {})},
                         references=("territories", "admin_codebook"),
                         project={"waivers": waivers} if waivers else None)


def waiver(check: str, rows: list[int] | None = None) -> dict:
    return {"source": "admin", "check": check, "rows": rows or [], "reason": "known gap",
            "owner": "M. Dupont", "expires": "2099-12-31"}


def test_a_typo_in_a_mapping_key_is_one_error_naming_source_file_and_column(tmp_path):
    columns = {**{k: v for k, v in COLUMNS.items() if k != "value"}, "valeu": "valeur"}
    run = run_admin(tmp_path, {"columns": columns})
    [error] = run.result.errors
    assert error.source == "admin" and "admin.csv" in str(error)
    assert error.problem.code == "source.unknown_contract_column"
    assert error.problem.column == "valeu"
    assert "columns names column(s) ['valeu']" in error.message
    assert "did you mean 'value'?" in error.message
    assert error.problem.message.fr != error.message
    recorded = run.con.execute("SELECT code FROM problems WHERE source = 'admin'").fetchall()
    assert recorded == [("source.unknown_contract_column",)]  # once


def test_recodes_and_missing_codes_of_unknown_columns_are_errors(tmp_path):
    run = run_admin(tmp_path, {"missing_codes": {"valuee": ["-"]}})
    assert "missing_codes names column(s) ['valuee']" in run.result.errors[0].message


def test_a_waiver_naming_no_check_is_an_error_listing_the_checks(tmp_path):
    run = run_admin(tmp_path, waivers=[waiver("admin_measures.value.typ")])
    [error] = run.result.errors
    assert error.source == "admin"
    assert error.problem.code == "source.waiver_unknown_check"
    assert "'admin_measures.value.typ'" in error.message
    assert "admin_measures.value.type" in error.message  # the checks that exist
    assert run.con.execute("SELECT count(*) FROM admin_measures").fetchall()[0][0] == 0


def test_a_waiver_matching_no_row_is_an_error(tmp_path):
    run = run_admin(tmp_path, waivers=[waiver("admin_measures.value.type", rows=[2])])
    [error] = run.result.errors
    assert error.problem.code == "source.waiver_unmatched"
    assert "rows [2]" in error.message and "matches no failing row" in error.message
    assert not [o for o in run.result.outcomes if o.source == "admin"]


def test_a_waiver_that_matches_keeps_its_row(tmp_path):
    run = run_admin(tmp_path, waivers=[waiver("admin_measures.value.type", rows=[3])])
    assert not run.result.errors
    [outcome] = [o for o in run.result.outcomes if o.source == "admin"]
    assert (outcome.rows_accepted, outcome.rows_waived) == (2, 1)


def test_working_copies_go_to_the_scratch_folder_and_are_removed(tmp_path):
    source = tmp_path / "latin.csv"
    source.write_bytes("a;b\r\né;1\r\n".encode("cp1252"))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    folder = scratch_folder(con)
    assert folder is not None
    copy = transcode_to_utf8(source, "cp1252", folder)
    assert copy.parent == folder and copy.read_bytes() == "a;b\né;1\n".encode()
    copy.unlink()
    con.close()


def test_ingest_leaves_no_working_copy_behind(tmp_path):
    (tmp_path / "admin.csv").write_bytes("\r\n".join([HEADER, *LINES, ""]).encode("cp1252"))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    from pipelines.config import load_config
    from pipelines.ingest import ingest
    ingest_source(tmp_path, {**ADMIN, "options": {"delimiter": ";", "encoding": "cp1252"}},
                  references=("territories", "admin_codebook"))
    result = ingest(con, load_config(tmp_path / "lci.yaml"))
    assert not result.errors
    folder = scratch_folder(con)
    assert folder is not None and folder.is_dir() and not list(folder.iterdir())
    con.close()


def test_a_locked_connection_reads_transcoded_csv_and_parquet(tmp_path):
    """The run's connection reads only the declared files and writes only in its folders:
    the transcoded copy goes to its scratch folder, Parquet is read through the relation API."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.config import load_config
    from pipelines.ingest import ingest
    from pipelines.warehouse import connect

    (tmp_path / "admin.csv").write_bytes("\r\n".join([HEADER, *LINES, ""]).encode("cp1252"))
    pq.write_table(pa.table({"CODGEO": ["01053"], "ANNEE": [2024], "SEXE": ["M"],
                             "TRANCHE_AGE": ["25-34"], "POP": [1.0]}),
                   tmp_path / "population.parquet")
    ingest_source(tmp_path, {**ADMIN, "options": {"delimiter": ";", "encoding": "cp1252"}},
                  references=("territories", "admin_codebook"))
    config = load_config(tmp_path / "lci.yaml")
    population = {"name": "population", "path": "population.parquet", "format": "parquet",
                  "table": "population",
                  "columns": {"territory_code": "CODGEO", "year": "ANNEE", "sex": "SEXE",
                              "age_group": "TRANCHE_AGE", "population": "POP"}}
    config = config.model_copy(update={"sources": (*config.sources,
                                                   type(config.sources[0])(**population))})
    run = tmp_path / "run"
    run.mkdir()
    con = connect(run / "warehouse.duckdb", readable=[config.path_of(s) for s in config.sources],
                  writable=[run])
    result = ingest(con, config)
    assert not result.errors, [str(e) for e in result.errors]
    assert {o.source: o.rows_read for o in result.outcomes}["population"] == 1
    folder = scratch_folder(con)
    assert folder is not None and not list(folder.iterdir())
    con.close()
