"""The project configuration: the sample loads, and mistakes name the source and field."""

import codecs
from pathlib import Path

import pytest

from pipelines.config import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    ConfigError,
    ReaderOptions,
    bundled_sample_config,
    load_config,
)
from pipelines.problems import Problem


def test_the_sample_project_declares_every_contract_table():
    config = load_config(bundled_sample_config())
    assert {s.table for s in config.sources} == {
        "territories", "territory_groups", "admin_codebook", "population", "population_totals",
        "survey_responses", "admin_measures", "commuting"}
    assert config.latest_year == 2024
    for source in config.sources:
        assert config.path_of(source).is_file(), source.name


def test_formats_include_excel_french_csv_and_parquet():
    config = load_config(bundled_sample_config())
    by_name = {s.name: s for s in config.sources}
    assert by_name["population"].format == "xlsx"
    assert by_name["admin_measures"].options.decimal == ","
    assert by_name["admin_measures"].options.delimiter == ";"
    assert by_name["aes_survey"].format == "parquet"


def test_an_invalid_field_is_named_by_source(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_text(
        "name: x\nyears: [2024]\nsources:\n"
        "  - {name: population, path: p.ods, format: ods, table: population}\n"
    )
    with pytest.raises(ConfigError, match=r"sources\[population\]\.format"):
        load_config(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nowhere.yaml")


def test_database_resources_are_settings_of_the_project(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_text(
        "name: x\nyears: [2024]\ndatabase: {memory_limit: 1.5GB, threads: 2}\nsources:\n"
        "  - {name: population, path: p.csv, format: csv, table: population}\n"
    )
    config = load_config(path)
    assert (config.database.memory_limit, config.database.threads) == ("1.5GB", 2)


# --- hostile and unlucky project files -----------------------------------------------------

BASE = ("name: x\nyears: [2024]\nsources:\n"
        "  - {name: population, path: p.csv, format: csv, table: population}\n")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lci.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.problems, "a configuration error carries its problems"
    for problem in error.problems:
        assert problem.file == str(path)
        assert problem.message.en and problem.message.fr
        assert problem.message.en != problem.message.fr
    return error


def _only(error: ConfigError) -> Problem:
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_bytes(b"name: x\n" + b"#" * (MAX_FILE_BYTES + 1))
    problem = _only(_refused(path))
    assert problem.code == "config.too_large"
    assert "larger than 1 MB" in problem.message.en


def test_a_folder_given_as_the_project_file_is_a_clear_error(tmp_path: Path):
    assert _only(_refused(tmp_path)).code == "config.not_a_file"


@pytest.mark.parametrize("text", [
    "a: " + "[" * 100_000 + "]" * 100_000,
    "a: " + "{b: " * 100_000 + "1" + "}" * 100_000,
    "".join(" " * i + f"k{i}:\n" for i in range(200)),
])
def test_deep_nesting_is_refused_with_a_message_not_a_recursion_error(tmp_path: Path, text: str):
    problem = _only(_refused(_write(tmp_path, text)))
    assert problem.code == "config.too_deep"
    assert f"more than {MAX_DEPTH} levels" in problem.message.en
    assert problem.row is not None


def test_a_billion_laughs_is_refused(tmp_path: Path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    problem = _only(_refused(_write(tmp_path, "\n".join(lines) + "\n")))
    assert problem.code == "config.too_many_values"


def test_aliases_that_stay_small_are_fine_and_a_self_reference_is_refused(tmp_path: Path):
    text = ("name: x\nyears: [2024]\nsources:\n"
            "  - {name: first, path: a.csv, format: csv, table: population,"
            " columns: &cols {territory_code: COM, year: AN}}\n"
            "  - {name: second, path: b.csv, format: csv, table: population, columns: *cols}\n")
    config = load_config(_write(tmp_path, text))
    assert config.sources[0].columns == config.sources[1].columns == {
        "territory_code": "COM", "year": "AN"}
    assert _only(_refused(_write(tmp_path, "a: &a [*a]\n"))).code == "config.recursive_alias"


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['echo hi']",
                                 "!!python/name:os.system", "!!binary aGVsbG8=",
                                 "!!set {a, b}", "!custom x"])
def test_tags_beyond_plain_values_are_refused(tmp_path: Path, tag: str):
    problem = _only(_refused(_write(tmp_path, BASE + f"colour: {tag}\n")))
    assert problem.code == "config.invalid_yaml"
    assert problem.row == 5


@pytest.mark.parametrize("text", [
    "name: x\x00\n", "name: [unclosed\n", "name: x\n\tyears: [2024]\n", BASE + "---\n" + BASE,
    "years: [" + "9" * 5000 + "]\n", "? [a, b]\n: c\n", "name: !!int _\n", "key: *nowhere\n",
])
def test_broken_yaml_is_one_message_with_its_line(tmp_path: Path, text: str):
    problem = _only(_refused(_write(tmp_path, text)))
    assert problem.code == "config.invalid_yaml"
    assert problem.row is not None


def test_an_empty_file_or_a_list_is_not_a_project(tmp_path: Path):
    assert _only(_refused(_write(tmp_path, ""))).code == "config.empty"
    assert _only(_refused(_write(tmp_path, "# nothing\n"))).code == "config.empty"
    assert _only(_refused(_write(tmp_path, "- a\n"))).code == "config.not_a_mapping"


def test_a_key_written_twice_names_the_key_and_both_lines(tmp_path: Path):
    error = _refused(_write(tmp_path, BASE + "name: y\n"))
    problem = _only(error)
    assert (problem.code, problem.field, problem.row) == ("config.duplicate_key", "name", 5)
    assert "lines 1 and 5" in problem.message.en and "lignes 1 et 5" in problem.message.fr
    nested = ("name: x\nyears: [2024]\nsources:\n  - name: population\n    path: p.csv\n"
              "    format: csv\n    table: population\n    columns:\n      year: ANNEE\n"
              "      territory_code: COM\n      year: AN\n")
    problem = _only(_refused(_write(tmp_path, nested)))
    assert problem.field == "sources[population].columns.year"
    assert "lines 9 and 11" in problem.message.en
    assert "sources[population].columns.year" in str(_refused(_write(tmp_path, nested)))


def test_a_merge_key_may_be_overridden_without_being_a_duplicate(tmp_path: Path):
    text = ("name: x\nyears: [2024]\ndefaults: &d {path: p.csv, format: csv}\n"
            "sources:\n  - {<<: *d, name: population, table: population, format: csv}\n")
    error = _refused(_write(tmp_path, text))  # 'defaults' is not a field, but no duplicate
    assert [p.code for p in error.problems] == ["config.extra_field"]


def test_a_misspelt_key_is_reported_once_with_a_suggestion(tmp_path: Path):
    text = ("name: x\nyears: [2024]\nsources:\n  - name: population\n    path: p.csv\n"
            "    fromat: csv\n    table: population\n    colums: {year: AN}\n"
            "    options: {delimitor: ';'}\nreport: {titel: {en: T}}\n")
    error = _refused(_write(tmp_path, text))
    by_field = {p.field: p for p in error.problems}
    assert set(by_field) == {"sources[population].fromat", "sources[population].colums",
                             "sources[population].options.delimitor", "report.titel"}
    assert all(p.code == "config.extra_field" for p in error.problems)
    assert "did you mean 'format'?" in by_field["sources[population].fromat"].message.en
    assert "vouliez-vous dire 'format' ?" in by_field["sources[population].fromat"].message.fr
    assert "did you mean 'columns'?" in by_field["sources[population].colums"].message.en
    assert "'delimiter'" in by_field["sources[population].options.delimitor"].message.en
    assert "'title'" in by_field["report.titel"].message.en
    assert by_field["sources[population].fromat"].row == 6
    assert by_field["sources[population].colums"].row == 8
    assert sum("fromat" in line for line in str(error).splitlines()) == 1
    assert "format: required" not in str(error)


def test_an_unknown_key_far_from_any_field_has_no_suggestion(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE + "colour: green\n")))
    assert (problem.field, problem.value, problem.row) == ("colour", "green", 5)
    assert "did you mean" not in problem.message.en


