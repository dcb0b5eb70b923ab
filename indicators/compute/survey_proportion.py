"""Survey-based indicators: design-based proportions for every territory, year and breakdown.

A territory's estimate pools the respondents of its member communes while keeping the whole
sampling design (strata, PSUs, weights): each territory is a domain of one design, so the
variance is the one R's ``svyby`` would give. Strata are taken within survey year, so the two
years are independent samples.
"""

from __future__ import annotations

import duckdb

from indicators.catalogue.definitions import Indicator, SurveyProportion
from indicators.survey.estimators import SurveyDesign, survey_proportion
from indicators.territories import member_in_year

POOLED_RESPONSES = f"""
SELECT m.territory_code AS _territory, r.*, r.year || '/' || r.stratum AS _stratum,
       r.year || '/' || r.stratum || '/' || r.psu AS _psu
FROM survey_responses r JOIN territory_members m ON m.commune_code = r.territory_code
     AND {member_in_year("m", "r.year")}
"""
PERCENT = 100.0


def survey_proportion_rows(
    con: duckdb.DuckDBPyConnection, indicator: Indicator, spec: SurveyProportion,
    lonely_psu: str = "fail",
) -> None:
    """Insert one raw row per territory × year (× breakdown) into ``_raw_values``.

    Without survey microdata (a project may have none) there is nothing to estimate.
    """
    if not con.execute("SELECT count(*) FROM survey_responses").fetchall()[0][0]:
        return
    design = SurveyDesign(source=POOLED_RESPONSES, weights="weight", strata="_stratum",
                          psu=("_psu",), lonely_psu=lonely_psu)
    breakdowns: list[tuple[str, ...]] = [("_territory", "year")]
    breakdowns += [("_territory", "year", b) for b in indicator.breakdowns]
    rows = []
    for by in breakdowns:
        estimates = survey_proportion(
            con, design, spec.condition, by=by, where=spec.population, na_rm=True, ci="logit"
        )
        for e in estimates:
            label = "total" if len(by) == 2 else f"{by[2]}={e.by[by[2]]}"
            rows.append((
                indicator.id, e.by["_territory"], int(e.by["year"]), label,
                e.estimate * e.sum_weights, e.sum_weights, PERCENT * e.estimate,
                PERCENT * e.se, PERCENT * e.ci_low, PERCENT * e.ci_high, e.n, None, None,
            ))
    if rows:
        con.executemany(f"INSERT INTO _raw_values VALUES ({', '.join(['?'] * 13)})", rows)
