"""Ratios of sums of administrative measures or population over a territory's communes."""

from __future__ import annotations

import duckdb

from indicators.catalogue.definitions import (
    AdminRatio,
    Indicator,
    MeasureQuantity,
    PopulationQuantity,
)
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.territories import member_in_year


def _quantity_filter(quantity: MeasureQuantity | PopulationQuantity, side: str,
                     parameters: dict[str, object]) -> tuple[str, str]:
    """(table, condition) selecting one side's records; the values go to ``parameters``."""
    if isinstance(quantity, MeasureQuantity):
        parameters[f"{side}_measure"] = quantity.measure
        return "admin_measures", f"measure_id = ${side}_measure"
    filters = ["TRUE"]
    if quantity.age_groups:
        parameters[f"{side}_age_groups"] = list(quantity.age_groups)
        filters.append(f"list_contains(${side}_age_groups, age_group)")
    if quantity.sex:
        parameters[f"{side}_sex"] = quantity.sex
        filters.append(f"sex = ${side}_sex")
    return "population", " AND ".join(filters)


def _quantity_sql(quantity: MeasureQuantity | PopulationQuantity, side: str,
                  parameters: dict[str, object]) -> str:
    """Per base unit and year, the amount one side of a ratio contributes (values bound).

    The whole resident population comes from the age-sex detail where a unit has it, else
    from its total (``population_totals``): a census giving totals alone feeds
    per-inhabitant indicators."""
    table, condition = _quantity_filter(quantity, side, parameters)
    amount = "value" if table == "admin_measures" else "population"
    detail = (f"SELECT territory_code AS commune_code, year, sum({amount}) AS amount "
              f"FROM {table} WHERE {condition} GROUP BY ALL")
    if isinstance(quantity, MeasureQuantity) or quantity.detailed:
        return detail
    return (f"SELECT commune_code, year, coalesce(d.amount, t.amount) AS amount "
            f"FROM ({detail}) d FULL JOIN (SELECT territory_code AS commune_code, year, "
            f"population AS amount FROM population_totals) t USING (commune_code, year)")


def unavailable(spec: AdminRatio, options: ComputeOptions) -> tuple[str, str] | None:
    """Why the project's population cannot give this ratio's sides, if it cannot (English,
    French)."""
    for side in (spec.numerator, spec.denominator):
        if not isinstance(side, PopulationQuantity):
            continue
        missing = [b for b in side.age_groups if b not in (options.age_bands or ())]
        if missing:
            bands = (", ".join(options.age_bands) if options.age_bands else "none")
            bands_fr = bands if options.age_bands else "aucune"
            return (f"needs the population aged {', '.join(missing)}, a band the project's "
                    f"population does not give (its age bands: {bands})",
                    f"demande la population des {', '.join(missing)} ans, une tranche que la "
                    f"population du projet ne donne pas (ses tranches d'âge : {bands_fr})")
        if side.sex is not None and not options.population_sex:
            return ("needs the population by sex, which the project's population does not give",
                    "demande la population par sexe, que la population du projet ne donne pas")
    return None