def test_root_and_file_cannot_be_set_by_the_project_file(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE + "root: /\n")))
    assert (problem.code, problem.field) == ("config.extra_field", "root")


def test_a_file_not_in_utf8_names_the_byte_and_line_and_says_to_save_as_utf8(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_bytes((BASE + "report: {title: {fr: 'Créteil'}}\n").encode("cp1252"))
    error = _refused(path)
    problem = _only(error)
    assert (problem.code, problem.row) == ("config.not_utf8", 5)
    assert "0xE9" in problem.message.en and "line 5" in problem.message.en
    assert "'é'" in problem.message.en
    assert "UTF-8" in problem.hint.en and "UTF-8" in problem.hint.fr
    assert str(path) in str(error)


def test_utf8_with_a_byte_order_mark_and_utf16_are_read(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_bytes(codecs.BOM_UTF8 + BASE.encode("utf-8"))
    assert load_config(path).name == "x"
    path.write_bytes(BASE.replace("x", "Créteil", 1).encode("utf-16"))
    assert load_config(path).name == "Créteil"


# --- settings ------------------------------------------------------------------------------

def _options(tmp_path: Path, options: str) -> Path:
    return _write(tmp_path, BASE.replace("p.csv,", f"p.csv, options: {{{options}}},"))


def test_an_impossible_waiver_date_names_the_field_and_the_value(tmp_path: Path):
    text = BASE + ("waivers:\n  - source: population\n    check: c\n    reason: known\n"
                   "    owner: me\n    expires: 2026-02-30\n")
    problem = _only(_refused(_write(tmp_path, text)))
    assert (problem.field, problem.value, problem.row) == ("waivers[0].expires", "2026-02-30",
                                                           10)
    assert "does not exist" in problem.message.en and "n'existe pas" in problem.message.fr
    problem = _only(_refused(_write(tmp_path, text.replace("2026-02-30", "31/12/2026"))))
    assert problem.message.en == "not a date" and "YYYY-MM-DD" in problem.hint.en


def test_a_waiver_for_an_unknown_source_names_it(tmp_path: Path):
    text = BASE + ("waivers:\n  - {source: populaton, check: c, reason: known, owner: me,"
                   " expires: 2026-01-31}\n")
    problem = _only(_refused(_write(tmp_path, text)))
    assert (problem.code, problem.field, problem.value) == (
        "config.unknown_source", "waivers[0].source", "populaton")


@pytest.mark.parametrize(("written", "delimiter"), [
    ("'\\t'", "\t"), ('"\\t"', "\t"), ("tab", "\t"), ("TAB", "\t"), ("tabulation", "\t"),
    ("';'", ";"), ("'|'", "|"), ("','", ","), ("point-virgule", ";"), ("' '", " "),
])
def test_delimiters_accept_one_character_and_the_words_for_a_tab(tmp_path: Path, written: str,
                                                                  delimiter: str):
    [source] = load_config(_options(tmp_path, f"delimiter: {written}")).sources
    assert source.options.delimiter == delimiter


@pytest.mark.parametrize("written", ["';;'", "''", "'\"'", "\"'\"", '"\\n"', "x", "'5'",
                                     '"\\0"', "12", "[';']"])
def test_a_delimiter_that_cannot_be_one_is_refused(tmp_path: Path, written: str):
    problem = _only(_refused(_options(tmp_path, f"delimiter: {written}")))
    assert problem.field == "sources[population].options.delimiter"
    assert problem.code in ("config.invalid_delimiter", "config.invalid_value")
    assert problem.row == 4


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "cp1252", "latin-1", "windows-1252",
                                      "utf-16", "auto", "iso-8859-15"])
