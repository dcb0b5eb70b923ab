"""Home-to-work flows by job skill level (MOBPRO-like).

For each commune: employed residents = employment rate x population; jobs located there =
employment concentration index x employed residents / 100. Residents work in their own
commune at a self-containment rate that depends on the job's skill level; out-commuters go
to the other sample communes of their EPCI (and, rarely, of their region) in proportion to
the jobs there, the rest outside the study area (99999). Jobs not filled by residents of
the sample communes are filled by people living outside the study area (99999).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .population import Population
from .territories import OUTSIDE_CODE, YEARS

QUALIFICATIONS: tuple[str, ...] = ("cadre", "intermediaire", "autre")


@dataclass(frozen=True)
class _Profile:
    employment_rate: float  # employed residents / population
    eci: float  # employment concentration index: jobs x 100 / employed residents
    residents_mix: tuple[float, float]  # share of cadre, intermediaire among employed residents
    jobs_mix: tuple[float, float]  # share of cadre, intermediaire among local jobs
    self_qualified: float  # share of qualified residents working in the commune
    self_other: float  # share of other residents working in the commune
    to_sample: float  # share of out-commuters working in another sample commune


_PROFILES: dict[str, _Profile] = {
    # cities
    "34172": _Profile(0.41, 145, (0.26, 0.29), (0.27, 0.30), 0.66, 0.68, 0.30),
    "56260": _Profile(0.43, 150, (0.20, 0.28), (0.18, 0.29), 0.62, 0.66, 0.35),
    "63113": _Profile(0.42, 148, (0.24, 0.29), (0.25, 0.30), 0.64, 0.66, 0.30),
    "78361": _Profile(0.40, 100, (0.08, 0.20), (0.12, 0.25), 0.34, 0.42, 0.30),
    "91228": _Profile(0.42, 140, (0.13, 0.25), (0.26, 0.31), 0.48, 0.55, 0.30),
    # peers
    "34057": _Profile(0.44, 80, (0.33, 0.28), (0.26, 0.29), 0.26, 0.32, 0.60),
    "34129": _Profile(0.44, 80, (0.30, 0.28), (0.24, 0.29), 0.26, 0.32, 0.60),
    "56003": _Profile(0.42, 53, (0.33, 0.28), (0.20, 0.26), 0.18, 0.24, 0.65),
    "56087": _Profile(0.41, 70, (0.25, 0.20), (0.12, 0.22), 0.55, 0.60, 0.50),
    "56206": _Profile(0.44, 65, (0.18, 0.30), (0.12, 0.27), 0.22, 0.28, 0.65),
    "56243": _Profile(0.44, 55, (0.22, 0.30), (0.14, 0.27), 0.18, 0.24, 0.65),
    "63014": _Profile(0.41, 78, (0.25, 0.30), (0.24, 0.30), 0.22, 0.28, 0.60),
    "63075": _Profile(0.43, 70, (0.32, 0.28), (0.22, 0.29), 0.22, 0.28, 0.60),
    "63124": _Profile(0.45, 80, (0.17, 0.30), (0.13, 0.28), 0.28, 0.34, 0.55),
    "78335": _Profile(0.43, 75, (0.10, 0.24), (0.09, 0.24), 0.24, 0.30, 0.45),
    "78362": _Profile(0.42, 55, (0.09, 0.22), (0.08, 0.22), 0.18, 0.24, 0.50),
    "91174": _Profile(0.41, 80, (0.11, 0.23), (0.12, 0.25), 0.28, 0.34, 0.40),
    "91286": _Profile(0.40, 53, (0.06, 0.17), (0.06, 0.20), 0.14, 0.20, 0.40),
    "91521": _Profile(0.43, 60, (0.15, 0.27), (0.12, 0.25), 0.18, 0.24, 0.40),
}
_SAME_REGION_AFFINITY = 0.01  # relative pull of sample communes of another EPCI, same region
_FLOW_NOISE_SD = 0.06
_MAX_FILL = 0.97  # at most this share of a commune's jobs held by residents of sample communes


def generate_commuting(
    rng: np.random.Generator, population: Population
) -> list[tuple[int, str, str, str, float]]:
    """Rows (ANNEE, COMMUNE_RESIDENCE, COMMUNE_TRAVAIL, QUALIFICATION, IPONDI), sorted, with
    IPONDI rounded to 2 decimals; flows below 1 are omitted."""
    communes = population.communes
    codes = [c.code for c in communes]
    n = len(codes)
    prof = [_PROFILES[c] for c in codes]
    same_epci = np.array([[a.epci == b.epci for b in communes] for a in communes])
    same_region = np.array([[a.region == b.region for b in communes] for a in communes])
    affinity = np.where(same_epci, 1.0, np.where(same_region, _SAME_REGION_AFFINITY, 0.0))
    np.fill_diagonal(affinity, 0.0)

    def mix(pair: tuple[float, float]) -> np.ndarray:
        return np.array([pair[0], pair[1], 1.0 - pair[0] - pair[1]])

    res_mix = np.array([mix(p.residents_mix) for p in prof])  # (n, 3)
    job_mix = np.array([mix(p.jobs_mix) for p in prof])
    self_rate = np.array([[p.self_qualified] * 2 + [p.self_other] for p in prof])
    to_sample = np.array([p.to_sample for p in prof])
    emp_rate = np.array([p.employment_rate for p in prof]) * np.exp(rng.normal(0, 0.01, n))
    eci = np.array([p.eci for p in prof]) * np.exp(rng.normal(0, 0.02, n))

    rows: list[tuple[int, str, str, str, float]] = []
    total_pop = population.total().astype(float)
    for y, year in enumerate(YEARS):
        if y > 0:
            emp_rate = emp_rate * np.exp(rng.normal(0, 0.005, n))
            eci = eci * np.exp(rng.normal(0, 0.015, n))
        employed = emp_rate * total_pop[:, y]
        jobs = employed * eci / 100.0
        e_q = employed[:, None] * res_mix  # (n, 3) employed residents by skill level
        j_q = jobs[:, None] * job_mix  # (n, 3) local jobs by skill level
        # flows[i, j, q] between sample communes (i residence, j workplace)
        flows = np.zeros((n, n, 3))
        stay = np.minimum(self_rate * e_q, 0.9 * j_q)
        flows[np.arange(n), np.arange(n)] = stay
        out = e_q - stay
        for q in range(3):
            pull = affinity * j_q[None, :, q]
            share = pull / pull.sum(axis=1, keepdims=True)
            flows[:, :, q] += (out[:, q] * to_sample)[:, None] * share
        off_diagonal = ~np.eye(n, dtype=bool)
        noise = np.exp(rng.normal(0, _FLOW_NOISE_SD, flows.shape))
        flows = np.where(off_diagonal[:, :, None], flows * noise, flows)
        # keep inflows within the jobs available (the excess works outside the study area)
        inflow = flows.sum(axis=0)  # (j, q)
        incoming = inflow - flows[np.arange(n), np.arange(n)]
        room = np.maximum(_MAX_FILL * j_q - flows[np.arange(n), np.arange(n)], 0.0)
        scale = np.where(incoming > room, room / np.maximum(incoming, 1e-9), 1.0)
        flows = np.where(off_diagonal[:, :, None], flows * scale[None, :, :], flows)
        to_outside = e_q - flows.sum(axis=1)  # residents working outside (i, q)
        from_outside = j_q - flows.sum(axis=0)  # jobs held by non-residents of the area (j, q)
        if (to_outside < -1e-6).any() or (from_outside < -1e-6).any():
            raise ValueError("inconsistent commuting profile")

        for i in range(n):
            for q, qual in enumerate(QUALIFICATIONS):
                for j in range(n):
                    rows.append((year, codes[i], codes[j], qual, flows[i, j, q]))
                rows.append((year, codes[i], OUTSIDE_CODE, qual, to_outside[i, q]))
                rows.append((year, OUTSIDE_CODE, codes[i], qual, from_outside[i, q]))
    rounded = [(y, r, w, q, round(float(v), 2)) for y, r, w, q, v in rows]
    return sorted(r for r in rounded if r[4] >= 1.0)
