"""Municipal population by sex and age band (INSEE-like estimates)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .territories import YEARS, Commune, data_communes

AGE_BANDS: tuple[str, ...] = (
    "00-14",
    "15-17",
    "18-24",
    "25-34",
    "35-44",
    "45-54",
    "55-64",
    "65-69",
    "70+",
)
ADULT_BANDS = slice(2, 8)  # 18-24 .. 65-69: the survey population aged 18-69
WORKING_AGE_BANDS = slice(1, 7)  # 15-17 .. 55-64: population aged 15-64
SEXES: tuple[str, ...] = ("1", "2")  # INSEE coding: 1 men, 2 women

# Age structures (per cent, each sums to 100), by type of commune.
_PROFILES: dict[str, tuple[float, ...]] = {
    "student": (14.5, 3.0, 16.5, 16.0, 11.5, 10.5, 10.0, 5.0, 13.0),
    "young_suburb": (24.0, 4.5, 10.0, 14.0, 13.5, 11.5, 9.5, 4.0, 9.0),
    "family_suburb": (17.5, 3.7, 8.3, 11.5, 12.5, 13.0, 12.7, 6.0, 14.8),
    "older": (14.5, 3.3, 8.0, 10.5, 11.0, 12.5, 13.7, 7.5, 19.0),
    "island": (8.0, 2.0, 3.0, 5.0, 7.0, 11.0, 18.0, 14.0, 32.0),
}

_COMMUNE_PROFILE: dict[str, str] = {
    "34057": "family_suburb",
    "34129": "family_suburb",
    "34172": "student",
    "56003": "older",
    "56087": "island",
    "56206": "family_suburb",
    "56243": "older",
    "56260": "older",
    "63014": "student",
    "63075": "older",
    "63113": "student",
    "63124": "family_suburb",
    "78335": "young_suburb",
    "78361": "young_suburb",
    "78362": "young_suburb",
    "91174": "young_suburb",
    "91228": "young_suburb",
    "91286": "young_suburb",
    "91521": "young_suburb",
}

# Share of women by age band (before a small commune-level perturbation).
_WOMEN_SHARE = np.array([0.488, 0.490, 0.505, 0.507, 0.512, 0.512, 0.522, 0.535, 0.595])


@dataclass(frozen=True)
class Population:
    """counts[commune, year, sex, band] for data_communes() x YEARS x SEXES x AGE_BANDS."""

    communes: tuple[Commune, ...]
    counts: np.ndarray

    def index(self, code: str) -> int:
        return [c.code for c in self.communes].index(code)

    def total(self) -> np.ndarray:
        """Total population, shape (commune, year)."""
        return self.counts.sum(axis=(2, 3))

    def adults_18_69(self) -> np.ndarray:
        """Population aged 18-69, shape (commune, year)."""
        return self.counts[:, :, :, ADULT_BANDS].sum(axis=(2, 3))

    def by_band(self) -> np.ndarray:
        """Population by age band, both sexes, shape (commune, year, band)."""
        return self.counts.sum(axis=2)

    def total_rows(self) -> list[tuple[str, int, int]]:
        """Legal population per commune and year (COM, ANNEE, PMUN), sorted."""
        totals = self.total()
        return [(c.code, year, int(totals[i, y])) for i, c in enumerate(self.communes)
                for y, year in enumerate(YEARS)]

    def rows(self) -> list[tuple[str, int, str, str, int]]:
        """Long rows (CODGEO, ANNEE, SEXE, TRANCHE_AGE, POP), sorted."""
        out = []
        for i, c in enumerate(self.communes):
            for y, year in enumerate(YEARS):
                for s, sex in enumerate(SEXES):
                    for b, band in enumerate(AGE_BANDS):
                        out.append((c.code, year, sex, band, int(self.counts[i, y, s, b])))
        return out


def _largest_remainder(expected: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative expected counts to integers summing exactly to total."""
    scaled = expected * (total / expected.sum())
    floor = np.floor(scaled).astype(np.int64)
    missing = total - int(floor.sum())
    order = np.argsort(-(scaled - floor), kind="stable")
    floor[order[:missing]] += 1
    return floor


def generate_population(rng: np.random.Generator) -> Population:
    communes = tuple(data_communes())
    counts = np.zeros((len(communes), len(YEARS), 2, len(AGE_BANDS)), dtype=np.int64)
    for i, c in enumerate(communes):
        shares = np.array(_PROFILES[_COMMUNE_PROFILE[c.code]]) / 100.0
        shares = shares * np.exp(rng.normal(0.0, 0.04, size=shares.size))
        women = np.clip(_WOMEN_SHARE + rng.normal(0.0, 0.005, size=shares.size), 0.45, 0.65)
        cells = np.stack([shares * (1 - women), shares * women])
        total = c.population
        growth = float(np.clip(rng.normal(0.003, 0.004), -0.009, 0.009))
        for y in range(len(YEARS)):
            if y > 0:
                total = int(round(total * (1 + growth)))
                cells = cells * np.exp(rng.normal(0.0, 0.01, size=cells.shape))
            counts[i, y] = _largest_remainder(cells.ravel(), total).reshape(cells.shape)
    return Population(communes=communes, counts=counts)