def test_text_encodings_are_accepted(tmp_path: Path, encoding: str):
    [source] = load_config(_options(tmp_path, f"encoding: {encoding}")).sources
    assert source.options.encoding == encoding


@pytest.mark.parametrize("encoding", ["rot13", "zlib", "base64", "hex", "bz2", "idna",
                                      "unicode_escape"])
def test_codecs_that_are_not_text_encodings_are_refused(tmp_path: Path, encoding: str):
    problem = _only(_refused(_options(tmp_path, f"encoding: {encoding}")))
    assert (problem.code, problem.field, problem.value) == (
        "config.invalid_encoding", "sources[population].options.encoding", encoding)
    assert "not a text encoding" in problem.message.en
    assert "utf-8" in problem.hint.en and "cp1252" in problem.hint.en


def test_an_unknown_encoding_suggests_a_known_one(tmp_path: Path):
    problem = _only(_refused(_options(tmp_path, "encoding: utf-9")))
    assert "did you mean utf-8?" in problem.message.en
    assert "latin-1" in problem.hint.en


@pytest.mark.parametrize(("written", "normalised"), [
    ("'1,5 Go'", "1.5GB"), ("1.5GB", "1.5GB"), ("800 Mo", "800MB"), ("2 GiB", "2GiB"),
    ("512MB", "512MB"), ("4gb", "4GB"), ("'1,50 Go'", "1.5GB"), ("2 Gio", "2GiB"),
    ("0.5TB", "0.5TB"), ("null", None),
])
def test_memory_limits_in_french_and_english_units_are_normalised(tmp_path: Path, written: str,
                                                                  normalised: str | None):
    config = load_config(_write(tmp_path, BASE + f"database: {{memory_limit: {written}}}\n"))
    assert config.database.memory_limit == normalised


