"""Territorial membership: which communes make up each territory, at every level.

Every indicator is computed for every territory through one table, ``territory_members``
(territory × member commune), so aggregation is never an average of rates: ratios sum their
numerators and denominators over the members, survey estimates pool the members' respondents,
commuting indicators place both ends of each flow. A member counts only in the years its code
is valid (communes merge: Courcouronnes joined Évry-Courcouronnes in 2019).
"""

from __future__ import annotations

import duckdb

LEVELS = ("COM", "EPCI", "DEP", "REG", "GROUP")

MEMBERSHIP_SQL = """
CREATE OR REPLACE TABLE territory_members AS
WITH communes AS (SELECT * FROM territories WHERE level = 'COM')
SELECT territory_code, 'COM' AS territory_level, name AS territory_name,
       territory_code AS commune_code, valid_from, valid_to FROM communes
UNION ALL
SELECT e.territory_code, 'EPCI', e.name, c.territory_code, c.valid_from, c.valid_to
FROM communes c JOIN territories e ON e.level = 'EPCI' AND e.territory_code = c.epci_code
UNION ALL
SELECT d.territory_code, 'DEP', d.name, c.territory_code, c.valid_from, c.valid_to
FROM communes c JOIN territories d ON d.level = 'DEP' AND d.territory_code = c.departement_code
UNION ALL
SELECT r.territory_code, 'REG', r.name, c.territory_code, c.valid_from, c.valid_to
FROM communes c JOIN territories r ON r.level = 'REG' AND r.territory_code = c.region_code
UNION ALL
SELECT g.group_code, 'GROUP', g.group_name_en, g.member_code, c.valid_from, c.valid_to
FROM territory_groups g JOIN communes c ON c.territory_code = g.member_code
ORDER BY 2, 1, 4
"""


def member_in_year(member: str, year: str) -> str:
    """SQL: the member commune's code is valid in that year."""
    return (f"({member}.valid_from IS NULL OR {member}.valid_from <= {year}) AND "
            f"({member}.valid_to IS NULL OR {member}.valid_to >= {year})")


def build_membership(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``territory_members`` from the ``territories`` and ``territory_groups`` tables."""
    con.execute(MEMBERSHIP_SQL)
