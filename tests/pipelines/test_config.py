"""The project configuration: the sample loads, and mistakes name the source and field."""

from pathlib import Path

import pytest

from pipelines.config import ConfigError, bundled_sample_config, load_config


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