@pytest.mark.parametrize("written", ["lots", "2", "1.5", "'1GB; SET threads=1'", "1.5 G",
                                     "10KB", "-1GB", "1 500 Mo", "2 PB", "yes", "80%"])
def test_a_memory_limit_in_another_form_is_refused_listing_the_accepted_ones(tmp_path: Path,
                                                                              written: str):
    problem = _only(_refused(_write(tmp_path, BASE + f"database: {{memory_limit: {written}}}\n")))
    assert (problem.code, problem.field, problem.row) == (
        "config.invalid_memory_limit", "database.memory_limit", 5)
    assert "1,5 Go" in problem.hint.en and "800 Mo" in problem.hint.fr


@pytest.mark.parametrize(("setting", "field"), [
    ("database: {threads: 0}", "database.threads"),
    ("database: {threads: 100000}", "database.threads"),
    ("database: {threads: yes}", "database.threads"),
    ("database: {threads: 1.5}", "database.threads"),
    ("validation: {max_rejected_share: 2}", "validation.max_rejected_share"),
    ("validation: {max_rejected_share: .nan}", "validation.max_rejected_share"),
    ("validation: {population_tolerance: .inf}", "validation.population_tolerance"),
    ("report: {title: {en: ''}}", "report.title.en"),
    ("report: {title: {de: Titel}}", "report.title.de"),
])
def test_settings_out_of_bounds_name_their_field(tmp_path: Path, setting: str, field: str):
    problem = _only(_refused(_write(tmp_path, BASE + setting + "\n")))
    assert problem.field == field
    assert problem.row == 5


def test_header_row_bounds(tmp_path: Path):
    for written in ("0", "-1", "2000000", "true", "three"):
        problem = _only(_refused(_options(tmp_path, f"header_row: {written}")))
        assert problem.field == "sources[population].options.header_row"
    [source] = load_config(_options(tmp_path, "header_row: 3")).sources
    assert source.options.header_row == 3


def test_a_long_title_is_refused_and_the_value_shown_short(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE + f"report: {{title: {{en: {'x' * 500}}}}}\n")))
    assert problem.field == "report.title.en" and "200" in problem.message.en
    assert len(problem.value) <= 80


def test_source_names_are_lowercase_words_and_unique(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE.replace("name: population",
                                                           "name: 'Pop; DROP'"))))
    assert (problem.code, problem.value) == ("config.invalid_name", "Pop; DROP")
    twice = BASE + "  - {name: population, path: q.csv, format: csv, table: population}\n"
    problem = _only(_refused(_write(tmp_path, twice)))
    assert (problem.code, problem.field, problem.row) == ("config.duplicate_source",
                                                          "sources[population].name", 5)


def test_report_territories_are_quoted_codes(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE + "report: {territories: [01053, '2A004']}\n")))
    assert (problem.code, problem.field) == ("config.invalid_code", "report.territories[0]")
    assert "quotes" in problem.message.en and "guillemets" in problem.message.fr
    for bad in ("'a b'", "''", "'56260', '56260'"):
        _only(_refused(_write(tmp_path, BASE + f"report: {{territories: [{bad}]}}\n")))
    config = load_config(_write(tmp_path, BASE + "report: {territories: ['2A004', FR-GNLC]}\n"))
    assert config.report.territories == ("2A004", "FR-GNLC")


