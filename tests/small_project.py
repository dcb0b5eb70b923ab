"""A tiny project written on the fly, for tests of readers and validation."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

TERRITORIES = """\
territory_code,level,name,epci_code,departement_code,region_code,valid_from,valid_to
01053,COM,Bourg-en-Bresse,200071751,01,84,,
2A004,COM,Ajaccio,242010056,2A,94,,
200071751,EPCI,CA du Bassin de Bourg-en-Bresse,,01,84,,
242010056,EPCI,CA du Pays Ajaccien,,2A,94,,
01,DEP,Ain,,,84,,
2A,DEP,Corse-du-Sud,,,94,,
84,REG,Auvergne-Rhône-Alpes,,,,,
94,REG,Corse,,,,,
"""
GROUPS = "group_code,group_name_en,group_name_fr,member_code\nDUO,Two towns,Deux villes,01053\n"
CODEBOOK = """measure_id,label_en,label_fr,unit,min_value,max_value,description_en
library_active_borrowers,Active borrowers,Emprunteurs actifs,persons,0,1000000,
schools_total,Schools,Établissements,schools,0,5000,
"""
ADMIN_ROWS = [
    "code_commune;annee;indicateur;valeur;source",
    "01053;2024;library_active_borrowers;5 432,5;Médiathèque É. Zola",
    "2A004;2024;library_active_borrowers;7000;Bibliothèque",
    "01053;2024;schools_total;douze;Rectorat",
    "99001;2024;schools_total;3;Rectorat",
]


def write_population_xlsx(path: Path, rows: list[list[object]], sheet: str = "Population") -> None:
    workbook = xlsxwriter.Workbook(str(path))
    worksheet = workbook.add_worksheet(sheet)
    worksheet.write(0, 0, "Population municipale — estimations")
    for column, header in enumerate(["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"]):
        worksheet.write(2, column, header)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            if c == 0:
                worksheet.write_string(r, c, str(value))
            else:
                worksheet.write(r, c, value)
    workbook.close()


POPULATION_ROWS = [
    ["01053", 2024, 1, "25-34", 2100],
    ["01053", 2024, 2, "25-34", 2200],
    ["2A004", 2024, 1, "25-34", -5],
]


def write_small_project(root: Path, admin_rows: list[str] | None = None) -> Path:
    """Write reference tables, a French CSV and an Excel file; return the config path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "territories.csv").write_text(TERRITORIES, encoding="utf-8")
    (root / "groups.csv").write_text(GROUPS, encoding="utf-8")
    (root / "codebook.csv").write_text(CODEBOOK, encoding="utf-8")
    (root / "admin.csv").write_bytes(
        "\r\n".join(admin_rows or ADMIN_ROWS).encode("cp1252") + b"\r\n")
    write_population_xlsx(root / "population.xlsx", POPULATION_ROWS)
    config = root / "lci.yaml"
    config.write_text("""
name: small
years: [2024]
sources:
  - {name: territories, path: territories.csv, format: csv, table: territories}
  - {name: groups, path: groups.csv, format: csv, table: territory_groups}
  - {name: codebook, path: codebook.csv, format: csv, table: admin_codebook}
  - name: admin
    path: admin.csv
    format: csv
    table: admin_measures
    options: {delimiter: ";", decimal: ",", encoding: cp1252}
    columns: {territory_code: code_commune, year: annee, measure_id: indicateur,
              value: valeur, source: source}
  - name: population
    path: population.xlsx
    format: xlsx
    table: population
    options: {sheet: Population, header_row: 3}
    columns: {territory_code: CODGEO, year: ANNEE, sex: SEXE, age_group: TRANCHE_AGE,
              population: POP}
    recode: {sex: {"1": M, "2": F}}
""", encoding="utf-8")
    return config
