"""Administrative measures reported by municipal services and state offices, and their codebook.

Each measure is population-size times a plausible rate drawn per commune, shifted by two
commune characteristics: deprivation (share of the population in priority neighbourhoods,
scaled 0-1) and learning-city engagement. 2024 moves from 2023 by a measure-wide trend and
commune-level noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .population import AGE_BANDS, WORKING_AGE_BANDS, Population
from .territories import YEARS


@dataclass(frozen=True)
class Measure:
    measure_id: str
    label_en: str
    label_fr: str
    unit: str
    max_value: int
    decimals: int
    trend: float  # mean relative change 2023 -> 2024
    description_en: str


MEASURES: tuple[Measure, ...] = (
    Measure(
        "library_active_borrowers",
        "Active library borrowers",
        "Emprunteurs actifs des bibliothèques",
        "persons",
        1_000_000,
        0,
        0.01,
        "Persons who borrowed at least one item from a municipal or intercommunal library "
        "during the year.",
    ),
    Measure(
        "apprenticeship_starts",
        "New apprenticeship contracts",
        "Nouveaux contrats d'apprentissage",
        "contracts",
        50_000,
        0,
        0.03,
        "Apprenticeship contracts started during the year by residents of the commune.",
    ),
    Measure(
        "adult_education_enrolments",
        "Adult education enrolments",
        "Inscriptions en formation des adultes",
        "persons",
        200_000,
        0,
        0.02,
        "Adults enrolled in publicly supported adult education courses (GRETA, CNAM, "
        "municipal courses, popular universities).",
    ),
    Measure(
        "schools_total",
        "Schools",
        "Établissements scolaires",
        "schools",
        2_000,
        0,
        0.0,
        "Primary and secondary schools (public and private under contract) located in the commune.",
    ),
    Measure(
        "schools_ecolabel",
        "Eco-labelled schools (E3D)",
        "Établissements labellisés E3D",
        "schools",
        2_000,
        0,
        0.08,
        "Schools holding the E3D label (école ou établissement en démarche de développement "
        "durable).",
    ),
    Measure(
        "schools_innovation_project",
        "Schools with an innovation project",
        "Établissements porteurs d'un projet innovant",
        "schools",
        2_000,
        0,
        0.05,
        "Schools running a recognised pedagogical innovation or experimentation project.",
    ),
    Measure(
        "primary_pupils",
        "Primary pupils",
        "Élèves du premier degré",
        "pupils",
        200_000,
        0,
        -0.015,
        "Pupils enrolled in pre-primary and primary schools located in the commune.",
    ),
    Measure(
        "primary_teachers_fte",
        "Primary teachers (FTE)",
        "Enseignants du premier degré (ETP)",
        "FTE",
        10_000,
        1,
        -0.005,
        "Teachers in pre-primary and primary schools of the commune, in full-time equivalents.",
    ),
    Measure(
        "teachers_total",
        "Teachers",
        "Enseignants",
        "teachers",
        30_000,
        0,
        0.0,
        "Teachers (head count) in primary and secondary schools of the commune.",
    ),
    Measure(
        "teachers_cpd_12m",
        "Teachers trained in the last 12 months",
        "Enseignants formés au cours des 12 derniers mois",
        "teachers",
        30_000,
        0,
        0.03,
        "Teachers who took part in in-service training (formation continue) in the last 12 months.",
    ),
    Measure(
        "digital_mediation_people",
        "People helped by digital mediation",
        "Personnes accompagnées en médiation numérique",
        "persons",
        100_000,
        0,
        0.05,
        "Persons helped by digital mediators (conseillers numériques, France Services) during "
        "the year.",
    ),
    Measure(
        "school_employer_agreements",
        "School-employer agreements",
        "Conventions écoles-entreprises",
        "agreements",
        5_000,
        0,
        0.04,
        "Active partnership agreements between schools and employers (internships, "
        "apprenticeship, discovery of trades).",
    ),
    Measure(
        "learning_events",
        "Public learning events",
        "Événements publics d'apprentissage",
        "events",
        10_000,
        0,
        0.03,
        "Public learning events organised or supported by the commune, including learning "
        "festivals, conferences and open workshops.",
    ),
    Measure(
        "environmental_events",
        "Environmental learning events",
        "Événements d'éducation à l'environnement",
        "events",
        5_000,
        0,
        0.06,
        "Environmental learning events: repair cafés, nature outings, climate workshops.",
    ),
    Measure(
        "lll_spending_eur",
        "Spending on education and lifelong learning",
        "Dépenses d'éducation et de formation tout au long de la vie",
        "EUR",
        1_000_000_000,
        2,
        0.025,
        "Operating and investment spending of the commune and its EPCI on education and "
        "lifelong learning (EPCI share allocated by population), in euros.",
    ),
    Measure(
        "craft_businesses",
        "Craft businesses",
        "Entreprises artisanales",
        "businesses",
        50_000,
        0,
        0.03,
        "Businesses registered in the Répertoire des métiers with an establishment in the commune.",
    ),
    Measure(
        "civic_service_volunteers",
        "Civic service volunteers",
        "Volontaires en service civique",
        "persons",
        10_000,
        0,
        -0.04,
        "Young people resident in the commune who started a service civique mission.",
    ),
    Measure(
        "participatory_budget_participants",
        "Participatory budget participants",
        "Participants au budget participatif",
        "persons",
        200_000,
        0,
        0.0,
        "Persons who submitted or voted for projects of the participatory budget (0 where "
        "the commune has none).",
    ),
    Measure(
        "jobseekers_registered",
        "Registered jobseekers",
        "Demandeurs d'emploi inscrits",
        "persons",
        200_000,
        0,
        0.02,
        "Jobseekers registered with the public employment service (categories A, B, C), "
        "annual average.",
    ),
    Measure(
        "jobseekers_entering_training",
        "Jobseekers entering training",
        "Demandeurs d'emploi entrés en formation",
        "persons",
        50_000,
        0,
        -0.03,
        "Registered jobseekers who started a training course during the year.",
    ),
)
MEASURE_IDS = tuple(m.measure_id for m in MEASURES)
DECIMALS = {m.measure_id: m.decimals for m in MEASURES}

CODEBOOK_COLUMNS = (
    "measure_id",
    "label_en",
    "label_fr",
    "unit",
    "min_value",
    "max_value",
    "description_en",
)

# code -> (deprivation 0-1, learning-city engagement 0-1, has a participatory budget)
_PROFILE: dict[str, tuple[float, float, bool]] = {
    "34057": (0.10, 0.0, True),
    "34129": (0.15, 0.0, False),
    "34172": (0.50, 1.0, True),
    "56003": (0.00, 0.0, False),
    "56087": (0.10, 0.0, False),
    "56206": (0.15, 0.0, False),
    "56243": (0.15, 0.0, False),
    "56260": (0.25, 0.5, True),
    "63014": (0.30, 0.0, False),
    "63075": (0.10, 0.0, False),
    "63113": (0.40, 1.0, True),
    "63124": (0.25, 0.0, True),
    "78335": (0.60, 0.0, False),
    "78361": (0.90, 1.0, True),
    "78362": (0.70, 0.0, False),
    "91174": (0.75, 0.0, False),
    "91228": (0.70, 1.0, True),
    "91286": (1.00, 0.0, False),
    "91521": (0.50, 0.0, True),
}
# Secondary-school catchment: cities host lycées attended by pupils from around.
_SECONDARY_ATTRACTION = {"56087": 0.0, "56003": 0.3}

_ACADEMIE = {
    "34": "Montpellier",
    "56": "Rennes",
    "63": "Clermont-Ferrand",
    "78": "Versailles",
    "91": "Versailles",
}
_DREETS = {
    "11": "DRIEETS Île-de-France",
    "53": "DREETS Bretagne",
    "76": "DREETS Occitanie",
    "84": "DREETS Auvergne-Rhône-Alpes",
}


def source(measure_id: str, dep: str, region: str, year: int) -> str:
    """The French service that delivers a measure."""
    rectorat = f"Rectorat de {_ACADEMIE[dep]}"
    if measure_id.startswith(("schools_", "primary_", "teachers_", "school_")):
        return rectorat
    if measure_id.startswith("jobseekers_"):
        return "Pôle emploi" if year < 2024 else "France Travail"
    return {
        "library_active_borrowers": "Service des bibliothèques",
        "apprenticeship_starts": _DREETS[region],
        "adult_education_enrolments": f"GRETA, académie de {_ACADEMIE[dep]}",
        "digital_mediation_people": "Conseillers numériques France Services",
        "learning_events": "Direction de la culture",
        "environmental_events": "Direction de la transition écologique",
        "lll_spending_eur": "Direction des finances",
        "craft_businesses": "Chambre de métiers et de l\u2019artisanat",
        "civic_service_volunteers": "Agence du Service civique",
        "participatory_budget_participants": "Mission démocratie participative",
    }[measure_id]


def codebook_rows() -> list[tuple[str, ...]]:
    return [
        (m.measure_id, m.label_en, m.label_fr, m.unit, "0", str(m.max_value), m.description_en)
        for m in sorted(MEASURES, key=lambda m: m.measure_id)
    ]


def _base_values(rng: np.random.Generator, population: Population) -> dict[str, np.ndarray]:
    """Expected 2023 values, one per commune."""
    codes = [c.code for c in population.communes]
    n = len(codes)
    bands = population.by_band()[:, 0, :].astype(float)  # first year, (commune, band)
    pop = bands.sum(axis=1)
    p0014 = bands[:, AGE_BANDS.index("00-14")]
    p1517 = bands[:, AGE_BANDS.index("15-17")]
    p1824 = bands[:, AGE_BANDS.index("18-24")]
    p1564 = bands[:, WORKING_AGE_BANDS].sum(axis=1)
    p18 = pop - p0014 - p1517
    dep = np.array([_PROFILE[c][0] for c in codes])
    lc = np.array([_PROFILE[c][1] for c in codes])
    has_pb = np.array([_PROFILE[c][2] for c in codes])
    city = np.array([c.is_city for c in population.communes])

    def u(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, n)

    v: dict[str, np.ndarray] = {}
    v["library_active_borrowers"] = pop * np.clip(
        u(0.10, 0.19) + 0.04 * lc - 0.03 * dep, 0.08, 0.25
    )
    v["apprenticeship_starts"] = p1564 * u(0.008, 0.014) * (1 - 0.2 * dep)
    v["adult_education_enrolments"] = p18 * u(0.010, 0.022) * (1 + 0.3 * lc)
    schools = np.maximum(1, np.round(pop / 1000 * u(0.8, 1.2)))
    v["schools_total"] = schools
    v["schools_ecolabel"] = schools * u(0.10, 0.55) * (1 + 0.1 * lc)
    v["schools_innovation_project"] = schools * u(0.05, 0.20) * (1 + 0.5 * lc)
    pupils = p0014 * u(0.55, 0.62)
    v["primary_pupils"] = pupils
    # smaller classes in priority education (REP/REP+)
    primary_fte = pupils / (u(21.0, 23.5) - 4.0 * dep)
    v["primary_teachers_fte"] = primary_fte
    attraction = np.array(
        [
            _SECONDARY_ATTRACTION.get(c, 1.3 if is_city else 0.8)
            for c, is_city in zip(codes, city, strict=True)
        ]
    )
    secondary_pupils = (0.33 * p0014 + p1517) * attraction
    teachers = primary_fte * u(1.02, 1.10) + secondary_pupils / u(11.0, 13.0)
    v["teachers_total"] = teachers
    v["teachers_cpd_12m"] = teachers * u(0.40, 0.72)
    v["digital_mediation_people"] = pop * u(0.005, 0.016) * (1 + 0.8 * lc)
    v["school_employer_agreements"] = schools * u(0.3, 1.0) * (1 + 0.3 * lc)
    v["learning_events"] = pop / 1000 * u(0.6, 1.5) * (1 + lc)
    v["environmental_events"] = pop / 1000 * u(0.1, 0.4) * (1 + 0.5 * lc)
    v["lll_spending_eur"] = pop * u(280.0, 480.0) * (1 + 0.1 * lc)
    v["craft_businesses"] = pop * u(0.012, 0.024)
    v["civic_service_volunteers"] = p1824 * u(0.008, 0.020)
    v["participatory_budget_participants"] = np.where(has_pb, pop * u(0.01, 0.06), 0.0)
    jobseekers = p1564 * (u(0.055, 0.070) + 0.05 * dep)
    v["jobseekers_registered"] = jobseekers
    v["jobseekers_entering_training"] = jobseekers * u(0.05, 0.15)
    return v


# Year-on-year volatility (sd of the log change 2023 -> 2024 beyond the trend).
_VOLATILITY: dict[str, float] = {
    "primary_pupils": 0.01,
    "primary_teachers_fte": 0.015,
    "teachers_total": 0.015,
    "craft_businesses": 0.02,
    "schools_ecolabel": 0.03,
    "schools_innovation_project": 0.05,
    "apprenticeship_starts": 0.06,
    "civic_service_volunteers": 0.08,
    "learning_events": 0.08,
    "environmental_events": 0.10,
    "jobseekers_entering_training": 0.06,
    "participatory_budget_participants": 0.15,
}
_DEFAULT_VOLATILITY = 0.04


def _finalise(
    values: dict[str, np.ndarray], rng: np.random.Generator | None
) -> dict[str, np.ndarray]:
    """Round to each measure's precision and enforce part <= whole. With rng, counts get
    Poisson noise (first year); without, they are rounded (later years move from it)."""
    out = {}
    for m in MEASURES:
        x = values[m.measure_id]
        if m.decimals:
            out[m.measure_id] = np.round(x, m.decimals)
        elif rng is None or m.measure_id == "schools_total":
            out[m.measure_id] = np.round(x)
        else:
            out[m.measure_id] = rng.poisson(x).astype(float)
    # head count >= full-time equivalents
    out["teachers_total"] = np.maximum(out["teachers_total"], np.ceil(out["primary_teachers_fte"]))
    for part, whole in (
        ("schools_ecolabel", "schools_total"),
        ("schools_innovation_project", "schools_total"),
        ("teachers_cpd_12m", "teachers_total"),
        ("jobseekers_entering_training", "jobseekers_registered"),
    ):
        out[part] = np.minimum(out[part], out[whole])
    return out


def generate_admin(
    rng: np.random.Generator, population: Population
) -> list[tuple[str, int, str, float, str]]:
    """Rows (code_commune, annee, indicateur, valeur, source), sorted by commune, year and
    measure; valeur is rounded to the measure's precision."""
    n = len(population.communes)
    growth = population.total()[:, 1] / population.total()[:, 0]
    first = _finalise(_base_values(rng, population), rng)
    moved = {}
    for m in MEASURES:
        x = first[m.measure_id]
        if m.measure_id == "schools_total":
            # a school opens or closes now and then in the larger communes
            moved[m.measure_id] = x + rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0], n) * (x >= 20)
            continue
        sd = _VOLATILITY.get(m.measure_id, _DEFAULT_VOLATILITY)
        moved[m.measure_id] = x * growth * (1 + m.trend) * np.exp(rng.normal(0.0, sd, n))
    by_year = [first, _finalise(moved, None)]

    rows = []
    for i, c in enumerate(population.communes):
        for y, year in enumerate(YEARS):
            for measure_id in sorted(MEASURE_IDS):
                value = float(by_year[y][measure_id][i])
                rows.append(
                    (c.code, year, measure_id, value, source(measure_id, c.dep, c.region, year))
                )
    return rows