def test_control_characters_are_escaped_in_what_is_shown(tmp_path: Path):
    problem = _only(_refused(_write(tmp_path, BASE + 'colour: "\\e[2J\\e[31mred"\n')))
    assert "\x1b" not in problem.value and "\\x1b" in problem.value
    assert "\x1b" not in str(_refused(_write(tmp_path, BASE + 'colour: "\\e[2J"\n')))


def test_messages_name_source_and_field_plainly(tmp_path: Path):
    error = _refused(_write(tmp_path, BASE.replace("format: csv", "format: ods")))
    message = str(error)
    assert "sources[population].format" in message
    assert "line 4" in message and "'ods'" in message
    assert "[red]" not in message and "\x1b" not in message


# --- paths ---------------------------------------------------------------------------------

def _project(tmp_path: Path, path: str, extra: str = "") -> Path:
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    config = folder / "lci.yaml"
    config.write_text("name: x\nyears: [2024]\nsources:\n"
                      f"  - {{name: population, path: '{path}', format: csv, "
                      f"table: population}}\n{extra}", encoding="utf-8")
    return config


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.csv", "raw/../../outside.csv",
                                  "C:\\\\data\\\\p.csv", "~/p.csv", "..\\\\outside.csv", "",
                                  "raw/.."])
def test_a_source_path_leaving_the_project_folder_is_refused(tmp_path: Path, path: str):
    problem = _only(_refused(_project(tmp_path, path)))
    assert problem.field == "sources[population].path"
    assert problem.code in ("config.path_outside_project", "config.invalid_path")
    assert problem.row == 4


def test_a_symbolic_link_out_of_the_project_is_refused_and_one_inside_kept(tmp_path: Path):
    (tmp_path / "secret.csv").write_text("a\n", encoding="utf-8")
    config = _project(tmp_path, "raw/leak.csv")
    (config.parent / "raw").mkdir()
    (config.parent / "raw" / "leak.csv").symlink_to(tmp_path / "secret.csv")
    problem = _only(_refused(config))
    assert (problem.code, problem.field, problem.value) == (
        "config.path_outside_project", "sources[population].path", "raw/leak.csv")
    assert "symbolic link" in problem.message.en
    (config.parent / "raw" / "real.csv").write_text("a\n", encoding="utf-8")
    (config.parent / "raw" / "inner.csv").symlink_to("real.csv")
    for inside in ("raw/inner.csv", "raw/real.csv", "./raw/../raw/real.csv", "raw\\\\real.csv"):
        project = load_config(_project(tmp_path, inside))
        assert project.path_of(project.sources[0]) == (config.parent / "raw" /
                                                       "real.csv").resolve()


def test_a_declared_data_root_lets_a_source_live_elsewhere(tmp_path: Path):
    srv = tmp_path / "srv" / "insee"
    srv.mkdir(parents=True)
    (srv / "population_2024.parquet").write_bytes(b"PAR1")
    config = load_config(_project(tmp_path, "insee:population_2024.parquet",
                                  f"data_roots: {{insee: {srv}}}\n"))
    assert config.path_of(config.sources[0]) == (srv / "population_2024.parquet").resolve()
    relative = load_config(_project(tmp_path, "insee:population_2024.parquet",
                                    "data_roots: {insee: ../srv/insee}\n"))
    assert relative.path_of(relative.sources[0]) == config.path_of(config.sources[0])


def test_a_data_root_is_a_boundary_too(tmp_path: Path):
    srv = tmp_path / "srv"
    srv.mkdir()
    (srv / "out").symlink_to(tmp_path)
    roots = f"data_roots: {{insee: {srv}}}\n"
    problem = _only(_refused(_project(tmp_path, "insee:../secret.csv", roots)))
    assert "data root" in problem.message.en
    problem = _only(_refused(_project(tmp_path, "insee:out/secret.csv", roots)))
    assert problem.code == "config.path_outside_project"
    problem = _only(_refused(_project(tmp_path, "census:p.csv", roots)))
    assert (problem.code, problem.value) == ("config.unknown_data_root", "census:p.csv")
    assert "insee" in problem.message.en
    problem = _only(_refused(_project(tmp_path, "insee:p.csv", "data_roots: {insee: /}\n")))
    assert (problem.code, problem.field) == ("config.invalid_data_root", "data_roots.insee")