def plan(con: duckdb.DuckDBPyConnection, indicator: Indicator,
         options: ComputeOptions) -> IndicatorPlan:
    """Ratio of sums over the member communes that report both sides (coverage is recorded)."""
    spec = indicator.computation
    assert isinstance(spec, AdminRatio)
    reason = unavailable(spec, options)
    if reason:
        return IndicatorPlan(indicator, (), unavailable=reason)
    parameters: dict[str, object] = {"indicator": indicator.id, "scale": spec.scale}
    numerator = _quantity_sql(spec.numerator, "numerator", parameters)
    denominator = _quantity_sql(spec.denominator, "denominator", parameters)
    both = "numerator IS NOT NULL AND denominator IS NOT NULL"
    sql = f"""
INSERT INTO _raw_values
WITH numerator_by_commune AS ({numerator}),
     denominator_by_commune AS ({denominator}),
     years AS (SELECT DISTINCT year FROM numerator_by_commune
               UNION SELECT DISTINCT year FROM denominator_by_commune),
     member_communes AS (
         SELECT m.territory_code, m.territory_level, y.year, m.commune_code,
                n.amount AS numerator, d.amount AS denominator
         FROM territory_members m JOIN years y ON {member_in_year("m", "y.year")}
         LEFT JOIN numerator_by_commune n
                ON n.commune_code = m.commune_code AND n.year = y.year
         LEFT JOIN denominator_by_commune d
                ON d.commune_code = m.commune_code AND d.year = y.year)
SELECT $indicator, territory_code, territory_level, year, 'total',
       sum(numerator) FILTER (WHERE {both}),
       sum(denominator) FILTER (WHERE {both}),
       $scale * sum(numerator) FILTER (WHERE {both})
         / nullif(sum(denominator) FILTER (WHERE {both}), 0),
       NULL, NULL, NULL, NULL,
       count(*) FILTER (WHERE {both}), count(*)
FROM member_communes GROUP BY ALL"""
    return IndicatorPlan(indicator, (Statement(
        "ratio of sums over the member communes reporting both sides, by territory and year",
        sql, parameters),))


def run(con: duckdb.DuckDBPyConnection, planned: IndicatorPlan, options: ComputeOptions) -> None:
    for statement in planned.statements:
        statement.run(con)


def _quantity_rows(quantity: MeasureQuantity | PopulationQuantity, side: str,
                   parameters: dict[str, object]) -> str:
    """The source records of one side in the traced year, one row each, lineage kept."""
    table, condition = _quantity_filter(quantity, side, parameters)
    what, amount = (("measure_id", "value") if table == "admin_measures" else
                    ("concat_ws(' ', 'population', sex, age_group)", "population"))
    rows = (f"SELECT source_file, source_row, territory_code AS commune_code, '{side}' AS side, "
            f"{what} AS what, {amount} AS amount FROM {table} "
            f"WHERE {condition} AND year = $year")
    if isinstance(quantity, MeasureQuantity) or quantity.detailed:
        return rows
    return (f"{rows} UNION ALL SELECT source_file, source_row, territory_code, '{side}', "
            f"'population total', population FROM population_totals t WHERE year = $year "
            f"AND NOT EXISTS (SELECT 1 FROM population p WHERE p.territory_code = "
            f"t.territory_code AND p.year = t.year)")


def records(indicator: Indicator, territory: str, level: str, year: int,
            breakdown: tuple[str, str] | None) -> Statement:
    """The measure and population records behind one cell; only communes reporting both
    sides count, as in the ratio."""
    spec = indicator.computation
    assert isinstance(spec, AdminRatio)
    parameters: dict[str, object] = {"territory": territory, "level": level, "year": year}
    numerator = _quantity_rows(spec.numerator, "numerator", parameters)
    denominator = _quantity_rows(spec.denominator, "denominator", parameters)
    sql = f"""
WITH members AS (SELECT commune_code FROM territory_members m
                 WHERE m.territory_code = $territory AND m.territory_level = $level
                   AND {member_in_year("m", "$year")}),
     source_records AS (SELECT * FROM ({numerator}) UNION ALL SELECT * FROM ({denominator})),
     reporting AS (SELECT commune_code FROM source_records GROUP BY commune_code
                   HAVING sum(amount) FILTER (side = 'numerator') IS NOT NULL
                      AND sum(amount) FILTER (side = 'denominator') IS NOT NULL)
SELECT r.source_file, r.source_row, r.commune_code, r.side, r.what, r.amount,
       CASE WHEN r.side = 'numerator' AND p.commune_code IS NOT NULL THEN r.amount END
         AS numerator_part,
       CASE WHEN r.side = 'denominator' AND p.commune_code IS NOT NULL THEN r.amount END
         AS denominator_part,
       FALSE AS counted
FROM source_records r JOIN members USING (commune_code)
LEFT JOIN reporting p USING (commune_code)
ORDER BY r.side DESC, r.source_file, r.source_row"""
    return Statement("records behind the cell", sql, parameters)
