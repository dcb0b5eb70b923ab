"""Adult-education survey microdata (modelled on the EU Adult Education Survey).

Design: stratified two-stage sample. Strata are area types within a commune and year
(city centre, priority neighbourhood, residential areas, campus); PSUs are neighbourhood
blocks, the same blocks in both years. Weights are stratum population / stratum sample
size, times a mild non-response adjustment, calibrated to the commune's population 18-69.
Outcomes follow logistic models with age, education, labour status, sex, commune, year,
a PSU random effect (hence design effects > 1) and an individual learning propensity.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .population import ADULT_BANDS, AGE_BANDS, Population
from .territories import YEARS

SURVEY_BANDS: tuple[str, ...] = AGE_BANDS[ADULT_BANDS]  # 18-24 .. 65-69
_BAND_LOW = np.array([18, 25, 35, 45, 55, 65])
_BAND_WIDTH = np.array([7, 10, 10, 10, 10, 5])

STATUSES: tuple[str, ...] = ("employed", "unemployed", "student", "retired", "inactive")
ITEMS: tuple[str, ...] = (
    "FED12",
    "NFE12",
    "GOJT12",
    "INF12",
    "DIGSKILL",
    "BENEVOLAT",
    "BIBLIO",
    "ENVIRO",
    "ATELIER",
    "INTENTION",
    "BESOIN",
)

# Strata: code -> ((area type, share of the commune's population, oversampling factor), ...)
# CEN city centre, QPV priority neighbourhoods (quartiers prioritaires), RES residential
# areas, UNI university campus area, ENS whole commune.
_STRATA: dict[str, tuple[tuple[str, float, float], ...]] = {
    "34172": (("CEN", 0.30, 1.0), ("QPV", 0.20, 1.4), ("RES", 0.35, 1.0), ("UNI", 0.15, 0.8)),
    "56260": (("CEN", 0.40, 1.0), ("QPV", 0.12, 1.5), ("RES", 0.48, 1.0)),
    "63113": (("CEN", 0.35, 1.0), ("QPV", 0.15, 1.4), ("RES", 0.50, 1.0)),
    "78361": (("CEN", 0.45, 1.0), ("QPV", 0.55, 1.2)),
    "91174": (("CEN", 0.60, 1.0), ("QPV", 0.40, 1.2)),
    "91228": (("CEN", 0.40, 1.0), ("QPV", 0.35, 1.3), ("RES", 0.25, 1.0)),
    "91286": (("QPV", 1.00, 1.0),),
}
_WHOLE = (("ENS", 1.0, 1.0),)

# Sample design: code -> (min n, max n per year, number of PSUs in the commune)
_DESIGN: dict[str, tuple[int, int, int]] = {
    "34057": (330, 400, 10),
    "34129": (240, 300, 8),
    "34172": (2100, 2400, 60),
    "56003": (60, 90, 4),
    "56087": (20, 25, 2),
    "56206": (170, 220, 6),
    "56243": (150, 190, 6),
    "56260": (1500, 1800, 28),
    "63014": (160, 210, 6),
    "63075": (230, 290, 8),
    "63113": (1800, 2200, 40),
    "63124": (270, 330, 8),
    "78335": (220, 280, 8),
    "78361": (1500, 1750, 24),
    "78362": (270, 330, 8),
    "91174": (500, 600, 12),
    "91228": (1550, 1900, 32),
    "91286": (360, 440, 10),
    "91521": (380, 460, 10),
}

# Commune effects: (education latent shift, learning propensity, unemployment multiplier)
_COMMUNE_EFFECTS: dict[str, tuple[float, float, float]] = {
    "34057": (0.45, 0.20, 0.8),
    "34129": (0.30, 0.15, 0.9),
    "34172": (0.25, 0.22, 1.3),
    "56003": (0.50, 0.15, 0.6),
    "56087": (0.30, 0.00, 0.7),
    "56206": (0.05, 0.00, 0.7),
    "56243": (0.15, 0.05, 0.7),
    "56260": (0.05, 0.05, 0.8),
    "63014": (0.20, 0.10, 0.9),
    "63075": (0.45, 0.20, 0.8),
    "63113": (0.20, 0.12, 1.0),
    "63124": (0.00, 0.00, 0.8),
    "78335": (-0.35, -0.20, 1.2),
    "78361": (-0.45, -0.25, 1.5),
    "78362": (-0.35, -0.20, 1.3),
    "91174": (-0.30, -0.15, 1.4),
    "91228": (-0.15, -0.08, 1.3),
    "91286": (-0.70, -0.30, 1.7),
    "91521": (-0.15, -0.05, 1.1),
}
# Change of learning propensity from 2023 to 2024 (peers not listed: drawn at random).
_YEAR_DELTA: dict[str, float] = {
    "34172": 0.18,
    "56260": 0.16,
    "63113": 0.12,
    "78361": 0.06,
    "91228": 0.15,
}

# Area type effects: (education shift, unemployment multiplier, age tilt over SURVEY_BANDS)
_AREA_EFFECTS: dict[str, tuple[float, float, tuple[float, ...]]] = {
    "CEN": (0.20, 0.9, (1.10, 1.25, 1.00, 0.95, 0.95, 0.95)),
    "QPV": (-0.60, 1.8, (1.20, 1.10, 1.05, 0.95, 0.85, 0.80)),
    "RES": (0.10, 0.8, (0.85, 0.90, 1.05, 1.10, 1.10, 1.10)),
    "UNI": (0.40, 0.9, (3.00, 1.40, 0.80, 0.70, 0.60, 0.60)),
    "ENS": (0.00, 1.0, (1.00, 1.00, 1.00, 1.00, 1.00, 1.00)),
}

# Labour status probabilities by age band (employed, unemployed, student, retired, inactive).
_STATUS_BASE = np.array(
    [
        [0.36, 0.09, 0.48, 0.000, 0.07],
        [0.76, 0.09, 0.05, 0.000, 0.10],
        [0.82, 0.07, 0.01, 0.000, 0.10],
        [0.82, 0.06, 0.005, 0.005, 0.11],
        [0.56, 0.05, 0.000, 0.300, 0.09],
        [0.08, 0.005, 0.000, 0.880, 0.035],
    ]
)

# ISCED: thresholds of the ordinal latent (standard normal scale) for levels 0..8,
# giving roughly 1/4/13/33/4/12/15/16/2 % before the age and area shifts.
_ISCED_CUTS = np.array([-2.326, -1.645, -0.915, 0.025, 0.126, 0.440, 0.915, 2.054])
_ISCED_AGE = np.array([-0.30, 0.35, 0.25, 0.00, -0.35, -0.55])
# Highest level reachable by age: (maximum age excluded, highest level)
_ISCED_AGE_CAPS = ((21, 3), (22, 5), (23, 6), (26, 7))

# Item models. Per item: intercept, age effects (6 bands), slope per ISCED level above 3,
# status effects (5), women effect, loading on the learning propensity, share missing.
_ITEM_MODELS: dict[str, dict] = {
    "FED12": dict(
        a=-3.3,
        age=(0.8, 0.3, 0.0, -0.4, -1.0, -1.6),
        isced=0.10,
        status=(0.0, 0.3, 5.6, -1.5, -0.3),
        women=0.10,
        load=0.5,
        missing=0.004,
    ),
    "NFE12": dict(
        a=-1.05,
        age=(0.0, 0.15, 0.15, 0.0, -0.45, -1.1),
        isced=0.22,
        status=(0.55, 0.15, -0.2, -0.7, -0.8),
        women=0.05,
        load=1.0,
        missing=0.006,
    ),
    "GOJT12": dict(
        a=-1.5,
        age=(0.2, 0.2, 0.1, 0.0, -0.3, -0.6),
        isced=0.12,
        status=(0.0, -2.8, -2.5, -4.0, -3.5),
        women=-0.05,
        load=0.8,
        missing=0.008,
    ),
    "INF12": dict(
        a=0.55,
        age=(0.2, 0.15, 0.05, 0.0, -0.15, -0.3),
        isced=0.20,
        status=(0.1, 0.0, 0.4, -0.2, -0.3),
        women=0.0,
        load=0.7,
        missing=0.015,
    ),
    "DIGSKILL": dict(
        a=0.3,
        age=(1.0, 0.8, 0.4, 0.0, -0.5, -0.9),
        isced=0.40,
        status=(0.2, 0.0, 0.5, -0.2, -0.3),
        women=-0.05,
        load=0.5,
        missing=0.02,
    ),
    "BENEVOLAT": dict(
        a=-1.45,
        age=(0.1, -0.1, 0.0, 0.0, 0.1, 0.3),
        isced=0.12,
        status=(-0.1, -0.1, 0.1, 0.35, 0.1),
        women=0.0,
        load=0.4,
        missing=0.01,
    ),
    "BIBLIO": dict(
        a=-1.5,
        age=(0.4, 0.1, 0.2, 0.0, -0.1, 0.0),
        isced=0.20,
        status=(0.0, 0.1, 0.7, 0.1, 0.0),
        women=0.35,
        load=0.6,
        missing=0.005,
    ),
    "ENVIRO": dict(
        a=-1.9,
        age=(0.25, 0.25, 0.1, 0.0, -0.1, -0.2),
        isced=0.18,
        status=(0.0, 0.0, 0.3, 0.0, -0.2),
        women=0.1,
        load=0.6,
        missing=0.02,
    ),
    "ATELIER": dict(
        a=-2.6,
        age=(0.1, 0.2, 0.2, 0.0, -0.1, -0.1),
        isced=0.10,
        status=(0.0, 0.1, 0.2, 0.1, 0.0),
        women=-0.05,
        load=0.6,
        missing=0.01,
    ),
    "INTENTION": dict(
        a=-1.2,
        age=(0.3, 0.3, 0.1, 0.0, -0.4, -0.9),
        isced=0.10,
        status=(0.0, 0.6, 0.3, -1.2, -0.4),
        women=0.05,
        load=0.8,
        missing=0.04,
    ),
    "BESOIN": dict(
        a=-1.9,
        age=(0.1, 0.2, 0.2, 0.0, -0.3, -0.8),
        isced=0.05,
        status=(0.0, 0.5, -0.2, -1.0, 0.0),
        women=0.15,
        load=0.3,
        missing=0.05,
    ),
}
# Extra effect of having taken part in formal or non-formal learning on these items.
_PARTICIPATION_EFFECT = {"INTENTION": 1.2, "BESOIN": -0.5}
# Commune-specific extras (library network, associative life, fablabs...), on top of the
# random commune x item effects.
_ITEM_COMMUNE_EXTRA: dict[tuple[str, str], float] = {
    ("BENEVOLAT", "56260"): 0.15,
    ("BENEVOLAT", "56243"): 0.15,
    ("BIBLIO", "34172"): 0.20,
    ("ATELIER", "34172"): 0.25,
    ("ENVIRO", "56260"): 0.20,
    ("DIGSKILL", "78361"): -0.20,
    ("DIGSKILL", "91286"): -0.25,
}

PSU_SD = 0.35  # PSU random effect on the learning propensity
PSU_ITEM_SD = 0.15  # PSU x item random effect
PERSON_SD = 0.7  # individual learning propensity
WEIGHT_NONRESPONSE_SD = 0.15
WEIGHT_DECIMALS = 6


def _split(total: int, shares: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Integers >= minimum, summing to total, roughly proportional to shares."""
    extra = total - int(minimum.sum())
    if extra < 0:
        raise ValueError("sample too small for the design")
    scaled = shares / shares.sum() * extra
    out = np.floor(scaled).astype(np.int64)
    order = np.argsort(-(scaled - out), kind="stable")
    out[order[: extra - int(out.sum())]] += 1
    return out + minimum


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _draw_categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(probs))
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def generate_survey(rng: np.random.Generator, population: Population) -> pa.Table:
    communes = population.communes
    codes = [c.code for c in communes]
    adults = population.adults_18_69()  # (commune, year)
    # Sex x band distribution of the population 18-69: (commune, year, 12)
    adult_cells = population.counts[:, :, :, ADULT_BANDS].astype(float)

    # ---- design: strata, PSUs and sample sizes ---------------------------------------
    psu_labels: list[str] = []
    psu_of_area: dict[tuple[int, str], list[int]] = {}
    for i, code in enumerate(codes):
        strata = _STRATA.get(code, _WHOLE)
        n_psu = _DESIGN[code][2]
        counts = _split(n_psu, np.array([s[1] * s[2] for s in strata]), np.full(len(strata), 2))
        for (area, _, _), k in zip(strata, counts, strict=True):
            ids = list(range(len(psu_labels), len(psu_labels) + k))
            psu_labels.extend(f"{code}-{area}-{j + 1:03d}" for j in range(k))
            psu_of_area[(i, area)] = ids
    n_psus = len(psu_labels)
    psu_effect = rng.normal(0.0, PSU_SD, n_psus)
    psu_edu = rng.normal(0.0, 0.30, n_psus)
    psu_item = rng.normal(0.0, PSU_ITEM_SD, (n_psus, len(ITEMS)))
    commune_item = rng.normal(0.0, 0.12, (len(codes), len(ITEMS)))
    year_delta = np.array([_YEAR_DELTA.get(code, float(rng.normal(0.04, 0.08))) for code in codes])

    strata_labels: list[str] = []
    strata_area: list[str] = []
    strata_pop: list[float] = []
    r_year, r_com, r_stratum, r_psu = [], [], [], []
    for y, year in enumerate(YEARS):
        for i, code in enumerate(codes):
            strata = _STRATA.get(code, _WHOLE)
            low, high, _ = _DESIGN[code]
            n = int(rng.integers(low, high + 1))
            mins = np.array([2 * len(psu_of_area[(i, a)]) for a, _, _ in strata])
            n_by_stratum = _split(n, np.array([s[1] * s[2] for s in strata]), mins)
            for (area, share, _), n_s in zip(strata, n_by_stratum, strict=True):
                s_idx = len(strata_labels)
                strata_labels.append(f"{year}-{code}-{area}")
                strata_area.append(area)
                strata_pop.append(adults[i, y] * share)
                psus = psu_of_area[(i, area)]
                # cluster takes: at least 2 respondents per PSU, the rest spread unevenly
                extra = rng.multinomial(n_s - 2 * len(psus), rng.dirichlet(np.full(len(psus), 4)))
                takes = extra + 2
                r_psu.append(np.repeat(psus, takes))
                r_year.append(np.full(n_s, y))
                r_com.append(np.full(n_s, i))
                r_stratum.append(np.full(n_s, s_idx))
    year_i = np.concatenate(r_year)
    com = np.concatenate(r_com)
    stratum = np.concatenate(r_stratum)
    psu = np.concatenate(r_psu)
    n_total = len(year_i)
    area = np.array(strata_area)[stratum]
    area_codes = sorted(_AREA_EFFECTS)
    area_i = np.searchsorted(area_codes, area)
    area_edu = np.array([_AREA_EFFECTS[a][0] for a in area_codes])[area_i]
    area_unemp = np.array([_AREA_EFFECTS[a][1] for a in area_codes])[area_i]
    area_tilt = np.array([_AREA_EFFECTS[a][2] for a in area_codes])[area_i]  # (n, 6)

    # ---- sex, age ---------------------------------------------------------------------
    cells = adult_cells[com, year_i] * area_tilt[:, None, :]  # (n, 2, 6)
    cell = _draw_categorical(rng, cells.reshape(n_total, 12))
    sex_i = cell // 6
    band = cell % 6
    age = _BAND_LOW[band] + (rng.random(n_total) * _BAND_WIDTH[band]).astype(np.int64)
    women = sex_i == 1

    # ---- education --------------------------------------------------------------------
    com_edu = np.array([_COMMUNE_EFFECTS[c][0] for c in codes])[com]
    latent = (
        -0.15 + com_edu + area_edu + _ISCED_AGE[band] + psu_edu[psu] + rng.normal(0, 1, n_total)
    )
    isced = np.searchsorted(_ISCED_CUTS * 1.15, latent)
    for max_age, level in _ISCED_AGE_CAPS:
        isced = np.where(age < max_age, np.minimum(isced, level), isced)

    # ---- labour status ----------------------------------------------------------------
    mult = np.ones((n_total, 5))
    low_edu = isced <= 2
    high_edu = isced >= 5
    mult[low_edu] *= [0.7, 1.8, 0.6, 1.0, 1.6]
    mult[high_edu] *= [1.12, 0.6, 1.1, 1.0, 0.6]
    com_unemp = np.array([_COMMUNE_EFFECTS[c][2] for c in codes])[com]
    mult[:, 1] *= 0.85 * com_unemp * area_unemp
    mult[:, 0] /= np.sqrt(area_unemp)
    mult[area == "UNI", 2] *= 1.4
    prime = women & (band >= 1) & (band <= 3)
    mult[prime] *= [0.95, 1.0, 1.0, 1.0, 1.4]
    status = _draw_categorical(rng, _STATUS_BASE[band] * mult)

    # ---- learning outcomes ------------------------------------------------------------
    com_learn = np.array([_COMMUNE_EFFECTS[c][1] for c in codes])
    propensity = (
        com_learn[com]
        + year_delta[com] * year_i
        + psu_effect[psu]
        + rng.normal(0.0, PERSON_SD, n_total)
    )
    values: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    participated = None
    for j, item in enumerate(ITEMS):
        m = _ITEM_MODELS[item]
        extra = np.zeros(len(codes))
        for i, code in enumerate(codes):
            extra[i] = _ITEM_COMMUNE_EXTRA.get((item, code), 0.0)
        lin = (
            m["a"]
            + np.array(m["age"])[band]
            + m["isced"] * (isced - 3)
            + np.array(m["status"])[status]
            + m["women"] * women
            + m["load"] * propensity
            + commune_item[com, j]
            + extra[com]
            + psu_item[psu, j]
        )
        if item in _PARTICIPATION_EFFECT:
            lin = lin + _PARTICIPATION_EFFECT[item] * participated
        values[item] = (rng.random(n_total) < _expit(lin)).astype(np.int8)
        if item == "NFE12":
            participated = (values["FED12"] == 1) | (values["NFE12"] == 1)
        p_missing = m["missing"] * np.where((band == 5) | low_edu, 1.8, 1.0)
        missing[item] = rng.random(n_total) < p_missing

    # ---- weights ----------------------------------------------------------------------
    n_stratum = np.bincount(stratum, minlength=len(strata_labels))
    base = np.array(strata_pop)[stratum] / n_stratum[stratum]
    weight = base * rng.lognormal(0.0, WEIGHT_NONRESPONSE_SD, n_total)
    weight = _calibrate(weight, com * len(YEARS) + year_i, adults.ravel().astype(float))

    # ---- identifiers and ordering -----------------------------------------------------
    ident = np.empty(n_total, dtype=object)
    for y in range(len(YEARS)):
        rows = np.flatnonzero(year_i == y)
        seq = rng.permutation(len(rows)) + 1
        ident[rows] = [f"{k:06d}" for k in seq]
    order = np.lexsort((ident.astype(str), year_i))

    years = np.array(YEARS)[year_i]
    columns = {
        "IDENT": pa.array(ident[order].tolist(), pa.string()),
        "ANNEE": pa.array(years[order], pa.int32()),
        "COM": pa.array(np.array(codes)[com][order].tolist(), pa.string()),
        "STRATE": pa.array(np.array(strata_labels)[stratum][order].tolist(), pa.string()),
        "GRAPPE": pa.array(np.array(psu_labels)[psu][order].tolist(), pa.string()),
        "POIDS": pa.array(weight[order], pa.float64()),
        "SEXE": pa.array(np.array(["1", "2"])[sex_i][order].tolist(), pa.string()),
        "AGE": pa.array(age[order], pa.int32()),
        "TRAGE": pa.array(np.array(SURVEY_BANDS)[band][order].tolist(), pa.string()),
        "ISCED": pa.array(isced[order], pa.int32()),
        "SITUATION": pa.array(np.array(STATUSES)[status][order].tolist(), pa.string()),
    }
    for item in ITEMS:
        columns[item] = pa.array(values[item][order], pa.int8(), mask=missing[item][order])
    return pa.table(columns)


def _calibrate(weight: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Rescale weights so each group sums to its total; weights are rounded to a fixed
    number of decimals and the rounding residual is put on the largest weight of the group,
    so that the written weights sum to the total to float precision."""
    sums = np.bincount(group, weights=weight, minlength=len(totals))
    w = np.round(weight * (totals / sums)[group], WEIGHT_DECIMALS)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        top = rows[np.argmax(w[rows])]
        w[top] = np.round(w[top] + (totals[g] - w[rows].sum()), WEIGHT_DECIMALS)
    return w
