"""The indicator catalogue: what a definition must say, and how a bad file is reported."""

import shutil
from pathlib import Path

import pytest

from indicators import CatalogueError, bundled_catalogue_dir, load_catalogue


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(bundled_catalogue_dir(), target)
    return target


def test_bundled_catalogue_covers_every_domain_with_at_least_two_indicators():
    catalogue = load_catalogue()
    assert len(catalogue) >= 16
    for domain in catalogue.domains:
        assert len(catalogue.in_domain(domain.code)) >= 2, domain.code
    assert {d.code for d in catalogue.domains} == {
        "LL", "ECO", "MED", "MAN", "CIT", "PED", "SKL", "LNK"}


def test_ll01_is_adult_participation_25_64_with_the_eu_target():
    ll01 = load_catalogue().get("LL01")
    assert ll01.kind == "survey_proportion"
    assert "25 AND 64" in ll01.computation.population
    assert ll01.target is not None and ll01.target.value == 60


def test_catalogue_uses_all_three_kinds_of_input():
    kinds = {i.kind for i in load_catalogue()}
    assert kinds == {"survey_proportion", "admin_ratio", "commuting"}


def test_every_label_exists_in_english_and_french():
    for indicator in load_catalogue():
        for text in (indicator.label, indicator.description, indicator.unit, indicator.source):
            assert text("en") and text("fr")
        assert indicator.label("en") != indicator.label("fr") or indicator.id == "SKL06"


def test_a_bad_field_is_reported_with_file_indicator_and_field(catalogue_copy: Path):
    path = catalogue_copy / "MED.yaml"
    path.write_text(path.read_text().replace("direction: higher_is_better", "direction: up", 1))
    with pytest.raises(CatalogueError, match=r"MED\.yaml, indicator MED01: field 'direction'"):
        load_catalogue(catalogue_copy)


def test_an_unknown_kind_lists_the_valid_ones(catalogue_copy: Path):
    path = catalogue_copy / "ECO.yaml"
    path.write_text(path.read_text().replace("kind: admin_ratio", "kind: magic", 1))
    with pytest.raises(CatalogueError, match="admin_ratio.*commuting|survey_proportion"):
        load_catalogue(catalogue_copy)


def test_an_indicator_defined_twice_is_refused(catalogue_copy: Path):
    path = catalogue_copy / "CIT.yaml"
    path.write_text(path.read_text().replace("id: CIT04", "id: CIT03"))
    with pytest.raises(CatalogueError, match="CIT03 is defined twice"):
        load_catalogue(catalogue_copy)


def test_the_catalogue_hash_changes_when_a_definition_changes(catalogue_copy: Path):
    before = load_catalogue(catalogue_copy).sha256
    path = catalogue_copy / "PED.yaml"
    path.write_text(path.read_text().replace("min_n", "min_n") + "\n# edited\n")
    assert load_catalogue(catalogue_copy).sha256 != before
    assert load_catalogue().sha256 == load_catalogue(bundled_catalogue_dir()).sha256


def test_every_public_name_of_the_packages_imports():
    import indicators
    import reports

    for package in (indicators, reports):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


@pytest.mark.parametrize(("condition", "reason"), [
    ("length(read_text('/etc/passwd')) > 0", "read_text reads files or tables"),
    ("(SELECT count(*) FROM glob('/*')) > 0", "is a subquery"),
    ("formal_12m = 1; COPY survey_responses TO '/tmp/x.csv'", "it contains ';'"),
    ("getenv('HOME') IS NOT NULL", "getenv reads the machine"),
    ("sum(formal_12m) > 0", "aggregate function"),
])
def test_a_hostile_survey_condition_is_refused_when_the_catalogue_is_read(
        catalogue_copy: Path, condition: str, reason: str):
    path = catalogue_copy / "LL.yaml"
    text = path.read_text()
    path.write_text(text.replace("condition: informal_12m = 1", f'condition: "{condition}"', 1))
    with pytest.raises(CatalogueError, match=rf"LL\.yaml, indicator LL05: field "
                                             rf"'computation.*condition'.*{reason}"):
        load_catalogue(catalogue_copy)


def test_a_hostile_population_is_refused_too(catalogue_copy: Path):
    path = catalogue_copy / "SKL.yaml"
    path.write_text(path.read_text().replace(
        "population: age BETWEEN 25 AND 34", "population: age > 0 OR read_csv('/x') IS NULL", 1))
    with pytest.raises(CatalogueError, match="population.*read_csv reads files"):
        load_catalogue(catalogue_copy)


def test_survey_columns_are_checked_at_load_when_given():
    columns = ["age", "sex", "isced_level", "formal_12m", "nonformal_12m", "informal_12m",
               "digital_basic", "volunteering_12m", "env_learning_12m", "workshop_12m",
               "unmet_demand"]
    assert len(load_catalogue(survey_columns=columns)) == len(load_catalogue())
    with pytest.raises(CatalogueError, match=r"indicator LL01: field 'computation.condition'"
                                             r".*unknown column 'formal_12m'"):
        load_catalogue(survey_columns=[c for c in columns if c != "formal_12m"])