def test_path_of_checks_again_when_the_folder_changed_since_loading(tmp_path: Path):
    (tmp_path / "secret.csv").write_text("a\n", encoding="utf-8")
    config = load_config(_project(tmp_path, "p.csv"))
    (config.root / "p.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(ConfigError, match=r"sources\[population\]\.path"):
        config.path_of(config.sources[0])


def test_the_reading_limits_are_stated():
    assert (MAX_FILE_BYTES, MAX_DEPTH) == (1_000_000, 50)
    assert MAX_NODES >= 10_000


def test_many_problems_make_a_short_message_and_are_all_kept(tmp_path: Path):
    error = _refused(_write(tmp_path, BASE + "".join(f"extra_{i}: 1\n" for i in range(500))))
    assert len(error.problems) == 500
    assert len(str(error).splitlines()) < 40 and "470 more" in str(error)


def test_an_empty_section_takes_its_default(tmp_path: Path):
    text = BASE.replace("table: population}", "table: population, options: , columns: }")
    config = load_config(_write(tmp_path, text + "report:\nvalidation:\ndatabase:\nwaivers:\n"))
    assert config.database.memory_limit == "1.5GB" and config.sources[0].columns == {}
    assert config.sources[0].options.header_row == 1 and config.waivers == ()
    assert load_config(_write(tmp_path, BASE + "database: {memory_limit: }\n")).database \
        .memory_limit is None


@pytest.mark.parametrize(("key", "field"), [("1", "1"), ("2024-01-01", "2024-01-01"),
                                            (".inf", "inf")])
def test_a_key_that_is_not_text_is_named_on_its_line(tmp_path: Path, key: str, field: str):
    problem = _only(_refused(_write(tmp_path, BASE + f"{key}: x\n")))
    assert (problem.field, problem.row) == (field, 5)
    assert "quotes" in problem.message.en


@pytest.mark.parametrize(("roots", "code"), [
    ("{Insee: /srv}", "config.invalid_data_root"), ("{insee: ~nosuchuser_lci/x}",
                                                    "config.invalid_data_root"),
    ("{insee: null}", "config.invalid_value"), ("[/srv]", "config.invalid_value"),
])
def test_a_bad_data_root_is_said_once_at_the_data_root(tmp_path: Path, roots: str, code: str):
    problem = _only(_refused(_project(tmp_path, "insee:p.csv", f"data_roots: {roots}\n")))
    assert problem.code == code
    assert problem.field.startswith("data_roots")


def test_broken_yaml_quotes_the_line_as_written(tmp_path: Path):
    error = _refused(_write(tmp_path, BASE + "bogus: [bold]1\n"))
    problem = _only(error)
    assert (problem.row, problem.value) == (5, "bogus: [bold]1")
    assert "line 5 reads: bogus: [bold]1" in str(error)


def test_the_depth_limit_is_exact_and_counts_aliases(tmp_path: Path):
    def nested(levels: int) -> str:  # the document's mapping, then ``levels`` lists
        return "a: " + "[" * levels + "]" * levels + "\n"

    codes = {p.code for p in _refused(_write(tmp_path, nested(MAX_DEPTH - 1))).problems}
    assert "config.too_deep" not in codes and "config.extra_field" in codes
    assert _only(_refused(_write(tmp_path, nested(MAX_DEPTH)))).code == "config.too_deep"
    half = MAX_DEPTH // 2 + 1
    aliased = ("a: &deep " + "[" * half + "]" * half + "\n"
               "b: " + "[" * half + "*deep" + "]" * half + "\n")
    problem = _only(_refused(_write(tmp_path, aliased)))
    assert problem.code == "config.too_deep" and "counting aliases" in problem.message.en


def test_dots_as_thousands_need_a_decimal_comma(tmp_path):
    assert ReaderOptions(decimal=",", thousands=".").thousands == "."
    with pytest.raises(ValueError, match="thousands '.' needs decimal ','"):
        ReaderOptions(decimal=".", thousands=".")
