"""Territorial reference of the sample: real INSEE COG codes and EPCI SIREN codes.

Populations are rounded orders of magnitude of recent INSEE estimates, used as
targets by the generators; they are not official figures.
"""

from __future__ import annotations

from dataclasses import dataclass

YEARS: tuple[int, ...] = (2023, 2024)
OUTSIDE_CODE = "99999"


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    epci: str
    dep: str
    population: int  # target municipal population in the first sample year (0: no data)
    is_city: bool = False
    valid_from: int | None = None
    valid_to: int | None = None

    @property
    def region(self) -> str:
        return DEPARTEMENTS[self.dep][1]

    @property
    def has_data(self) -> bool:
        return self.valid_to is None


REGIONS: dict[str, str] = {
    "11": "Île-de-France",
    "53": "Bretagne",
    "76": "Occitanie",
    "84": "Auvergne-Rhône-Alpes",
}

# code -> (name, region code)
DEPARTEMENTS: dict[str, tuple[str, str]] = {
    "34": ("Hérault", "76"),
    "56": ("Morbihan", "53"),
    "63": ("Puy-de-Dôme", "84"),
    "78": ("Yvelines", "11"),
    "91": ("Essonne", "11"),
}

# SIREN -> (name, departement of the seat, creation year or None)
EPCIS: dict[str, tuple[str, str, int | None]] = {
    "200059228": ("CA Grand Paris Sud Seine-Essonne-Sénart", "91", 2016),
    "200059889": ("CU Grand Paris Seine et Oise", "78", 2016),
    "200067932": ("Golfe du Morbihan - Vannes Agglomération", "56", 2017),
    "243400017": ("Montpellier Méditerranée Métropole", "34", None),
    "246300701": ("Clermont Auvergne Métropole", "63", None),
}

COMMUNES: tuple[Commune, ...] = (
    # Clermont Auvergne Métropole
    Commune("63113", "Clermont-Ferrand", "246300701", "63", 147_300, is_city=True),
    Commune("63075", "Chamalières", "246300701", "63", 17_000),
    Commune("63124", "Cournon-d'Auvergne", "246300701", "63", 20_000),
    Commune("63014", "Aubière", "246300701", "63", 10_000),
    # CU Grand Paris Seine et Oise
    Commune("78361", "Mantes-la-Jolie", "200059889", "78", 44_500, is_city=True),
    Commune("78362", "Mantes-la-Ville", "200059889", "78", 20_000),
    Commune("78335", "Limay", "200059889", "78", 16_500),
    # Montpellier Méditerranée Métropole
    Commune("34172", "Montpellier", "243400017", "34", 302_500, is_city=True),
    Commune("34057", "Castelnau-le-Lez", "243400017", "34", 24_000),
    Commune("34129", "Lattes", "243400017", "34", 17_000),
    # CA Grand Paris Sud Seine-Essonne-Sénart
    Commune(
        "91228", "Évry-Courcouronnes", "200059228", "91", 66_200, is_city=True, valid_from=2019
    ),
    Commune("91182", "Courcouronnes", "200059228", "91", 0, valid_to=2018),
    Commune("91174", "Corbeil-Essonnes", "200059228", "91", 52_000),
    Commune("91521", "Ris-Orangis", "200059228", "91", 30_000),
    Commune("91286", "Grigny", "200059228", "91", 29_000),
    # Golfe du Morbihan - Vannes Agglomération
    Commune("56260", "Vannes", "200067932", "56", 54_000, is_city=True),
    Commune("56243", "Séné", "200067932", "56", 9_000),
    Commune("56206", "Saint-Avé", "200067932", "56", 11_800),
    Commune("56003", "Arradon", "200067932", "56", 5_400),
    Commune("56087", "Île-aux-Moines", "200067932", "56", 600),
)

# group code -> (English name, French name, member codes)
GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "FR-GNLC": (
        "French UNESCO learning cities",
        "Villes apprenantes UNESCO françaises",
        ("63113", "78361", "34172", "91228"),
    ),
    "PAYS-VANNES": (
        "Pays de Vannes",
        "Pays de Vannes",
        ("56260", "56243", "56206", "56003", "56087"),
    ),
}


def data_communes() -> list[Commune]:
    """Communes that exist in the sample years, in code order (all generators use this order)."""
    return sorted((c for c in COMMUNES if c.has_data), key=lambda c: c.code)


def commune(code: str) -> Commune:
    for c in COMMUNES:
        if c.code == code:
            return c
    raise KeyError(code)


TERRITORY_COLUMNS = (
    "territory_code",
    "level",
    "name",
    "epci_code",
    "departement_code",
    "region_code",
    "valid_from",
    "valid_to",
)


def _year(value: int | None) -> str:
    return "" if value is None else str(value)


def territory_rows() -> list[tuple[str, ...]]:
    """Rows of territories.csv, top-down (REG, DEP, EPCI, COM), each level sorted by code."""
    rows: list[tuple[str, ...]] = []
    for code in sorted(REGIONS):
        rows.append((code, "REG", REGIONS[code], "", "", "", "", ""))
    for code in sorted(DEPARTEMENTS):
        name, reg = DEPARTEMENTS[code]
        rows.append((code, "DEP", name, "", "", reg, "", ""))
    for code in sorted(EPCIS):
        name, dep, created = EPCIS[code]
        reg = DEPARTEMENTS[dep][1]
        rows.append((code, "EPCI", name, "", dep, reg, _year(created), ""))
    for c in sorted(COMMUNES, key=lambda c: c.code):
        rows.append(
            (c.code, "COM", c.name, c.epci, c.dep, c.region, _year(c.valid_from), _year(c.valid_to))
        )
    return rows


GROUP_COLUMNS = ("group_code", "group_name_en", "group_name_fr", "member_code")


def group_rows() -> list[tuple[str, ...]]:
    rows = []
    for code in sorted(GROUPS):
        name_en, name_fr, members = GROUPS[code]
        rows.extend((code, name_en, name_fr, m) for m in sorted(members))
    return rows
