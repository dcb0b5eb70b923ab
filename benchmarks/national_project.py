"""A national project in LCI's own input format, generated deterministically.

Shapes (sizes ``1M``, ``5M``, ``20M`` respondents): 35,000 communes in 96 départements
(codes ``01``…``95``, ``2A``, ``2B``; commune codes the département and three digits),
1,252 EPCIs nested in the départements (9-digit SIREN-like codes), 13 régions (INSEE's
metropolitan codes, which are also département codes: a territory is its level and its
code), 2 years. Population by commune × year × sex × nine age bands (1.26 M rows, CSV: a
sheet could not hold it), its totals (70,000 rows), 20 administrative measures by commune ×
year (1.4 M rows, ``;`` CSV), commuting flows (2.52 M rows, ``;`` CSV: each commune to
itself, ten neighbours of its département and outside the area, by skill level), and the
survey microdata as Parquet: strata by département × year, six PSUs nested in each
commune-year. ``10k`` is a small project (384 communes, 10,000 respondents) for smoke tests.

Every value is drawn in DuckDB SQL from ``hash(seed, stream, row)`` (no random state), so a
size and a seed always give the same files (same DuckDB version).

Usage: ``.venv/bin/python benchmarks/national_project.py --size 1M --out DIR [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

GENERATOR = 2  # bump when the generated files change
YEARS = (2023, 2024)
DEPARTEMENTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]  # 96
REGIONS = ("11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94")
AGE_BANDS = ("00-14", "15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-69", "70+")
BAND_SHARES = (0.17, 0.035, 0.08, 0.12, 0.125, 0.13, 0.125, 0.06, 0.155)  # sums to 1
SURVEY_AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-69")
STATUSES = ("employed", "unemployed", "student", "retired", "inactive")
ITEMS = ("FED12", "NFE12", "GOJT12", "INF12", "DIGSKILL", "BENEVOLAT", "BIBLIO", "ENVIRO",
         "ATELIER", "INTENTION", "BESOIN")
ITEM_BASE = (0.08, 0.30, 0.20, 0.45, 0.65, 0.22, 0.30, 0.15, 0.08, 0.40, 0.18)
QUALIFICATIONS = ("cadre", "intermediaire", "autre")
OUTSIDE = "99999"
NEIGHBOURS = 10  # commuting destinations in the département besides the commune itself
# Measures (the sample codebook's) and their rate per 1,000 inhabitants; counts of a part
# stay below the count of the whole (ecolabel and innovation schools below all schools).
MEASURE_RATES = {
    "adult_education_enrolments": 12.0, "apprenticeship_starts": 6.0,
    "civic_service_volunteers": 1.5, "craft_businesses": 14.0,
    "digital_mediation_people": 9.0, "environmental_events": 0.4,
    "jobseekers_entering_training": 7.0, "jobseekers_registered": 55.0,
    "learning_events": 0.8, "library_active_borrowers": 120.0,
    "lll_spending_eur": 25000.0, "participatory_budget_participants": 20.0,
    "primary_pupils": 60.0, "primary_teachers_fte": 2.6, "school_employer_agreements": 0.3,
    "schools_ecolabel": 0.12, "schools_innovation_project": 0.08, "schools_total": 0.5,
    "teachers_cpd_12m": 2.0, "teachers_total": 5.5,
}
CODEBOOK = Path(__file__).resolve().parent.parent / "data" / "sample" / "reference" / \
    "admin_codebook.csv"
META = ".national-project.json"


@dataclass(frozen=True)
class Size:
    """How big a national project is."""

    name: str
    respondents: int
    communes: int
    epcis: int


SIZES = {
    "10k": Size("10k", 10_000, 384, 96),
    "1M": Size("1M", 1_000_000, 35_000, 1_252),
    "5M": Size("5M", 5_000_000, 35_000, 1_252),
    "20M": Size("20M", 20_000_000, 35_000, 1_252),
}


def _h(seed: int, stream: int, *keys: str) -> str:
    """SQL for a pseudo-random unsigned 64-bit integer of the seed, a stream and the keys."""
    return f"hash({int(seed)}, {int(stream)}, {', '.join(keys)})"


def _u(seed: int, stream: int, *keys: str) -> str:
    """SQL for a pseudo-random number in [0, 1)."""
    return f"(({_h(seed, stream, *keys)} % 1000000) / 1000000.0)"


def _departements(size: Size) -> list[tuple[int, str, str, int, int, int, int]]:
    """(index, code, région, communes, first commune, EPCIs, first EPCI) per département."""
    n = len(DEPARTEMENTS)
    rows = []
    first_commune = first_epci = 0
    for d, code in enumerate(DEPARTEMENTS):
        communes = (d + 1) * size.communes // n - d * size.communes // n
        epcis = max(1, (d + 1) * size.epcis // n - d * size.epcis // n)
        if communes > 999:
            raise SystemExit(f"too many communes for three-digit codes: {size.communes}")
        region = REGIONS[d * len(REGIONS) // n]
        rows.append((d, code, region, communes, first_commune, epcis, first_epci))
        first_commune += communes
        first_epci += epcis
    return rows


def _build_geography(con: duckdb.DuckDBPyConnection, size: Size, seed: int) -> None:
    con.execute("CREATE TABLE deps (d INTEGER, dep VARCHAR, region VARCHAR, n INTEGER, "
                "first_commune INTEGER, n_epci INTEGER, first_epci INTEGER)")
    con.executemany("INSERT INTO deps VALUES (?, ?, ?, ?, ?, ?, ?)", _departements(size))
    # Communes: their département, their EPCI (contiguous blocks within the département) and
    # a population drawn on a log scale (about 60 to 160,000 inhabitants).
    con.execute(f"""
        CREATE TABLE communes AS
        SELECT c.c, c.c - d.first_commune AS local, d.n, d.first_commune, d.dep, d.region,
               d.dep || lpad(CAST(c.c - d.first_commune + 1 AS VARCHAR), 3, '0') AS code,
               CAST(200000000 + d.first_epci + (c.c - d.first_commune) * d.n_epci // d.n
                    AS VARCHAR) AS epci,
               CAST(round(60 * exp(7.9 * pow({_u(seed, 1, 'c.c')}, 1.6))) AS BIGINT) AS pop
        FROM range({size.communes}) AS c(c)
        JOIN deps d ON c.c >= d.first_commune AND c.c < d.first_commune + d.n
    """)


def _territories_sql() -> str:
    return """
        SELECT code AS territory_code, 'COM' AS level, 'Commune ' || code AS name,
               epci AS epci_code, dep AS departement_code, region AS region_code,
               NULL AS valid_from, NULL AS valid_to, 0 AS o, c AS k FROM communes
        UNION ALL
        SELECT epci, 'EPCI', 'EPCI ' || epci, NULL, any_value(dep), any_value(region),
               NULL, NULL, 1, min(c) FROM communes GROUP BY epci
        UNION ALL
        SELECT dep, 'DEP', 'Département ' || dep, NULL, NULL, region, NULL, NULL, 2, d
        FROM deps
        UNION ALL
        SELECT region, 'REG', 'Région ' || region, NULL, NULL, NULL, NULL, NULL, 3,
               min(d) FROM deps GROUP BY region
    """


def _population_sql(seed: int) -> str:
    """Commune × year × sex × age band; the second year grows by -1 % to +2 %."""
    bands = "[" + ", ".join(f"'{b}'" for b in AGE_BANDS) + "]"
    shares = "[" + ", ".join(str(s) for s in BAND_SHARES) + "]"
    return f"""
        SELECT code AS CODGEO, year AS ANNEE, sex AS SEXE, {bands}[b + 1] AS TRANCHE_AGE,
               CAST(round(pop * (1 + (year - {YEARS[0]}) * (0.03 * {_u(seed, 2, 'c')} - 0.01))
                          * {shares}[b + 1] * (0.47 + 0.06 * {_u(seed, 3, 'c', 'year', 'sex',
                                                                  'b')}))
                    AS BIGINT) AS POP, c
        FROM communes, (SELECT unnest({list(YEARS)}) AS year),
             (SELECT unnest(['1', '2']) AS sex), range({len(AGE_BANDS)}) AS t(b)
    """


def _survey_sql(size: Size, seed: int) -> str:
    """Respondents: commune drawn with its population, six PSUs per commune-year whose
    learning rates differ (a cluster effect), items depending on age, ISCED level and the
    commune; a few unanswered items."""
    groups = "[" + ", ".join(f"'{g}'" for g in SURVEY_AGE_GROUPS) + "]"
    statuses = "[" + ", ".join(f"'{s}'" for s in STATUSES) + "]"
    items = []
    for j, (item, base) in enumerate(zip(ITEMS, ITEM_BASE, strict=True)):
        p = (f"least(0.97, greatest(0.01, {base} * (0.6 + 0.8 * commune_effect) "
             f"+ 0.03 * (isced - 3) + 0.08 * (psu_effect - 0.5) - 0.002 * (age - 40)))")
        u = _u(seed, 40 + j, "i")
        items.append(f"CAST(CASE WHEN {_h(seed, 60 + j, 'i')} % 50 = 0 THEN NULL "
                     f"WHEN {u} < {p} THEN 1 ELSE 0 END AS TINYINT) AS {item}")
    return f"""
        WITH draws AS (
            SELECT i,
                   CAST({_h(seed, 10, 'i')} % {size.communes} AS INTEGER) AS c,
                   {YEARS[0]} + CAST({_h(seed, 11, 'i')} % {len(YEARS)} AS INTEGER) AS year,
                   CAST({_h(seed, 12, 'i')} % 6 AS INTEGER) AS k,
                   CAST({_h(seed, 13, 'i')} % 2 AS INTEGER) AS female,
                   18 + CAST({_h(seed, 14, 'i')} % 52 AS INTEGER) AS age,
                   CAST({_h(seed, 15, 'i')} % 9 AS INTEGER) AS isced,
                   CAST({_h(seed, 16, 'i')} % 5 AS INTEGER) AS status,
                   {_u(seed, 17, 'i')} AS nonresponse
            FROM range({size.respondents}) AS t(i)
        ), placed AS (
            SELECT r.*, m.code, m.dep, m.pop, {_u(seed, 18, 'r.c')} AS commune_effect,
                   {_u(seed, 19, 'r.c', 'r.year', 'r.k')} AS psu_effect
            FROM draws r JOIN communes m ON m.c = r.c
        )
        SELECT lpad(CAST(i + 1 AS VARCHAR), 9, '0') AS IDENT, year AS ANNEE, code AS COM,
               year || '-' || dep AS STRATE, code || '-' || year || '-' || k AS GRAPPE,
               round(greatest(1.0, pop * 0.7 * {size.communes * len(YEARS)}
                              / {size.respondents}) * (0.75 + 0.5 * nonresponse), 3) AS POIDS,
               CASE WHEN female = 1 THEN '2' ELSE '1' END AS SEXE, age AS AGE,
               {groups}[CASE WHEN age < 25 THEN 1 WHEN age >= 65 THEN 6
                             ELSE (age - 15) // 10 END] AS TRAGE,
               isced AS ISCED,
               CASE WHEN age < 25 AND status = 3 THEN 'student'
                    WHEN age < 55 AND status = 3 THEN 'employed'
                    ELSE {statuses}[status + 1] END AS SITUATION,
               {", ".join(items)}
        FROM placed ORDER BY i
    """


def _admin_sql(seed: int) -> str:
    """Commune × year × measure, proportional to the population, within the codebook's
    ranges (the codebook's maximum caps a measure)."""
    con_rates = ", ".join(f"('{m}', {r})" for m, r in MEASURE_RATES.items())
    return f"""
        WITH rates(measure_id, rate) AS (VALUES {con_rates})
        SELECT p.code AS code_commune, p.year AS annee, r.measure_id AS indicateur,
               CAST(least(b.max_value, round(p.pop * r.rate / 1000
                    * (0.5 + {_u(seed, 5, 'p.c', 'p.year', 'r.measure_id')}))) AS BIGINT)
                   AS valeur,
               'Synthetic national benchmark' AS source
        FROM (SELECT c, code, year, pop FROM communes,
              (SELECT unnest({list(YEARS)}) AS year)) p
        CROSS JOIN rates r JOIN codebook b USING (measure_id)
        ORDER BY p.c, p.year, r.measure_id
    """


def _commuting_sql(seed: int) -> str:
    """Each commune's workers by skill level to itself, to up to ten other communes of its
    département and outside the area."""
    quals = "[" + ", ".join(f"'{q}'" for q in QUALIFICATIONS) + "]"
    return f"""
        WITH ends AS (
            SELECT c, code, year, j, pop,
                   CASE WHEN j > {NEIGHBOURS} THEN '{OUTSIDE}'
                        ELSE dep || lpad(CAST((local + j) % n + 1 AS VARCHAR), 3, '0') END
                       AS workplace
            FROM communes, (SELECT unnest({list(YEARS)}) AS year),
                 range({NEIGHBOURS + 2}) AS t(j)
            WHERE j < n OR j > {NEIGHBOURS}
        )
        SELECT year AS ANNEE, code AS COMMUNE_RESIDENCE, workplace AS COMMUNE_TRAVAIL,
               {quals}[q + 1] AS QUALIFICATION,
               round(pop * 0.42 * [0.18, 0.26, 0.56][q + 1]
                     * CASE WHEN j = 0 THEN 0.45 ELSE 0.55 / {NEIGHBOURS + 1} END
                     * (0.5 + {_u(seed, 6, 'c', 'year', 'j', 'q')}), 2) AS IPONDI
        FROM ends, range(3) AS t(q)
        ORDER BY c, year, j, q
    """


def _groups_sql(seed: int, size: Size) -> str:
    """Two custom groups of communes: a network of 20 and the 1 % most populous."""
    largest = max(2, size.communes // 100)
    return f"""
        SELECT * FROM (
            SELECT 'FR-RESEAU' AS group_code, 'Learning cities network' AS group_name_en,
                   'Réseau des territoires apprenants' AS group_name_fr, code AS member_code
            FROM communes ORDER BY {_h(seed, 7, 'c')} LIMIT 20)
        UNION ALL
        SELECT * FROM (
            SELECT 'FR-GRANDES', 'Most populous communes', 'Communes les plus peuplées', code
            FROM communes ORDER BY pop DESC, c LIMIT {largest})
    """


def _report_territories(con: duckdb.DuckDBPyConnection, size: Size) -> list[str]:
    """Five communes spread over the country, their EPCIs, départements and régions, and the
    groups (régions written ``REG:`` since their codes are also départements')."""
    picks = [size.communes * k // 5 + size.communes // 10 for k in range(5)]
    rows = con.execute("SELECT code, epci, dep, region FROM communes "
                       "WHERE list_contains(?, c) ORDER BY c", [picks]).fetchall()
    out: list[str] = []
    for column, prefix in enumerate(("", "", "DEP:", "REG:")):
        for row in rows:
            if prefix + row[column] not in out:
                out.append(prefix + row[column])
    return [*out, "FR-RESEAU", "FR-GRANDES"]


def _project_yaml(size: Size, seed: int, territories: list[str]) -> str:
    shown = ", ".join(json.dumps(t) for t in territories)
    return f"""# National benchmark project ({size.name}: {size.respondents:,} respondents,
# {size.communes:,} communes), generated by benchmarks/national_project.py --seed {seed}.
name: National benchmark — {size.name} respondents
years: [{", ".join(str(y) for y in YEARS)}]

# DuckDB spills to disk past 1 GB, so that the whole run stays under 2 GB of memory.
database: {{threads: 2, memory_limit: 1GB}}

sources:
  - name: territories
    path: reference/territories.csv
    format: csv
    options: {{encoding: utf-8}}
    table: territories

  - name: territory_groups
    path: reference/territory_groups.csv
    format: csv
    options: {{encoding: utf-8}}
    table: territory_groups

  - name: admin_codebook
    path: reference/admin_codebook.csv
    format: csv
    table: admin_codebook

  - name: population
    path: raw/population.csv
    format: csv
    options: {{delimiter: ";", encoding: utf-8}}
    table: population
    columns: {{territory_code: CODGEO, year: ANNEE, sex: SEXE, age_group: TRANCHE_AGE,
              population: POP}}
    recode:
      sex: {{"1": M, "2": F}}

  - name: population_totals
    path: raw/populations_legales.csv
    format: csv
    options: {{encoding: utf-8}}
    table: population_totals
    columns: {{territory_code: COM, year: ANNEE, population: PMUN}}

  - name: survey
    path: raw/survey.parquet
    format: parquet
    table: survey_responses
    columns:
      respondent_id: IDENT
      year: ANNEE
      territory_code: COM
      stratum: STRATE
      psu: GRAPPE
      weight: POIDS
      sex: SEXE
      age: AGE
      age_group: TRAGE
      isced_level: ISCED
      labour_status: SITUATION
      formal_12m: FED12
      nonformal_12m: NFE12
      guided_ojt_12m: GOJT12
      informal_12m: INF12
      digital_basic: DIGSKILL
      volunteering_12m: BENEVOLAT
      library_12m: BIBLIO
      env_learning_12m: ENVIRO
      workshop_12m: ATELIER
      intends_to_train: INTENTION
      unmet_demand: BESOIN
    recode:
      sex: {{"1": M, "2": F}}

  - name: admin_measures
    path: raw/admin_measures.csv
    format: csv
    options: {{delimiter: ";", encoding: utf-8}}
    table: admin_measures
    columns: {{territory_code: code_commune, year: annee, measure_id: indicateur,
              value: valeur, source: source}}

  - name: commuting
    path: raw/commuting.csv
    format: csv
    options: {{delimiter: ";", encoding: utf-8}}
    table: commuting
    columns: {{year: ANNEE, residence_code: COMMUNE_RESIDENCE, workplace_code: COMMUNE_TRAVAIL,
              qualification: QUALIFICATION, workers: IPONDI}}
    recode:
      qualification: {{cadre: managerial, intermediaire: intermediate, autre: other}}

report:
  title:
    en: National benchmark — learning cities
    fr: Banc d'essai national — territoires apprenants
  territories: [{shown}]
"""


def generate(size: Size, out: Path, seed: int = 0, threads: int = 2) -> dict:
    """Write the project into ``out`` (emptied first); return its shape and timings."""
    started = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    (out / "raw").mkdir(parents=True)
    (out / "reference").mkdir()
    con = duckdb.connect()
    con.execute("SET threads = ?", [int(threads)])
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    _build_geography(con, size, seed)
    con.read_csv(str(CODEBOOK), header=True).create("codebook")
    shutil.copyfile(CODEBOOK, out / "reference" / "admin_codebook.csv")
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def write(name: str, sql: str, path: Path, *, sep: str | None = None,
              drop: tuple[str, ...] = (), order: str | None = None) -> None:
        t0 = time.perf_counter()
        rel = con.sql(sql)
        if order:
            rel = rel.order(order)
        if drop:
            rel = rel.select(", ".join(c for c in rel.columns if c not in drop))
        if sep is None:
            rel.write_parquet(str(path), compression="zstd")
        else:
            rel.write_csv(str(path), sep=sep, header=True)
        rows[name] = size.respondents if name == "survey_responses" else \
            int(rel.aggregate("count(*)").fetchall()[0][0])
        seconds[name] = round(time.perf_counter() - t0, 2)

    write("territories", _territories_sql(), out / "reference" / "territories.csv", sep=",",
          drop=("o", "k"), order="o, k")
    write("territory_groups", _groups_sql(seed, size), out / "reference" /
          "territory_groups.csv", sep=",")
    con.execute(f"CREATE TABLE population AS {_population_sql(seed)}")
    write("population", "SELECT * FROM population", out / "raw" / "population.csv", sep=";",
          drop=("c",), order="c, ANNEE, SEXE, TRANCHE_AGE")
    write("population_totals", "SELECT CODGEO AS COM, ANNEE, sum(POP) AS PMUN, min(c) AS c "
          "FROM population GROUP BY ALL", out / "raw" / "populations_legales.csv", sep=",",
          drop=("c",), order="c, ANNEE")
    write("survey_responses", _survey_sql(size, seed), out / "raw" / "survey.parquet")
    write("admin_measures", _admin_sql(seed), out / "raw" / "admin_measures.csv", sep=";")
    write("commuting", _commuting_sql(seed), out / "raw" / "commuting.csv", sep=";")
    territories = _report_territories(con, size)
    shape = dict(con.execute(
        "SELECT 'communes', count(*) FROM communes UNION ALL "
        "SELECT 'epcis', count(DISTINCT epci) FROM communes UNION ALL "
        "SELECT 'departements', count(*) FROM deps UNION ALL "
        "SELECT 'regions', count(DISTINCT region) FROM deps").fetchall())
    con.close()
    (out / "lci.yaml").write_text(_project_yaml(size, seed, territories), encoding="utf-8")
    meta = {"generator": GENERATOR, "duckdb": duckdb.__version__, "seed": seed,
            "size": asdict(size), "shape": shape, "rows": rows,
            "bytes": {str(p.relative_to(out)): p.stat().st_size
                      for p in sorted(out.rglob("*")) if p.is_file()},
            "seconds": {**seconds, "total": round(time.perf_counter() - started, 2)}}
    (out / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def existing(size: Size, out: Path, seed: int) -> dict | None:
    """The metadata of a project already generated in ``out`` with this size, seed,
    generator and DuckDB version, else None."""
    try:
        meta = json.loads((out / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = (meta.get("generator"), meta.get("duckdb"), meta.get("seed"), meta.get("size")) == \
        (GENERATOR, duckdb.__version__, seed, asdict(size))
    return meta if same and (out / "lci.yaml").is_file() else None


def ensure(size: Size, out: Path, seed: int = 0, regenerate: bool = False) -> dict:
    """The project in ``out``: reused when it was generated the same way, else generated."""
    meta = None if regenerate else existing(size, out, seed)
    return meta if meta is not None else generate(size, out, seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="1M")
    parser.add_argument("--out", type=Path, required=True, help="project folder (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    meta = generate(SIZES[args.size], args.out, args.seed, args.threads)
    print(json.dumps({k: meta[k] for k in ("shape", "rows", "seconds")}, indent=2))
    print(f"project: {args.out / 'lci.yaml'}")


if __name__ == "__main__":
    main(sys.argv[1:])
