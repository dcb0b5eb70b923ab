"""Seeded generator of synthetic sample data for French learning cities.

Territory codes (INSEE COG, EPCI SIREN) are real; populations are rounded orders of
magnitude; survey microdata, administrative measures and commuting flows are synthetic.
``generate_sample_project(out_dir)`` writes ``raw/`` and ``reference/`` under ``out_dir``;
the same seed always gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .admin import CODEBOOK_COLUMNS, DECIMALS, codebook_rows, generate_admin
from .commuting import generate_commuting
from .population import generate_population
from .survey import generate_survey
from .territories import GROUP_COLUMNS, TERRITORY_COLUMNS, group_rows, territory_rows
from .writers import french_number, write_csv, write_parquet, write_population_xlsx

__all__ = ["DEFAULT_SEED", "generate_sample_project"]

DEFAULT_SEED = 2024
POPULATION_TITLE = "Population municipale par sexe et âge — estimations"


def generate_sample_project(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the sample raw and reference files under out_dir; return their paths."""
    out_dir = Path(out_dir)
    raw, reference = out_dir / "raw", out_dir / "reference"
    pop_rng, survey_rng, admin_rng, commuting_rng = np.random.default_rng(seed).spawn(4)

    population = generate_population(pop_rng)
    paths = [
        write_csv(reference / "territories.csv", TERRITORY_COLUMNS, territory_rows()),
        write_csv(reference / "territory_groups.csv", GROUP_COLUMNS, group_rows()),
        write_csv(reference / "admin_codebook.csv", CODEBOOK_COLUMNS, codebook_rows()),
        write_population_xlsx(
            raw / "population.xlsx",
            POPULATION_TITLE,
            ("CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"),
            population.rows(),
        ),
        write_csv(
            raw / "populations_legales.csv",
            ("COM", "ANNEE", "PMUN"),
            population.total_rows(),
            encoding="utf-8-sig",
        ),
        write_parquet(raw / "aes_survey.parquet", generate_survey(survey_rng, population)),
        write_csv(
            raw / "admin_measures.csv",
            ("code_commune", "annee", "indicateur", "valeur", "source"),
            (
                (code, year, measure, french_number(value, DECIMALS[measure]), source)
                for code, year, measure, value, source in generate_admin(admin_rng, population)
            ),
            delimiter=";",
            encoding="cp1252",
            line_terminator="\r\n",
        ),
        write_csv(
            raw / "commuting.csv",
            ("ANNEE", "COMMUNE_RESIDENCE", "COMMUNE_TRAVAIL", "QUALIFICATION", "IPONDI"),
            (
                (year, home, work, qual, f"{value:.2f}")
                for year, home, work, qual, value in generate_commuting(commuting_rng, population)
            ),
            delimiter=";",
        ),
    ]
    return sorted(paths)
