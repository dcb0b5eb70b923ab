"""LCI's core stages done the way an analyst would with plain pandas and pandera-pandas.

This is the comparison pipeline of ``core_comparison.py``: the same national project, the
same rules, the same numbers, without LCI. It reads every source the project file declares
(``pandas.read_csv`` / ``read_parquet`` / ``read_excel`` with the declared delimiter,
decimal mark and encoding, the declared column names and recodes), validates the five main
tables with pandera-pandas schemas that state the rules of LCI's contracts
(``pipelines/validating/contracts.py``: types, required values, ranges, allowed values,
code formats, unique keys, the known-commune and codebook relations, at least two PSUs per
stratum), drops the failing rows (``lazy=True``: every failure of every row is collected)
and counts them, then computes

* **LL01** by commune × year: the weighted share of adults aged 25-64 who took part in
  formal or non-formal learning in the last 12 months, with its Taylor-linearised standard
  error under the stratified cluster design, as R's ``svyby(~y, ~commune+year, design,
  svymean, na.rm = TRUE)``: each domain's linearised values are zero outside it, PSU totals
  vary with replacement within strata with the n_h/(n_h - 1) factor, n_h counting every
  PSU of the stratum in the whole design;
* **ECO02** by EPCI × year: the ratio of sums (× 100) of two administrative measures
  (schools with an eco-label over all schools) over each EPCI's communes reporting both.

Everything is vectorised with ``groupby`` (no Python loop over rows or domains).

Usage: ``.venv/bin/python benchmarks/pandas_pipeline.py PROJECT/lci.yaml``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

# --- the rules, as LCI's contracts state them -------------------------------------------

COMMUNE = r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}$|^97[1-6]\d{2}$"
OUTSIDE_AREA = "99999"
FLOW_END = rf"{COMMUNE}|^{OUTSIDE_AREA}$"
LEVEL_PATTERNS = {"COM": COMMUNE, "EPCI": r"^\d{9}$",
                  "DEP": r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])$", "REG": r"^\d{2}$"}
PARENT_COLUMNS = {"epci_code": "EPCI", "departement_code": "DEP", "region_code": "REG"}
AGE_GROUPS = ["00-14", "15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-69", "70+"]
SURVEY_AGE_GROUPS = AGE_GROUPS[2:8]
STATUSES = ["employed", "unemployed", "student", "retired", "inactive"]
BINARY_ITEMS = ["formal_12m", "nonformal_12m", "guided_ojt_12m", "informal_12m",
                "digital_basic", "volunteering_12m", "library_12m", "env_learning_12m",
                "workshop_12m", "intends_to_train", "unmet_demand"]
YEARS = pa.Check.in_range(1990, 2100)
MAIN_TABLES = ("territories", "population", "survey_responses", "admin_measures", "commuting")

# LL01 (indicators/catalogue/LL.yaml): condition formal_12m = 1 OR nonformal_12m = 1 among
# age BETWEEN 25 AND 64, in percent. ECO02 (ECO.yaml): schools_ecolabel / schools_total.
LL01_AGES = (25, 64)
RATIO_ID, RATIO_NUMERATOR, RATIO_DENOMINATOR, RATIO_SCALE = (
    "ECO02", "schools_ecolabel", "schools_total", 100.0)
PERCENT = 100.0


def _text(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(str, list(checks), nullable=nullable)


def _integer(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", list(checks), nullable=nullable, coerce=True)


def _number(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column("float64", list(checks), nullable=nullable, coerce=True)


def _project_years(years: list[int]) -> pa.Check:
    """Rows of a year the project does not declare are refused (LCI's ``project_years``)."""
    return pa.Check.isin(years, name="project_years")


def _known(column: str, territories: pd.DataFrame, level: str = "COM",
           outside_allowed: bool = False) -> pa.Check:
    """The code names a territory of the base level of the validated territories table,
    valid that year (LCI's ``known_commune``)."""
    known = territories.loc[territories["level"] == level,
                            ["territory_code", "valid_from", "valid_to"]]
    known = known.set_index("territory_code")

    def check(df: pd.DataFrame) -> pd.Series:
        found = known.reindex(df[column].to_numpy())
        year = df["year"].to_numpy(dtype="float64", na_value=np.nan)
        start = found["valid_from"].to_numpy(dtype="float64", na_value=np.nan)
        end = found["valid_to"].to_numpy(dtype="float64", na_value=np.nan)
        exists = found.index.isin(known.index)
        valid = exists & ~(start > year) & ~(end < year)
        if outside_allowed:
            valid |= (df[column] == OUTSIDE_AREA).to_numpy(dtype=bool, na_value=False)
        return pd.Series(valid | df[column].isna().to_numpy(), index=df.index)

    return pa.Check(check, name=f"{column}.known_commune")


def schemas(years: list[int], territories: pd.DataFrame | None = None,
            codebook: pd.DataFrame | None = None) -> dict[str, pa.DataFrameSchema]:
    """The five main tables' schemas; the relational checks need the validated territories
    table and the codebook (without them, the schemas hold the single-table rules only)."""
    in_years = _project_years(years)

    def known(column: str, outside: bool = False) -> list[pa.Check]:
        return [] if territories is None else [_known(column, territories,
                                                      outside_allowed=outside)]

    def level_format(df: pd.DataFrame) -> pd.Series:
        ok = pd.Series(True, index=df.index)
        for level, pattern in LEVEL_PATTERNS.items():
            mine = (df["level"] == level).fillna(False)
            ok[mine] = df.loc[mine, "territory_code"].str.match(pattern).fillna(True)
        return ok

    relations_admin: list[pa.Check] = []
    if codebook is not None:
        bounds = codebook.set_index("measure_id")[["min_value", "max_value"]]

        def in_codebook(df: pd.DataFrame) -> pd.Series:
            return df["measure_id"].isin(bounds.index) | df["measure_id"].isna()

        def codebook_range(df: pd.DataFrame) -> pd.Series:
            found = bounds.reindex(df["measure_id"].to_numpy())
            value = df["value"].to_numpy(dtype="float64", na_value=np.nan)
            outside = (value < found["min_value"].to_numpy()) | \
                (value > found["max_value"].to_numpy())
            return pd.Series(~outside, index=df.index)

        relations_admin = [pa.Check(in_codebook, name="measure_id.in_codebook"),
                           pa.Check(codebook_range, name="value.codebook_range")]
    return {
        "territories": pa.DataFrameSchema(
            {"territory_code": _text(), "level": _text(pa.Check.isin(list(LEVEL_PATTERNS))),
             "name": _text(),
             **{c: _text(pa.Check.str_matches(LEVEL_PATTERNS[lv]), nullable=True)
                for c, lv in PARENT_COLUMNS.items()},
             "valid_from": _integer(YEARS, nullable=True),
             "valid_to": _integer(YEARS, nullable=True)},
            checks=[pa.Check(level_format, name="territory_code.level_format")],
            unique=["level", "territory_code"], name="territories"),
        "population": pa.DataFrameSchema(
            {"territory_code": _text(pa.Check.str_matches(COMMUNE)),
             "year": _integer(YEARS, in_years),
             "sex": _text(pa.Check.isin(["F", "M"])),
             "age_group": _text(pa.Check.isin(AGE_GROUPS)),
             "population": _number(pa.Check.ge(0))},
            checks=known("territory_code"),
            unique=["territory_code", "year", "sex", "age_group"], name="population"),
        "survey_responses": pa.DataFrameSchema(
            {"respondent_id": _text(), "year": _integer(YEARS, in_years),
             "territory_code": _text(pa.Check.str_matches(COMMUNE)),
             "stratum": _text(), "psu": _text(), "weight": _number(pa.Check.gt(0)),
             "sex": _text(pa.Check.isin(["F", "M"])),
             "age": _integer(pa.Check.in_range(18, 69)),
             "age_group": _text(pa.Check.isin(SURVEY_AGE_GROUPS)),
             "isced_level": _integer(pa.Check.in_range(0, 8)),
             "labour_status": _text(pa.Check.isin(STATUSES)),
             **{item: _integer(pa.Check.isin([0, 1]), nullable=True) for item in BINARY_ITEMS}},
            checks=known("territory_code"), unique=["year", "respondent_id"],
            name="survey_responses"),
        "admin_measures": pa.DataFrameSchema(
            {"territory_code": _text(pa.Check.str_matches(COMMUNE)),
             "year": _integer(YEARS, in_years), "measure_id": _text(),
             "value": _number(pa.Check.ge(0)), "source": _text(nullable=True)},
            checks=[*known("territory_code"), *relations_admin],
            unique=["territory_code", "year", "measure_id"], name="admin_measures"),
        "commuting": pa.DataFrameSchema(
            {"year": _integer(YEARS, in_years),
             "residence_code": _text(pa.Check.str_matches(FLOW_END)),
             "workplace_code": _text(pa.Check.str_matches(FLOW_END)),
             "qualification": _text(pa.Check.isin(["managerial", "intermediate", "other"])),
             "workers": _number(pa.Check.ge(0))},
            checks=[*known("residence_code", outside=True),
                    *known("workplace_code", outside=True)],
            unique=["year", "residence_code", "workplace_code", "qualification"],
            name="commuting"),
    }


def two_psus_per_stratum(df: pd.DataFrame) -> pd.Series:
    """Each kept row's stratum (within its year) has at least two distinct PSUs."""
    return df.groupby(["year", "stratum"])["psu"].transform("nunique") >= 2


PSU_SCHEMA = pa.DataFrameSchema(checks=[pa.Check(two_psus_per_stratum,
                                                 name="psu.two_per_stratum")])


# --- the pipeline ----------------------------------------------------------------------

Timer = Callable[[str], AbstractContextManager[object]]


def _no_timer(name: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


@dataclass
class Result:
    """What the pipeline produced: rows read and dropped per table, and the values."""

    rows_read: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    ll01: pd.DataFrame | None = None
    ratio: pd.DataFrame | None = None


def read_sources(project_file: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Every declared source as a DataFrame under its contract table's column names."""
    config = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    root = project_file.parent
    tables: dict[str, list[pd.DataFrame]] = {}
    for source in config["sources"]:
        path = root / source["path"]
        options = source.get("options") or {}
        columns = source.get("columns") or {}
        fmt = source.get("format", path.suffix.lstrip("."))
        if fmt == "parquet":
            frame = pd.read_parquet(path, columns=list(columns.values()) or None)
        elif fmt in ("xlsx", "excel"):
            frame = pd.read_excel(path, sheet_name=options.get("sheet", 0), dtype=str)
        else:
            # Codes keep their leading zeros (01053, 2A004): every text column is read as
            # text; numbers are left to pandas' parser.
            frame = pd.read_csv(path, sep=options.get("delimiter", ","),
                                decimal=options.get("decimal", "."),
                                encoding=options.get("encoding", "utf-8"),
                                dtype=_text_columns(source["table"], columns))
        if columns:
            frame = frame.rename(columns={file: ours for ours, file in columns.items()})
        for column, mapping in (source.get("recode") or {}).items():
            frame[column] = frame[column].astype("str").replace(
                {str(k): str(v) for k, v in mapping.items()})
        tables.setdefault(source["table"], []).append(frame)
    return config, {t: frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                    for t, frames in tables.items()}


def _text_columns(table: str, columns: dict[str, str]) -> dict[str, type]:
    """The file's names of the columns the contract types as text."""
    text = {"territories": ["territory_code", "level", "name", *PARENT_COLUMNS],
            "territory_groups": ["group_code", "group_name_en", "group_name_fr", "member_code"],
            "admin_codebook": ["measure_id"],
            "population": ["territory_code", "sex", "age_group"],
            "population_totals": ["territory_code"],
            "admin_measures": ["territory_code", "measure_id", "source"],
            "commuting": ["residence_code", "workplace_code", "qualification"]}.get(table, [])
    return {columns.get(c, c): str for c in text}


def _coerce_numbers(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    """Numbers that pandas left as text are converted; a value that is not a number fails
    its row (as LCI's ``type`` rule) rather than the whole column."""
    failed = pd.Series(False, index=frame.index)
    for name, column in schema.columns.items():
        if str(column.dtype) in ("Int64", "float64") and name in frame and \
                not pd.api.types.is_numeric_dtype(frame[name]):
            converted = pd.to_numeric(frame[name], errors="coerce")
            failed |= frame[name].notna() & converted.isna()
            frame[name] = converted
    return failed


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema,
             final: pa.DataFrameSchema | None = None) -> tuple[pd.DataFrame, pd.Series, dict]:
    """The rows passing every check, which rows failed, and failures per check.

    ``final`` checks (two PSUs per stratum) are judged on the rows every other check keeps,
    so that a stratum left with one PSU by the quarantine itself is caught.
    """
    frame = frame[[c for c in schema.columns if c in frame]].copy()
    failed = _coerce_numbers(frame, schema)
    by_check: dict[str, int] = {"type": int(failed.sum())} if failed.any() else {}
    checked = frame[~failed]
    try:
        valid = schema.validate(checked, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        if cases["index"].isna().any():  # a whole-column failure (missing column, dtype)
            raise
        bad = cases["index"].astype("int64").unique()
        failed[bad] = True
        counted = cases.drop_duplicates(["check", "index"])
        by_check.update(counted.groupby("check").size().astype(int).to_dict())
        valid = errors.data.drop(index=bad)  # the typed rows, once checked
    if final is not None and len(valid):
        try:
            final.validate(valid, lazy=True)
        except pa.errors.SchemaErrors as errors:
            bad = errors.failure_cases["index"].astype("int64").unique()
            failed[bad] = True
            by_check["psu.two_per_stratum"] = len(bad)
            valid = valid.drop(index=bad)
    return valid, failed, by_check


def membership(territories: pd.DataFrame, groups: pd.DataFrame | None) -> pd.DataFrame:
    """Every (commune, territory) pair: the commune itself, the territories its parent
    columns reach (their parents too, level by level) and the custom groups naming it."""
    communes = territories.loc[territories["level"] == "COM", "territory_code"]
    known = territories[["level", "territory_code"]]
    reach = pd.DataFrame({"commune_code": communes, "territory_level": "COM",
                          "territory_code": communes})
    edges = pd.concat([territories.loc[territories[c].notna(), ["level", "territory_code", c]]
                       .set_axis(["child_level", "child_code", "parent_code"], axis=1)
                       .assign(parent_level=lv) for c, lv in PARENT_COLUMNS.items()])
    edges = edges.merge(known, left_on=["parent_level", "parent_code"],
                        right_on=["level", "territory_code"])[
        ["child_level", "child_code", "parent_level", "parent_code"]]
    frontier = reach
    for _ in PARENT_COLUMNS:  # one step per level: the French model is three deep
        step = frontier.merge(edges, left_on=["territory_level", "territory_code"],
                              right_on=["child_level", "child_code"])
        frontier = pd.DataFrame({"commune_code": step["commune_code"],
                                 "territory_level": step["parent_level"],
                                 "territory_code": step["parent_code"]})
        reach = pd.concat([reach, frontier], ignore_index=True)
    parts = [reach.drop_duplicates()]
    if groups is not None and len(groups):
        members = groups[groups["member_code"].isin(communes)]
        parts.append(pd.DataFrame({"commune_code": members["member_code"],
                                   "territory_level": "GROUP",
                                   "territory_code": members["group_code"]}))
    return pd.concat(parts, ignore_index=True)


def ll01(survey: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """LL01 by territory × year with its design-based SE (percent), as R's svyby/svymean.

    Each territory (every level, from ``members``; communes alone without it) is a domain of
    the one design. The linearised value of a PSU p in domain d is
    (A_pd - theta_d * B_pd) / B_d (A: sum of w*y, B: sum of w over the domain's rows with an
    answer); a stratum's variance is n_h/(n_h - 1) * sum_p (z_p - zbar_h)^2 over all n_h
    PSUs of the stratum in the whole design, those without rows of the domain being zeros.
    """
    formal, nonformal = survey["formal_12m"], survey["nonformal_12m"]
    learner = ((formal == 1) | (nonformal == 1)).fillna(False).to_numpy(bool)
    # SQL's three-valued OR: true if either is 1, unknown if one is missing and not 1.
    unknown = ~learner & (formal.isna() | nonformal.isna()).to_numpy(bool)
    y = np.where(learner, 1.0, np.where(unknown, np.nan, 0.0))
    age = survey["age"]
    inside = ((age >= LL01_AGES[0]) & (age <= LL01_AGES[1])).fillna(False).to_numpy(bool)
    n_h = survey.groupby(["year", "stratum"], sort=False)["psu"].nunique().rename("n_h")
    rows = pd.DataFrame({"commune_code": survey["territory_code"], "year": survey["year"],
                         "stratum": survey["stratum"], "psu": survey["psu"],
                         "w": survey["weight"], "y": y})[inside]
    if members is None:
        rows = rows.assign(territory_level="COM", territory_code=rows["commune_code"])
    else:
        rows = rows.merge(members, on="commune_code")
    domain = ["territory_level", "territory_code", "year"]
    domains = rows.groupby(domain, sort=False).size().rename("rows")
    answered = rows[rows["y"].notna()]
    answered = answered.assign(wy=answered["w"] * answered["y"])
    cells = answered.groupby([*domain, "stratum", "psu"], sort=False).agg(
        a=("wy", "sum"), b=("w", "sum"), n=("w", "size")).reset_index()
    totals = cells.groupby(domain, sort=False).agg(A=("a", "sum"), B=("b", "sum"),
                                                   n=("n", "sum"))
    totals["theta"] = totals["A"] / totals["B"]
    cells = cells.join(totals[["B", "theta"]], on=domain)
    cells["z"] = (cells["a"] - cells["theta"] * cells["b"]) / cells["B"]
    cells["zz"] = cells["z"] * cells["z"]
    strata = cells.groupby([*domain, "stratum"], sort=False).agg(
        sz=("z", "sum"), szz=("zz", "sum")).reset_index()
    strata = strata.join(n_h, on=["year", "stratum"])
    strata["v"] = strata["n_h"] / (strata["n_h"] - 1) * \
        (strata["szz"] - strata["sz"] * strata["sz"] / strata["n_h"])
    variance = strata.groupby(domain, sort=False)["v"].sum()
    out = domains.to_frame().join(totals).join(variance.rename("var"))
    return pd.DataFrame({
        "territory_level": out.index.get_level_values(0),
        "territory_code": out.index.get_level_values(1),
        "year": out.index.get_level_values(2).astype("int64"),
        "value": PERCENT * out["theta"].to_numpy(),
        "se": PERCENT * np.sqrt(out["var"].to_numpy()),
        "numerator": out["A"].to_numpy(), "denominator": out["B"].to_numpy(),
        "n": out["n"].fillna(0).astype("int64").to_numpy()}).sort_values(
            domain, ignore_index=True)


def epci_ratio(admin: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """ECO02 by EPCI × year: sums over the EPCI's communes reporting both measures."""
    wanted = admin[admin["measure_id"].isin([RATIO_NUMERATOR, RATIO_DENOMINATOR])]
    by_commune = wanted.pivot_table(index=["territory_code", "year"], columns="measure_id",
                                    values="value", aggfunc="sum")
    by_commune = by_commune.dropna(subset=[RATIO_NUMERATOR, RATIO_DENOMINATOR]).reset_index()
    communes = territories.loc[territories["level"] == "COM", ["territory_code", "epci_code"]]
    merged = by_commune.merge(communes, on="territory_code").dropna(subset=["epci_code"])
    sums = merged.groupby(["epci_code", "year"], sort=False)[
        [RATIO_NUMERATOR, RATIO_DENOMINATOR]].sum()
    denominator = sums[RATIO_DENOMINATOR].where(sums[RATIO_DENOMINATOR] != 0)
    return pd.DataFrame({
        "territory_code": sums.index.get_level_values(0),
        "year": sums.index.get_level_values(1).astype("int64"),
        "value": (RATIO_SCALE * sums[RATIO_NUMERATOR] / denominator).to_numpy(),
        "numerator": sums[RATIO_NUMERATOR].to_numpy(),
        "denominator": sums[RATIO_DENOMINATOR].to_numpy()}).sort_values(
            ["territory_code", "year"], ignore_index=True)


def run(project_file: Path, timer: Timer = _no_timer) -> Result:
    """Read, validate, LL01 and the EPCI ratio; each stage under ``timer(stage)``."""
    result = Result()
    with timer("read"):
        config, tables = read_sources(project_file)
    result.rows_read = {t: len(f) for t, f in tables.items()}
    years = [int(y) for y in config["years"]]
    valid: dict[str, pd.DataFrame] = {}
    with timer("validate"):
        plain = schemas(years)
        valid["territories"], failed, counts = validate(tables["territories"],
                                                        plain["territories"])
        result.quarantined["territories"] = int(failed.sum())
        result.failures["territories"] = counts
        codebook = tables["admin_codebook"]
        related = schemas(years, valid["territories"], codebook)
        for table in MAIN_TABLES[1:]:
            final = PSU_SCHEMA if table == "survey_responses" else None
            valid[table], failed, counts = validate(tables[table], related[table], final)
            result.quarantined[table] = int(failed.sum())
            result.failures[table] = counts
    with timer("LL01"):
        members = membership(valid["territories"], tables.get("territory_groups"))
        result.ll01 = ll01(valid["survey_responses"], members)
    with timer("ratio"):
        result.ratio = epci_ratio(valid["admin_measures"], valid["territories"])
    return result


@contextlib.contextmanager
def _printing(name: str) -> Iterator[None]:
    import time

    t0 = time.perf_counter()
    yield
    print(f"{name}: {time.perf_counter() - t0:.2f} s", flush=True)


if __name__ == "__main__":
    outcome = run(Path(sys.argv[1]), _printing)
    print({"rows_read": outcome.rows_read, "quarantined": outcome.quarantined})
    print(outcome.ll01.head() if outcome.ll01 is not None else None)
