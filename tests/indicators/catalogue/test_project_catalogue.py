"""A project's own indicators: what it may choose, change and add, and how a mistake is said."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from indicators import CatalogueError, load_catalogue
from indicators.catalogue.definitions import KINDS, Indicator
from indicators.catalogue.project import (
    MAX_FILE_BYTES,
    ProjectIndicators,
    check_measures,
    is_builtin_definition,
    project_catalogue,
)

SURVEY_COLUMNS = ("respondent_id", "age", "sex", "formal_12m", "nonformal_12m", "isced_level",
                  "informal_12m", "digital_basic", "volunteering_12m", "library_12m",
                  "env_learning_12m", "workshop_12m", "intends_to_train", "unmet_demand",
                  "labour_status", "guided_ojt_12m")
VAN = {"code": "VAN", "label": {"en": "Ours", "fr": "Les nôtres"},
       "description": {"en": "Our own", "fr": "Les nôtres"}}


def definition(indicator_id: str = "VAN01", domain: str | None = "VAN", **computation) -> dict:
    """An indicator definition as a project writes it (a survey proportion by default)."""
    found = {"id": indicator_id, "label": {"en": "Intending to train", "fr": "Intention"},
             "description": {"en": "Adults intending to train", "fr": "Adultes"},
             "unit": {"en": "% of adults", "fr": "% des adultes"},
             "direction": "higher_is_better", "kflc": ["B6"],
             "source": {"en": "Survey", "fr": "Enquête"},
             "computation": computation or {"kind": "survey_proportion",
                                            "condition": "intends_to_train = 1"}}
    return found if domain is None else {**found, "domain": domain}


def section(**fields) -> ProjectIndicators:
    return ProjectIndicators.model_validate(fields)


def build(project: ProjectIndicators, root: Path, **options) -> object:
    return project_catalogue(project, root=root, project_file=root / "lci.yaml",
                             survey_columns=SURVEY_COLUMNS, **options)


def write(root: Path, name: str, content: dict | str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content,
                                                                            allow_unicode=True),
                    encoding="utf-8")
    return path


def message(error: pytest.ExceptionInfo) -> str:
    return str(error.value)


# --- choosing built-in indicators ---------------------------------------------------------

def test_without_a_section_the_catalogue_is_the_built_in_one(tmp_path: Path):
    catalogue = build(ProjectIndicators(), tmp_path)
    assert catalogue == load_catalogue()
    assert catalogue.sha256 == load_catalogue().sha256  # manifests of plain projects unchanged


def test_use_keeps_indicators_and_whole_domains_and_drop_leaves_some_out(tmp_path: Path):
    catalogue = build(section(use=["LL01", "LL04", "MED"], drop=["MED05"]), tmp_path)
    assert [i.id for i in catalogue] == ["LL01", "LL04", "MED01", "MED04"]
    assert [d.code for d in catalogue.domains] == ["LL", "MED"]  # only domains in use
    assert catalogue.sha256 != load_catalogue().sha256


def test_drop_alone_keeps_every_other_built_in_indicator(tmp_path: Path):
    catalogue = build(section(drop=["MAN03", "LNK"]), tmp_path)
    ids = [i.id for i in catalogue]
    assert "MAN03" not in ids and not [i for i in ids if i.startswith("LNK")]
    assert len(ids) == len(load_catalogue()) - 1 - len(load_catalogue().in_domain("LNK"))


@pytest.mark.parametrize("field", ["use", "drop"])
def test_an_unknown_id_in_use_or_drop_lists_the_known_ones(field: str):
    with pytest.raises(ValidationError) as error:
        section(**{field: ["LL01", "LL02"]})
    (problem,) = error.value.errors()
    assert problem["loc"] == (field, 1)
    assert "no built-in indicator or domain 'LL02'" in problem["msg"]
    assert "LL01, LL04, LL05, LL08" in problem["msg"] and "LNK06" in problem["msg"]
    assert "domains: LL, ECO" in problem["msg"]


def test_leaving_every_indicator_out_is_refused(tmp_path: Path):
    with pytest.raises(CatalogueError, match="no indicator is left in use"):
        build(section(use=[]), tmp_path)


# --- overriding -----------------------------------------------------------------------------

def test_override_changes_target_thresholds_label_and_decimals_only(tmp_path: Path):
    changed = build(section(override={"LL01": {
        "target": {"value": 70, "source": "Council plan 2030"}, "min_n": 50,
        "reliable_n": 150, "max_cv": 0.3, "decimals": 0,
        "label": {"en": "Adults in learning", "fr": "Adultes en formation"}}}), tmp_path)
    ll01, shipped = changed.get("LL01"), load_catalogue().get("LL01")
    assert (ll01.target.value, ll01.target.source) == (70, "Council plan 2030")
    assert (ll01.min_n, ll01.reliable_n, ll01.max_cv, ll01.decimals) == (50, 150, 0.3, 0)
    assert ll01.label("fr") == "Adultes en formation"
    assert ll01.computation == shipped.computation and ll01.unit == shipped.unit
    assert is_builtin_definition(ll01)
    assert changed.get("LL04") == load_catalogue().get("LL04")


def test_override_names_the_projects_own_data_producer(tmp_path: Path):
    changed = build(section(override={"MED04": {"source": {
        "en": "Lisbon municipal libraries", "fr": "Bibliothèques municipales de Lisbonne"}}}),
        tmp_path)
    assert changed.get("MED04").source("en") == "Lisbon municipal libraries"
    assert changed.get("MED04").computation == load_catalogue().get("MED04").computation


def test_target_null_removes_the_built_in_target_and_other_fields_need_a_value(tmp_path: Path):
    assert build(section(override={"LL01": {"target": None}}), tmp_path).get("LL01").target \
        is None
    with pytest.raises(ValidationError, match="min_n: write a value"):
        section(override={"LL01": {"min_n": None}})


def test_an_override_that_changes_what_is_measured_is_refused():
    with pytest.raises(ValidationError) as error:
        section(override={"LL01": {"computation": {"kind": "commuting"}}})
    assert error.value.errors()[0]["loc"] == ("override", "LL01", "computation")
    assert error.value.errors()[0]["type"] == "extra_forbidden"


def test_an_override_of_an_unknown_or_unused_indicator_is_refused():
    with pytest.raises(ValidationError) as error:
        section(override={"LL99": {"min_n": 40}})
    assert error.value.errors()[0]["loc"] == ("override", "LL99", "[key]")
    assert "no built-in indicator 'LL99'" in str(error.value) and "LNK06" in str(error.value)
    with pytest.raises(ValidationError, match="does not use: MAN03"):
        section(drop=["MAN03"], override={"MAN03": {"min_n": 40}})
    with pytest.raises(ValidationError, match="does not use: MED01"):
        section(use=["LL"], override={"MED01": {"min_n": 40}})


def test_an_override_is_checked_with_the_indicator_it_changes():
    with pytest.raises(ValidationError, match="LL01: .*reliable_n must be at least min_n"):
        section(override={"LL01": {"min_n": 500}})  # above the built-in reliable_n (100)


# --- the project's own indicators ---------------------------------------------------------

def test_an_own_indicator_in_an_own_domain_is_published_after_the_built_in_ones(tmp_path: Path):
    catalogue = build(section(domains=[VAN], define=[definition()]), tmp_path)
    assert catalogue.indicators[-1].id == "VAN01"
    assert catalogue.domains[-1].code == "VAN"
    assert catalogue.get("VAN01").defined_in == "lci.yaml"
    assert not is_builtin_definition(catalogue.get("VAN01"))


def test_an_own_indicator_may_join_a_built_in_domain(tmp_path: Path):
    catalogue = build(section(define=[definition("LL20", "LL")]), tmp_path)
    assert [i.id for i in catalogue.in_domain("LL")][-1] == "LL20"


def test_an_own_indicator_with_a_built_in_id_needs_the_built_in_one_dropped(tmp_path: Path):
    with pytest.raises(ValidationError, match="LL01 is a built-in indicator.*drop: \\[LL01\\]"):
        section(define=[definition("LL01", "LL")])
    replaced = build(section(drop=["LL01"], define=[definition("LL01", "LL")]), tmp_path)
    assert replaced.get("LL01").label("en") == "Intending to train"
    assert not is_builtin_definition(replaced.get("LL01"))


def test_an_own_indicator_defined_twice_is_refused():
    with pytest.raises(ValidationError, match="define\\[1\\], indicator VAN01: this id is "
                                              "defined twice"):
        section(domains=[VAN], define=[definition(), definition()])


def test_an_unknown_domain_lists_the_domains():
    with pytest.raises(ValidationError, match="'XYZ', which is not a domain; domains: CIT, "
                                              "ECO, LL, LNK, MAN, MED, PED, SKL"):
        section(define=[definition(domain="XYZ")])


def test_a_project_domain_may_not_take_a_built_in_code():
    with pytest.raises(ValidationError, match="domain LL is a built-in domain"):
        section(domains=[{**VAN, "code": "LL"}])


def test_an_unknown_kind_lists_the_valid_kinds():
    with pytest.raises(ValidationError) as error:
        section(domains=[VAN], define=[definition(kind="magic")])
    (problem,) = error.value.errors()
    assert problem["loc"] == ("define", 0, "computation")
    assert problem["msg"] == f"kind 'magic' does not exist; valid kinds: {', '.join(KINDS)}"
    assert {"admin_ratio", "commuting", "survey_proportion"} <= set(KINDS)
    assert list(KINDS) == sorted(KINDS)
    with pytest.raises(ValidationError, match="field 'kind' missing; valid kinds: admin_ratio"):
        Indicator.model_validate(definition(condition="age > 18"))


def test_a_condition_that_does_not_parse_is_refused_when_the_project_is_read():
    with pytest.raises(ValidationError) as error:
        section(domains=[VAN], define=[definition(kind="survey_proportion",
                                                  condition="age > AND 1")])
    assert error.value.errors()[0]["loc"] == ("define", 0, "computation", "survey_proportion",
                                              "condition")
    assert "not a valid SQL expression" in str(error.value)


def test_a_condition_over_an_unknown_column_names_the_file_the_indicator_and_the_field(
        tmp_path: Path):
    project = section(domains=[VAN], define=[definition(kind="survey_proportion",
                                                        condition="wants_training = 1")])
    with pytest.raises(CatalogueError) as error:
        build(project, tmp_path)
    assert message(error).startswith(f"{tmp_path / 'lci.yaml'}, indicator VAN01: field "
                                     f"'computation.condition': condition 'wants_training = 1' "
                                     f"is refused")
    assert project_catalogue(project, root=tmp_path).get("VAN01")  # columns not given: not checked


def test_a_condition_may_not_smuggle_sql():
    with pytest.raises(ValidationError, match="refused"):
        section(domains=[VAN], define=[definition(
            kind="survey_proportion", condition="1 = 1; COPY (SELECT 1) TO 'x.csv'")])


# --- indicator files -----------------------------------------------------------------------

def test_a_named_file_adds_indicators_that_name_it(tmp_path: Path):
    write(tmp_path, "indicators/ours.yaml", {"domain": "VAN", "indicators": [
        definition("VAN01", None), definition("VAN02", None)]})
    project = section(domains=[VAN], files=["indicators/ours.yaml"])
    catalogue = build(project, tmp_path)
    assert [i.id for i in catalogue.in_domain("VAN")] == ["VAN01", "VAN02"]
    assert catalogue.get("VAN02").defined_in == "indicators/ours.yaml"


def test_the_hash_covers_the_project_definitions_and_files(tmp_path: Path):
    path = write(tmp_path, "ours.yaml", {"domain": "LL", "indicators": [
        definition("LL20", None)]})
    project = section(files=["ours.yaml"])
    first = build(project, tmp_path).sha256
    assert build(project, tmp_path).sha256 == first
    path.write_text(path.read_text(encoding="utf-8").replace("higher_is_better", "context"),
                    encoding="utf-8")
    assert build(project, tmp_path).sha256 != first
    overrides = ({"min_n": 40}, {"min_n": 50}, {"min_n": 50, "target": None})
    hashes = {build(section(override={"LL01": o}), tmp_path).sha256 for o in overrides}
    assert len(hashes) == 3
    assert build(section(use=["LL01"]), tmp_path).sha256 != \
        build(section(use=["LL01", "LL04"]), tmp_path).sha256


def test_a_bad_field_in_a_file_names_the_file_the_indicator_and_the_field(tmp_path: Path):
    write(tmp_path, "ours.yaml", {"domain": "LL", "indicators": [
        {**definition("LL20", None), "direction": "up"}]})
    with pytest.raises(CatalogueError) as error:
        build(section(files=["ours.yaml"]), tmp_path)
    assert message(error).startswith(f"{tmp_path / 'ours.yaml'}, indicator LL20: "
                                     f"field 'direction'")


def test_an_unknown_kind_in_a_file_lists_the_valid_kinds(tmp_path: Path):
    write(tmp_path, "ours.yaml", {"domain": "LL", "indicators": [
        definition("LL20", None, kind="regression")]})
    with pytest.raises(CatalogueError, match=r"ours\.yaml, indicator LL20: field 'computation': "
                                             r"kind 'regression' does not exist; valid kinds: "
                                             r"admin_ratio, commuting, "):
        build(section(files=["ours.yaml"]), tmp_path)


def test_an_unknown_column_in_a_file_names_the_file(tmp_path: Path):
    write(tmp_path, "ours.yaml", {"domain": "LL", "indicators": [
        definition("LL20", None, kind="survey_proportion", condition="income > 3")]})
    with pytest.raises(CatalogueError, match=r"ours\.yaml, indicator LL20: field "
                                             r"'computation\.condition': .*income"):
        build(section(files=["ours.yaml"]), tmp_path)


def test_a_file_indicator_colliding_with_a_kept_built_in_or_another_is_refused(tmp_path: Path):
    write(tmp_path, "a.yaml", {"domain": "LL", "indicators": [definition("LL01", None)]})
    with pytest.raises(CatalogueError, match=r"a\.yaml, indicator LL01: LL01 is a built-in"):
        build(section(files=["a.yaml"]), tmp_path)
    write(tmp_path, "b.yaml", {"domain": "LL", "indicators": [definition("LL20", None)]})
    with pytest.raises(CatalogueError, match=r"b\.yaml, indicator LL20: this id is defined "
                                             r"twice"):
        build(section(define=[definition("LL20", "LL")], files=["b.yaml"]), tmp_path)


def test_a_file_with_an_unknown_domain_lists_the_domains(tmp_path: Path):
    write(tmp_path, "ours.yaml", {"domain": "VAN", "indicators": [definition("VAN01", None)]})
    with pytest.raises(CatalogueError, match=r"ours\.yaml: field 'domain' is 'VAN'; expected "
                                             r"one of CIT, ECO"):
        build(section(files=["ours.yaml"]), tmp_path)


@pytest.mark.parametrize("path, said", [
    ("../elsewhere.yaml", "'..' is not allowed"),
    ("/etc/lci.yaml", "absolute paths are not allowed"),
    ("C:/data/ours.yaml", "absolute paths are not allowed"),
    ("~/ours.yaml", "absolute paths are not allowed"),
    ("ours.csv", "expected a YAML file"),
    ("", "not a file name"),
])
def test_a_file_path_must_stay_inside_the_project_folder(path: str, said: str):
    with pytest.raises(ValidationError, match=said):
        section(files=[path])


def test_a_file_reached_through_a_link_out_of_the_project_is_refused(tmp_path: Path):
    outside = write(tmp_path, "outside/ours.yaml", {"domain": "LL", "indicators": [
        definition("LL20", None)]})
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    os.symlink(outside, project_dir / "ours.yaml")
    with pytest.raises(CatalogueError, match="leads outside the project folder"):
        build(section(files=["ours.yaml"]), project_dir)


def test_a_missing_or_oversized_file_is_one_message(tmp_path: Path):
    with pytest.raises(CatalogueError, match=r"ours\.yaml: no such file"):
        build(section(files=["ours.yaml"]), tmp_path)
    write(tmp_path, "ours.yaml", "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(CatalogueError, match=r"ours\.yaml: larger than 1,000,000 bytes"):
        build(section(files=["ours.yaml"]), tmp_path)


@pytest.mark.parametrize("content, said", [
    ("domain: LL\nindicators: [\n", r"ours\.yaml, line \d+: not valid YAML"),
    ("", r"ours\.yaml: the file is empty"),
    ("- a\n- b\n", "expected a mapping with 'domain' and 'indicators'"),
    ("domain: LL\nindicators: []\n", "expected a non-empty list under 'indicators'"),
    ("domain: LL\ndomain: MED\nindicators: [x]\n", r"line 2: the key 'domain' is written twice"),
    ("domain: LL\nindicators: [1]\nextra: 2\n", "unknown field"),
    ("domain: LL\nindicators: [1]\n", "indicator #1: expected a mapping"),
    ("domain: LL\nx: &a [1]\nindicators: *a\n", "aliases .* are not allowed"),
    ("domain: !!python/object:os.system ls\nindicators: [1]\n", "not valid YAML"),
    ("domain: LL\nindicators: " + "[" * 60 + "]" * 60 + "\n", "nested more than 50 deep"),
    (b"domain: \xff\n", "not UTF-8"),
])
def test_an_unreadable_file_is_one_message_naming_it(tmp_path: Path, content: str | bytes,
                                                      said: str):
    path = tmp_path / "ours.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CatalogueError, match=said):
        build(section(files=["ours.yaml"]), tmp_path)


def test_files_listed_twice_are_refused():
    with pytest.raises(ValidationError, match="files listed twice: a.yaml"):
        section(files=["a.yaml", "./a.yaml"])


# --- the codebook --------------------------------------------------------------------------

def ratio(measure: str) -> dict:
    return {"kind": "admin_ratio", "numerator": {"measure": measure},
            "denominator": {"population": "residents"}, "scale": 1000}


def test_an_own_measure_missing_from_the_codebook_names_file_indicator_and_field(
        tmp_path: Path):
    catalogue = build(section(domains=[VAN], define=[definition(**ratio("adult_enrolments"))]),
                      tmp_path)
    codebook = {m for i in load_catalogue() if i.kind == "admin_ratio"
                for m in (getattr(i.computation.numerator, "measure", None),) if m}
    with pytest.raises(CatalogueError) as error:
        check_measures(catalogue, codebook | {"schools_total"}, root=tmp_path)
    assert message(error).startswith(
        f"{tmp_path / 'lci.yaml'}, indicator VAN01: field 'computation.numerator.measure': "
        f"'adult_enrolments' is not a measure of the codebook (admin_codebook: ")


def test_the_codebook_check_notes_unused_measures_and_built_ins_without_data(tmp_path: Path):
    catalogue = build(section(use=["MED04", "MED05", "ECO02"], domains=[VAN],
                              define=[definition(**ratio("adult_education_enrolments"))]),
                      tmp_path)
    notes = check_measures(catalogue, ["library_active_borrowers", "schools_ecolabel",
                                       "schools_total", "adult_education_enrolments",
                                       "learning_events"], root=tmp_path)
    assert notes == [
        "built-in indicators read measures the codebook does not declare, so they have no "
        "values: MED05 (digital_mediation_people); leave them out (indicators: drop) or add "
        "the measures to the codebook",
        "the codebook declares measures no indicator in use reads: learning_events (an "
        "indicator of your own can read them: indicators: define)"]
    full = ["library_active_borrowers", "schools_ecolabel", "schools_total",
            "adult_education_enrolments", "digital_mediation_people"]
    assert check_measures(catalogue, full, root=tmp_path) == []
