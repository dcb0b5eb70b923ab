"""Territory levels declared by a project, and who belongs to which territory."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from indicators.territories import (
    FRENCH_LEVELS,
    Level,
    LevelLabel,
    TerritoryModel,
    TerritoryReferenceError,
    build_membership,
    level_labels,
    resolve_territory,
)

PORTUGAL = TerritoryModel(levels=(
    Level(code="FREG", label=LevelLabel(en="Parishes", fr="Paroisses"), pattern=r"^\d{6}$",
          example="110601"),
    Level(code="MUN", label=LevelLabel(en="Municipalities", fr="Municipalités"),
          pattern=r"^\d{4}$", example="1106", column="municipality_code"),
    Level(code="NUTS3", label=LevelLabel(en="NUTS 3 regions", fr="Régions NUTS 3"),
          pattern=r"^PT[0-9A-Z]{3}$", example="PT1A0", column="nuts3_code"),
))


def _warehouse(model: TerritoryModel, rows: list[tuple], groups: list[tuple] = ()
               ) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    parents = ", ".join(f"{level.parent_column} VARCHAR" for level in model.parents)
    con.execute(f"CREATE TABLE territories (territory_code VARCHAR, level VARCHAR, "
                f"name VARCHAR, {parents}, valid_from INTEGER, valid_to INTEGER)")
    width = 3 + len(model.parents) + 2
    con.executemany(f"INSERT INTO territories VALUES ({', '.join('?' * width)})", rows)
    con.execute("CREATE TABLE territory_groups (group_code VARCHAR, group_name_en VARCHAR, "
                "group_name_fr VARCHAR, member_code VARCHAR)")
    if groups:
        con.executemany("INSERT INTO territory_groups VALUES (?, ?, ?, ?)", groups)
    build_membership(con, model)
    return con


def _members(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT commune_code FROM territory_members WHERE territory_level = ? "
        "AND territory_code = ? ORDER BY 1", [level, code]).fetchall()]


def test_a_parent_named_only_on_an_intermediate_level_still_reaches_the_base_units():
    con = _warehouse(PORTUGAL, [
        ("110601", "FREG", "Ajuda", "1106", None, None, None),
        ("110602", "FREG", "Alcântara", "1106", None, None, None),
        ("150301", "FREG", "Almada", "1503", "PT1B0", None, None),
        ("1106", "MUN", "Lisboa", None, "PT1A0", None, None),
        ("1503", "MUN", "Almada", None, "PT1B0", None, None),
        ("PT1A0", "NUTS3", "Grande Lisboa", None, None, None, None),
        ("PT1B0", "NUTS3", "Península de Setúbal", None, None, None, None),
    ])
    assert _members(con, "NUTS3", "PT1A0") == ["110601", "110602"]
    assert _members(con, "NUTS3", "PT1B0") == ["150301"]  # named twice, counted once
    assert _members(con, "MUN", "1106") == ["110601", "110602"]
    assert _members(con, "FREG", "110601") == ["110601"]


def test_a_region_and_a_departement_sharing_a_code_are_two_territories():
    con = _warehouse(FRENCH_LEVELS, [
        ("11069", "COM", "Carcassonne", None, "11", "76", None, None),
        ("75056", "COM", "Paris", None, "75", "11", None, None),
        ("11", "DEP", "Aude", None, None, "76", None, None),
        ("75", "DEP", "Paris", None, None, "11", None, None),
        ("11", "REG", "Île-de-France", None, None, None, None, None),
        ("76", "REG", "Occitanie", None, None, None, None, None),
    ])
    assert _members(con, "DEP", "11") == ["11069"]
    assert _members(con, "REG", "11") == ["75056"]
    assert resolve_territory(con, "REG:11") == ("REG", "11")
    assert resolve_territory(con, "75056") == ("COM", "75056")
    with pytest.raises(TerritoryReferenceError, match="DEP:11, REG:11"):
        resolve_territory(con, "11")
    with pytest.raises(TerritoryReferenceError, match="no territory '99'"):
        resolve_territory(con, "99")


def test_a_cycle_in_the_parent_columns_ends():
    looped = TerritoryModel(levels=(
        PORTUGAL.levels[0],
        Level(code="MUN", label=LevelLabel(en="M", fr="M"), pattern=r"^\d{4}$",
              column="municipality_code"),
        Level(code="NUTS3", label=LevelLabel(en="N", fr="N"), pattern=r"^\d{4}$",
              column="nuts3_code"),
    ))
    con = _warehouse(looped, [
        ("110601", "FREG", "Ajuda", "1106", None, None, None),
        ("1106", "MUN", "Lisboa", None, "2000", None, None),
        ("2000", "NUTS3", "Loop", "1106", None, None, None),  # names the municipality back
    ])
    assert _members(con, "NUTS3", "2000") == ["110601"]


def test_groups_come_last_and_levels_keep_their_declared_labels():
    con = _warehouse(PORTUGAL, [("110601", "FREG", "Ajuda", None, None, None, None)],
                     [("LX", "Learning parishes", "Paroisses apprenantes", "110601")])
    assert _members(con, "GROUP", "LX") == ["110601"]
    assert level_labels(con) == [("FREG", "Parishes", "Paroisses"),
                                 ("MUN", "Municipalities", "Municipalités"),
                                 ("NUTS3", "NUTS 3 regions", "Régions NUTS 3"),
                                 ("GROUP", "Groups", "Groupes de territoires")]


@pytest.mark.parametrize(("levels", "message"), [
    ((PORTUGAL.levels[0], PORTUGAL.levels[0]), "level codes must differ"),
    ((Level(code="GROUP", label=LevelLabel(en="G", fr="G"), pattern="^x$"),), "custom groups"),
    ((PORTUGAL.levels[0], Level(code="MUN", label=LevelLabel(en="M", fr="M"), pattern="^x$",
                                column="name")), "taken by the territories table"),
])
def test_a_territory_model_that_cannot_work_is_refused(levels, message):
    with pytest.raises(ValidationError, match=message):
        TerritoryModel(levels=levels)


def test_a_level_format_must_be_a_regular_expression_its_example_matches():
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        Level(code="MUN", label=LevelLabel(en="M", fr="M"), pattern="^(\\d{4}$")
    with pytest.raises(ValidationError, match="does not match the pattern"):
        Level(code="MUN", label=LevelLabel(en="M", fr="M"), pattern=r"^\d{4}$", example="12")
