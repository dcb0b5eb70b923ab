"""Write the data files of the two user projects under tests/data/projects (deterministic).

    .venv/bin/python tests/data/projects/generate.py [FOLDER]   # default: beside this script

- ``lisboa/``: a Portuguese project (freguesias → municipalities → NUTS III regions), with its
  own codes and level labels, a population in five-year age bands without a sex split (detail
  for the 2021 census, totals only for 2016), its own survey items and indicators.
- ``pays_de_retz/``: a French project outside the sample communes (Loire-Atlantique, with peers
  in the Aude and Paris, so that a département and a région share the code 11), written as a
  French office sends its files: ``;`` CSV in Windows-1252 with decimal commas, an Excel
  workbook with a title above its header.

The project files (``lci.yaml``) are written by hand, as a user would; this script writes only
the data files beside them. The same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from datetime import datetime
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
SEED = 20260502


def _csv(rows: list[list[object]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _comma(value: float, decimals: int = 1) -> str:
    """A number as a French office writes it: decimal comma, space between thousands."""
    whole, _, fraction = f"{value:,.{decimals}f}".partition(".")
    return whole.replace(",", " ") + ("," + fraction if fraction else "")


# --- Lisboa --------------------------------------------------------------------------------

LX_NUTS3 = [("PT1A0", "Grande Lisboa"), ("PT1B0", "Península de Setúbal"),
            ("PT16D", "Região de Aveiro")]
LX_MUNICIPALITIES = [  # code, name, NUTS III
    ("1106", "Lisboa", "PT1A0"), ("1110", "Oeiras", "PT1A0"), ("1115", "Amadora", "PT1A0"),
    ("1503", "Almada", "PT1B0"), ("1510", "Seixal", "PT1B0"), ("0105", "Aveiro", "PT16D"),
]
LX_PARISHES = [  # code, name, municipality, population 2021 (about)
    ("110654", "Alvalade", "1106", 31800), ("110655", "Areeiro", "1106", 20100),
    ("110656", "Arroios", "1106", 33300), ("110657", "Avenidas Novas", "1106", 21600),
    ("110658", "Beato", "1106", 12700), ("110659", "Belém", "1106", 16400),
    ("111002", "Barcarena", "1110", 13700), ("111003", "Porto Salvo", "1110", 15900),
    ("111005", "Oeiras e São Julião da Barra", "1110", 34800),
    ("111507", "Alfragide", "1115", 17300), ("111508", "Encosta do Sol", "1115", 28600),
    ("111509", "Falagueira-Venda Nova", "1115", 24900),
    ("150304", "Costa da Caparica", "1503", 14700), ("150305", "Caparica e Trafaria", "1503",
                                                     47100),
    ("150306", "Laranjeiro e Feijó", "1503", 40300),
    ("151003", "Amora", "1510", 51300), ("151004", "Corroios", "1510", 49500),
    ("151005", "Fernão Ferro", "1510", 20200),
    ("010501", "Aradas", "0105", 9600), ("010505", "Cacia", "0105", 7200),
    ("010511", "Esgueira", "0105", 14400),
]
LX_BANDS = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]
# Share of residents in each band (sums to 1).
LX_BAND_SHARES = [0.044, 0.048, 0.052, 0.053, 0.054, 0.056, 0.060, 0.068, 0.076, 0.078,
                  0.072, 0.068, 0.063, 0.058, 0.052, 0.041, 0.029, 0.028]
LX_YEARS = (2016, 2021)


def lisboa(root: Path, rng: random.Random) -> None:
    # The territories table: a parish names its municipality only; the municipality names its
    # NUTS III region (membership of a parish in its region is transitive).
    rows = [["territory_code", "level", "name", "municipality_code", "nuts3_code"]]
    rows += [[code, "NUTS3", name, "", ""] for code, name in LX_NUTS3]
    rows += [[code, "MUN", name, "", nuts3] for code, name, nuts3 in LX_MUNICIPALITIES]
    rows += [[code, "FREG", name, mun, ""] for code, name, mun, _ in LX_PARISHES]
    _write(root / "reference" / "territorios.csv", _csv(rows))

    _write(root / "reference" / "codebook.csv", _csv([
        ["measure_id", "label_en", "label_fr", "unit", "min_value", "max_value",
         "description_en"],
        ["course_enrolments", "Adult course enrolments", "Inscriptions aux cours pour adultes",
         "persons", 0, 20000, "Enrolments in the municipal adult learning programme."],
        ["library_active_borrowers", "Active library borrowers",
         "Emprunteurs actifs des bibliothèques", "persons", 0, 50000,
         "Residents who borrowed at least once from a municipal library."],
        ["apprenticeship_starts", "New apprenticeships", "Nouveaux apprentissages",
         "contracts", 0, 5000, "Apprenticeship contracts started by residents (IEFP)."],
    ]))

    # Population: the 2021 census in five-year age bands, no sex split; totals for 2016
    # (an estimate) and 2021 (the census, equal to the detail's sum).
    detail = [["freguesia", "ano", "grupo_etario", "populacao"]]
    totals = [["freguesia", "ano", "total"]]
    for code, _, _, population in LX_PARISHES:
        counts = [round(population * share) for share in LX_BAND_SHARES]
        detail += [[code, 2021, band, count] for band, count in zip(LX_BANDS, counts, strict=True)]
        totals.append([code, 2016, round(population * rng.uniform(0.95, 1.02))])
        totals.append([code, 2021, sum(counts)])
    _write(root / "raw" / "censos_2021_grupos_etarios.csv", _csv(detail, ";"))
    _write(root / "raw" / "populacao_residente.csv", _csv(totals))

    # Administrative measures by parish and year.
    admin = [["freguesia", "ano", "medida", "valor", "fonte"]]
    for code, _, _, population in LX_PARISHES:
        for year in LX_YEARS:
            growth = 1.0 if year == 2016 else 1.25
            admin.append([code, year, "course_enrolments",
                          round(population * rng.uniform(0.010, 0.020) * growth),
                          "Câmara Municipal — Educação"])
            admin.append([code, year, "library_active_borrowers",
                          round(population * rng.uniform(0.08, 0.16)),
                          "Rede de Bibliotecas Municipais"])
            admin.append([code, year, "apprenticeship_starts",
                          round(population * rng.uniform(0.001, 0.003)), "IEFP"])
    _write(root / "raw" / "indicadores_freguesia.csv", _csv(admin))

    # The survey: strata are municipalities, PSUs the parishes; item 9 = no answer.
    survey = [["ID", "ANO", "FREGUESIA", "ESTRATO", "UPA", "PESO", "IDADE", "ISCED",
               "CURSO_12M", "BIBLIOTECA", "HORAS"]]
    for year in LX_YEARS:
        n = 0
        for code, _, municipality, population in LX_PARISHES:
            for _ in range(20):
                n += 1
                age = rng.randint(18, 74)
                isced = rng.choice([1, 2, 3, 3, 4, 5, 6, 6, 7, 8])
                p_course = (0.30 if year == 2016 else 0.42) + 0.02 * (isced - 4)
                course = 9 if rng.random() < 0.03 else int(rng.random() < p_course)
                library = 9 if rng.random() < 0.03 else int(rng.random() < 0.35)
                hours = (rng.randint(4, 120) if course == 1 else rng.choice([0, 0, 0, 2, 6]))
                weight = round(population * 0.8 / 20 * rng.uniform(0.8, 1.2), 2)
                survey.append([f"{year}-{n:04d}", year, code, f"M{municipality}",
                               f"F{code}", weight, age, isced, course, library, hours])
    _write(root / "raw" / "inquerito_aprendizagem.csv", _csv(survey))


# --- Pays de Retz --------------------------------------------------------------------------

RETZ_REGIONS = [("52", "Pays de la Loire"), ("76", "Occitanie"), ("11", "Île-de-France")]
RETZ_DEPARTEMENTS = [("44", "Loire-Atlantique", "52"), ("11", "Aude", "76"),
                     ("75", "Paris", "11")]
RETZ_EPCIS = [  # SIREN, name, département, région
    ("200067346", "CA Pornic Agglo Pays de Retz", "44", "52"),
    ("244400552", "CC Sud Estuaire", "44", "52"),
    ("244400610", "CC Sud Retz Atlantique", "44", "52"),
    ("200035715", "CA Carcassonne Agglo", "11", "76"),
    ("241100593", "CA Le Grand Narbonne", "11", "76"),
    ("200054781", "Métropole du Grand Paris", "75", "11"),
]
RETZ_COMMUNES = [  # code, name, EPCI, population 2024 (about)
    ("44131", "Pornic", "200067346", 16200), ("44126", "La Plaine-sur-Mer", "200067346", 4400),
    ("44136", "Préfailles", "200067346", 1400), ("44005", "Chaumes-en-Retz", "200067346", 7000),
    ("44021", "Villeneuve-en-Retz", "200067346", 5300),
    ("44186", "Sainte-Pazanne", "200067346", 7200),
    ("44154", "Saint-Brevin-les-Pins", "244400552", 14800),
    ("44116", "Paimbœuf", "244400552", 3200), ("44187", "Saint-Père-en-Retz", "244400552", 5000),
    ("44087", "Machecoul-Saint-Même", "244400610", 7400),
    ("11069", "Carcassonne", "200035715", 46500), ("11262", "Narbonne", "241100593", 56600),
    ("75056", "Paris", "200054781", 2_100_000),
]
RETZ_EPCI_OF = {code: epci for code, _, epci, _ in RETZ_COMMUNES}
RETZ_GEO = {epci: (dep, reg) for epci, _, dep, reg in RETZ_EPCIS}
INSEE_BANDS = ["00-14", "15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-69", "70+"]
INSEE_SHARES = [0.17, 0.035, 0.075, 0.11, 0.12, 0.13, 0.13, 0.06, 0.17]
RETZ_YEARS = (2023, 2024)
SURVEY_BANDS = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 69)]
SITUATIONS = ["emploi", "emploi", "emploi", "chomage", "etudiant", "retraite", "inactif"]


def pays_de_retz(root: Path, rng: random.Random) -> None:
    # Territories in INSEE's shape, ';' and Windows-1252 (Paimbœuf, Île-de-France).
    rows = [["CODGEO", "NIVEAU", "LIBELLE", "EPCI", "DEP", "REG"]]
    rows += [[code, "REG", name, "", "", ""] for code, name in RETZ_REGIONS]
    rows += [[code, "DEP", name, "", "", reg] for code, name, reg in RETZ_DEPARTEMENTS]
    rows += [[code, "EPCI", name, "", dep, reg] for code, name, dep, reg in RETZ_EPCIS]
    for code, name, epci, _ in RETZ_COMMUNES:
        dep, reg = RETZ_GEO[epci]
        rows.append([code, "COM", name, epci, dep, reg])
    _write(root / "reference" / "territoires.csv", _csv(rows, ";"), "cp1252")

    _write(root / "reference" / "territory_groups.csv", _csv([
        ["group_code", "group_name_en", "group_name_fr", "member_code"],
        *[["RETZ-LITTORAL", "Retz coast", "Littoral de Retz", code]
          for code in ("44131", "44126", "44136", "44154")],
    ]))

    measures = [  # id, en, fr, unit, max, per inhabitant (about)
        ("schools_total", "Schools", "Établissements scolaires", "schools", 5000, 0.0008),
        ("schools_ecolabel", "Eco-labelled schools", "Établissements labellisés E3D",
         "schools", 5000, 0.0003),
        ("environmental_events", "Environmental learning events",
         "Animations d'éducation à l'environnement", "events", 100000, 0.002),
        ("library_active_borrowers", "Active library borrowers",
         "Emprunteurs actifs des bibliothèques", "persons", 5_000_000, 0.12),
        ("digital_mediation_people", "People helped by digital mediators",
         "Personnes accompagnées en médiation numérique", "persons", 500_000, 0.01),
        ("apprenticeship_starts", "New apprenticeship contracts",
         "Nouveaux contrats d'apprentissage", "contracts", 500_000, 0.006),
        ("participatory_budget_participants", "Participatory budget participants",
         "Participants au budget participatif", "persons", 1_000_000, 0.03),
        ("civic_service_volunteers", "Civic service volunteers",
         "Volontaires en service civique", "persons", 100_000, 0.0015),
        ("lll_spending_eur", "Local spending on lifelong learning",
         "Dépenses locales de formation tout au long de la vie", "euros", 1_000_000_000, 9.5),
        ("jobseekers_registered", "Registered jobseekers", "Demandeurs d'emploi inscrits",
         "persons", 1_000_000, 0.07),
        ("jobseekers_entering_training", "Jobseekers entering training",
         "Demandeurs d'emploi entrés en formation", "persons", 1_000_000, 0.008),
        ("maritime_training_enrolments", "Maritime training enrolments",
         "Inscriptions en formation aux métiers de la mer", "persons", 100_000, 0.004),
    ]
    codebook = [["measure_id", "label_en", "label_fr", "unit", "min_value", "max_value",
                 "description_en"]]
    codebook += [[m, en, fr, unit, 0, high, ""] for m, en, fr, unit, high, _ in measures]
    _write(root / "reference" / "dictionnaire_mesures.csv", _csv(codebook, ";"), "cp1252")

    # Administrative measures: ';', decimal comma, thousands as spaces, Windows-1252.
    admin = [["code_commune", "annee", "indicateur", "valeur", "source"]]
    sources = {"lll_spending_eur": "Région Pays de la Loire — formation",
               "maritime_training_enrolments": "Lycée professionnel maritime, Paimbœuf"}
    for code, _, _, population in RETZ_COMMUNES:
        for year in RETZ_YEARS:
            for measure, _, _, _, _, rate in measures:
                if measure == "maritime_training_enrolments" and not code.startswith("44"):
                    continue  # a measure only the Pays de Retz collects
                value = population * rate * rng.uniform(0.7, 1.3)
                if measure == "schools_ecolabel":
                    value = min(value, population * 0.0008)
                written = (_comma(value, 2) if measure == "lll_spending_eur"
                           else str(max(1, round(value))))
                admin.append([code, year, measure, written,
                              sources.get(measure, "Services de la communauté")])
    # the schools of a commune: whole numbers, and never fewer than the eco-labelled ones
    fixed = []
    for row in admin:
        if row[2] == "schools_total":
            row = [*row[:3], str(max(int(row[3]), 4)), row[4]]
        if row[2] == "schools_ecolabel":
            row = [*row[:3], str(min(int(row[3]), 4)), row[4]]
        fixed.append(row)
    _write(root / "raw" / "indicateurs_communes.csv", _csv(fixed, ";"), "cp1252")

    # Population by sex and age band, from INSEE, in a workbook with a title above the header.
    workbook = xlsxwriter.Workbook(str(root / "raw" / "population_insee.xlsx"),
                                   {"in_memory": True})
    workbook.set_properties({"author": "Insee", "created": datetime(2025, 1, 15)})
    sheet = workbook.add_worksheet("Population")
    sheet.write(0, 0, "Population municipale par sexe et tranche d'âge — Pays de Retz et "
                      "territoires de comparaison")
    header = ["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"]
    for c, name in enumerate(header):
        sheet.write(2, c, name)
    totals = [["COM", "ANNEE", "PMUN"]]
    r = 3
    for code, _, _, population in RETZ_COMMUNES:
        for year in RETZ_YEARS:
            size = population * (1.0 if year == 2023 else 1.006)
            total = 0
            for band, share in zip(INSEE_BANDS, INSEE_SHARES, strict=True):
                for sex, part in ((1, 0.485), (2, 0.515)):
                    count = round(size * share * part)
                    total += count
                    sheet.write_string(r, 0, code)
                    sheet.write_number(r, 1, year)
                    sheet.write_number(r, 2, sex)
                    sheet.write_string(r, 3, band)
                    sheet.write_number(r, 4, count)
                    r += 1
            totals.append([code, year, total])
    workbook.close()
    _write(root / "raw" / "populations_legales.csv", _csv(totals, ";"), "cp1252")

    # The survey (AES model): strata are départements, PSUs two clusters per commune.
    survey = [["IDENT", "ANNEE", "COM", "STRATE", "GRAPPE", "POIDS", "SEXE", "AGE", "TRAGE",
               "ISCED", "SITUATION", "FED12", "NFE12", "GOJT12", "INF12", "DIGSKILL",
               "BENEVOLAT", "BIBLIO", "ENVIRO", "ATELIER", "INTENTION", "BESOIN"]]
    per_commune = {"11069": 36, "11262": 36, "75056": 80}
    for year in RETZ_YEARS:
        n = 0
        for code, _, epci, population in RETZ_COMMUNES:
            dep = RETZ_GEO[epci][0]
            count = per_commune.get(code, 34)
            for k in range(count):
                n += 1
                age = rng.randint(18, 69)
                band = next(f"{low}-{high}" for low, high in SURVEY_BANDS
                            if low <= age <= high)
                isced = rng.choice([1, 2, 3, 3, 3, 4, 5, 6, 6, 7])
                shift = 0.05 if year == 2024 else 0.0

                def yes(p: float, missing: bool = False, shift: float = shift) -> str:
                    if missing and rng.random() < 0.02:
                        return "9"
                    return "1" if rng.random() < p + shift else "0"

                weight = population * 0.78 / count * rng.uniform(0.85, 1.15)
                survey.append([
                    f"R{year % 100}{n:04d}", year, code, f"D{dep}", f"{code}-{k % 2 + 1}",
                    _comma(weight, 2), rng.choice(["1", "2"]), age, band, isced,
                    rng.choice(SITUATIONS), yes(0.12), yes(0.38, True), yes(0.2), yes(0.55),
                    yes(0.6), yes(0.22, True), yes(0.3, True), yes(0.18), yes(0.1),
                    yes(0.35), yes(0.15)])
    _write(root / "raw" / "enquete_formation_adultes.csv", _csv(survey, ";"), "cp1252")


def write(target: Path = HERE) -> None:
    """Write both projects' data files under ``target`` (their project files stay as written)."""
    lisboa(target / "lisboa", random.Random(SEED))
    pays_de_retz(target / "pays_de_retz", random.Random(SEED + 1))


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
