"""Covariances between pairs of domains, from the same scan as the domains' estimates.

Two estimates that rest on the same PSUs are correlated: a commune and the département it
belongs to share respondents; the same PSUs surveyed again next year share their random
effect. The variance of their difference is V1 + V2 - 2 C, where C is the design covariance
of the two linearised totals: per stratum, f n/(n - 1) (sum_i a_i b_i - A B / n) over its n
PSUs, a_i and b_i the two domains' PSU totals, A and B their sums. This is the off-diagonal
term of R's ``svyby(..., covmat = TRUE)`` that ``svycontrast`` reads; with the pooled data
of both estimates in one design, R's contrast gives V1 + V2 - 2 C exactly.

A ``link`` relation names which units are the same PSU across the pair: by default a unit is
itself (domains of one design, such as a territory and its reference); for a change between
years, a PSU of one year's stratum is linked to the PSU of the same code in the other year's.
Linked strata must hold the same PSUs (the same number, all linked): a stratum whose PSUs
were replaced is an independent sample and adds no covariance, so independent years remain
the rule where PSUs differ.

Only one-stage designs are covered (the pipelines' design); a single-PSU stratum follows
``lonely_psu`` as in the variance (``adjust``: uncentred product; ``certainty``, ``remove``,
``fail``: nothing), and ``average``, which rescales each variance by its own strata, has no
covariance: it comes back NULL and the caller tests the pair as independent.
"""

from __future__ import annotations

from dataclasses import dataclass

from indicators.survey.design import CERTAINTY_TOLERANCE, DesignLayout

_TOL = repr(CERTAINTY_TOLERANCE)


@dataclass(frozen=True)
class Pairs:
    """Pairs of domains of one query, by their numbers in its ``domains`` relation.

    ``sql`` selects ``_first`` and ``_second`` (the domains' ``_domain`` numbers) from ``domains``
    (keys ``_d0``, ``_d1``, … in the order of ``by``) and from any relation the caller's
    connection holds. ``link``, when given, is a relation with columns ``_h``, ``_p`` (a
    unit as the design names it) and ``link_p`` (the PSU it is the same as across the pair;
    two strata are the same stratum when all their PSUs are linked, as many on each side).
    Both are written by the caller's code, never by a user.
    """

    sql: str
    link: str | None = None


def supported(layout: DesignLayout) -> bool:
    """Covariances need PSUs, one stage, and a lonely-PSU rule that is bilinear."""
    return layout.psu is not None and not layout.second_stage and layout.lonely != "average"


def pair_ctes(layout: DesignLayout, pairs: Pairs,
              values: str = "unit_values") -> list[tuple[str, str]]:
    """CTEs ending in ``pair_covariances``: ``_d1``, ``_d2``, ``cov`` (0 when nothing is
    shared), ``shared_psus`` and ``shared_strata`` (linked PSUs and strata where both
    domains have rows of nonzero weight, for the pair's degrees of freedom).

    Reads ``values`` (one row per domain and unit it has values in: ``unit_values``, or a
    calibrated design's residuals), ``psu_counts`` and ``strata`` of the domain query.
    """
    link = pairs.link or "(SELECT _h, _p, _p AS link_p FROM psu_counts)"
    single = {"adjust": "s.f * coalesce(c.sab, 0)"}.get(layout.lonely, "0.0")
    return [
        ("pair_list", f"SELECT DISTINCT _first AS _a, _second AS _b FROM ({pairs.sql})"),
        ("unit_link", f"SELECT _h, _p, link_p FROM {link}"),
        # Strata of the two sides that are the same stratum: every PSU linked, as many.
        ("linked_strata",
         "SELECT m.h1, m.h2, s1.n_h AS n, s1.f1 AS f FROM "
         "(SELECT a._h AS h1, b._h AS h2, count(*) AS m FROM unit_link a JOIN unit_link b "
         " ON a.link_p = b.link_p GROUP BY ALL) AS m "
         "JOIN strata s1 ON s1._h = m.h1 JOIN strata s2 ON s2._h = m.h2 "
         "WHERE m.m = s1.n_h AND m.m = s2.n_h AND s1.f1 = s2.f1"),
        ("linked_units",
         "SELECT u._domain, u._h, u._p, l.link_p, u.z, u.nz "
         f"FROM {values} u JOIN unit_link l USING (_h, _p) "
         "WHERE u._domain IN (SELECT _a FROM pair_list UNION SELECT _b FROM pair_list)"),
        ("stratum_sums",
         "SELECT _domain, _h, sum(z) AS zt FROM linked_units GROUP BY _domain, _h"),
        ("pair_cross",
         "SELECT p._a, p._b, a._h AS h1, b._h AS h2, sum(a.z * b.z) AS sab, "
         "count_if(a.nz AND b.nz) AS shared FROM pair_list p "
         "JOIN linked_units a ON a._domain = p._a "
         "JOIN linked_units b ON b._domain = p._b AND b.link_p = a.link_p GROUP BY ALL"),
        ("pair_strata",
         "SELECT p._a, p._b, a._h AS h1, b._h AS h2, a.zt AS ta, b.zt AS tb, s.n, s.f "
         "FROM pair_list p JOIN stratum_sums a ON a._domain = p._a "
         "JOIN linked_strata s ON s.h1 = a._h "
         "JOIN stratum_sums b ON b._domain = p._b AND b._h = s.h2"),
        ("pair_covariances",
         "SELECT s._a AS _d1, s._b AS _d2, "
         f"sum(CASE WHEN s.f < {_TOL} THEN 0.0 "
         "WHEN s.n > 1 THEN s.f * s.n / (s.n - 1) * (coalesce(c.sab, 0) - s.ta * s.tb / s.n) "
         f"ELSE {single} END) AS cov, "
         "CAST(coalesce(sum(c.shared), 0) AS BIGINT) AS shared_psus, "
         "CAST(count_if(c.shared > 0) AS BIGINT) AS shared_strata "
         "FROM pair_strata s LEFT JOIN pair_cross c ON c._a = s._a AND c._b = s._b "
         "AND c.h1 = s.h1 AND c.h2 = s.h2 GROUP BY ALL"),
    ]
