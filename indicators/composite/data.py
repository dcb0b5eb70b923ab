"""What a composite index is built from: unit × indicator values plus their hierarchy.

Also reads the COINr table formats (``iData``/``iMeta`` as CSV, plus a weights table), so a
researcher can run the same data through LCI and through the JRC's R package and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from indicators.composite.hierarchy import CompositeError, Hierarchy, Node

META_COLUMNS = ("Level", "iCode", "Direction", "Weight", "Parent", "Type")
META_TYPES = ("Indicator", "Aggregate", "Denominator", "Group", "Other")


@dataclass(frozen=True, eq=False)
class SamplingError:
    """Standard errors of survey-based values, to draw them from their sampling distribution.

    ``se`` has the units and indicators of the data (missing where a value has no sampling
    error, e.g. administrative counts). Indicators in ``logit`` are percentages: their draws
    are made on the logit scale, as their confidence intervals are, so they stay in 0–100.
    """

    se: pd.DataFrame
    logit: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)
class CompositeData:
    """Indicator values (rows: units, columns: indicators) and everything steps may need.

    ``denominators`` and ``groups`` hold COINr's "Denominator" and "Group" columns;
    ``previous`` the previous year's values (for that imputation); ``names`` unit names.
    """

    hierarchy: Hierarchy
    values: pd.DataFrame
    names: pd.Series | None = None
    denominators: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    previous: pd.DataFrame | None = None
    sampling: SamplingError | None = None

    def __post_init__(self) -> None:
        units = self.values.index
        if units.has_duplicates:
            twice = sorted(units[units.duplicated()].astype(str).unique())
            raise CompositeError(f"unit codes appear more than once: {twice}")
        missing = [c for c in self.hierarchy.indicators if c not in self.values.columns]
        if missing:
            raise CompositeError(f"indicators of the hierarchy missing from the data: {missing}")
        for code in self.hierarchy.indicators:
            if not pd.api.types.is_numeric_dtype(self.values[code]):
                raise CompositeError(f"indicator {code!r} is not numeric in the data")
        for label, frame in (("denominators", self.denominators), ("groups", self.groups),
                             ("previous", self.previous),
                             ("sampling errors", self.sampling and self.sampling.se)):
            if frame is not None and not units.isin(frame.index).all():
                absent = sorted(units[~units.isin(frame.index)].astype(str))[:5]
                raise CompositeError(f"{label} lack units of the data, e.g. {absent}")

    @property
    def units(self) -> pd.Index:
        return self.values.index

    def indicator_values(self) -> pd.DataFrame:
        """Indicator columns only, as floats, in hierarchy order."""
        return self.values[list(self.hierarchy.indicators)].astype(float)


def read_coinr_meta(path: Path | str) -> tuple[Hierarchy, pd.DataFrame]:
    """Read a COINr ``iMeta`` CSV into a hierarchy (plus the table, for its other rows).

    Required columns: ``Level, iCode, Direction, Weight, Parent, Type``; optional ``iName``,
    ``Target``, ``Denominator``. Rows of type Indicator and Aggregate make the tree.
    """
    meta = _read_csv(path, "META")
    absent = [c for c in META_COLUMNS if c not in meta.columns]
    if absent:
        raise CompositeError(f"{Path(path).name}: missing column(s) {absent}; "
                             f"a COINr iMeta has {list(META_COLUMNS)}")
    unknown = sorted(set(meta["Type"].dropna()) - set(META_TYPES))
    if unknown or meta["Type"].isna().any():
        raise CompositeError(f"{Path(path).name}: unknown Type {unknown or ['(empty)']}; "
                             f"valid: {list(META_TYPES)}")
    tree = meta[meta["Type"].isin(["Indicator", "Aggregate"])]
    nodes = tuple(_node(row, Path(path).name) for row in tree.to_dict("records"))
    for node in nodes:
        kind = tree.loc[tree["iCode"] == node.code, "Type"].iloc[0]
        if (kind == "Indicator") != (node.level == 1):
            raise CompositeError(f"{Path(path).name}: {node.code!r} is of type {kind} at level "
                                 f"{node.level}; indicators are level 1, aggregates above")
    return Hierarchy(nodes), meta


def read_coinr(data_path: Path | str, meta_path: Path | str) -> CompositeData:
    """Read COINr ``iData`` and ``iMeta`` CSV files into composite data.

    ``iData`` has ``uCode``, optionally ``uName``, and one column per indicator; columns
    declared in ``iMeta`` as Denominator or Group are kept for those steps.
    """
    hierarchy, meta = read_coinr_meta(meta_path)
    data = _read_csv(data_path, "DATA")
    if "uCode" not in data.columns:
        raise CompositeError(f"{Path(data_path).name}: no uCode column (the unit code)")
    if data["uCode"].isna().any():
        raise CompositeError(f"{Path(data_path).name}: some rows have no uCode")
    data = data.set_index(data["uCode"].astype(str)).drop(columns="uCode")
    data.index.name = "uCode"
    missing = [c for c in hierarchy.indicators if c not in data.columns]
    if missing:
        raise CompositeError(f"indicators of {Path(meta_path).name} missing from "
                             f"{Path(data_path).name}: {missing}")
    for code in hierarchy.indicators:
        data[code] = _numeric(data[code], code, Path(data_path).name)
    names = data["uName"].fillna("").astype(str) if "uName" in data.columns else None
    return CompositeData(
        hierarchy=hierarchy,
        values=data[list(hierarchy.indicators)],
        names=names,
        denominators=_declared(data, meta, "Denominator", Path(data_path).name, numeric=True),
        groups=_declared(data, meta, "Group", Path(data_path).name, numeric=False),
    )


def read_weights(path: Path | str) -> dict[str, float]:
    """A COINr weights table (``iCode, Weight``) as a mapping; it overrides iMeta's weights."""
    table = _read_csv(path, "WEIGHTS")
    absent = [c for c in ("iCode", "Weight") if c not in table.columns]
    if absent:
        raise CompositeError(f"{Path(path).name}: missing column(s) {absent}; "
                             "expected iCode, Weight")
    codes = table["iCode"].astype(str)
    if codes.duplicated().any():
        raise CompositeError(f"{Path(path).name}: iCode listed twice: "
                             f"{sorted(codes[codes.duplicated()].unique())}")
    weights = _numeric(table["Weight"], "Weight", Path(path).name)
    if weights.isna().any():
        raise CompositeError(f"{Path(path).name}: empty Weight for "
                             f"{sorted(codes[weights.isna()])}")
    return dict(zip(codes, weights.astype(float), strict=True))


def _read_csv(path: Path | str, role: str) -> pd.DataFrame:
    """Every column as text (codes such as ``001`` survive); numbers are converted by name."""
    path = Path(path)
    if not path.is_file():
        raise CompositeError(f"{role} file not found: {path}")
    try:
        return pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CompositeError(f"{path.name}: not a readable CSV file ({error})") from None


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]


def _numeric(series: pd.Series, code: str, where: str) -> pd.Series:
    converted = pd.to_numeric(series, errors="coerce").astype(float)
    bad = series.notna() & converted.isna()
    if bad.any():
        raise CompositeError(f"{where}: column {code!r} has non-numeric values, e.g. "
                             f"{series[bad].iloc[0]!r}")
    return converted


def _node(row: dict, where: str) -> Node:
    code = _text(row["iCode"])
    if code is None:
        raise CompositeError(f"{where}: a row of the tree has no iCode")
    level = _number(row.get("Level"), code, "Level", where)
    if not float(level).is_integer():
        raise CompositeError(f"{where}: Level of {code!r} is {level}; expected a whole number")
    direction = row.get("Direction")
    return Node(
        code=str(code),
        level=int(level),
        parent=_text(row.get("Parent")),
        weight=1.0 if _text(row.get("Parent")) is None and _text(row.get("Weight")) is None
        else _number(row.get("Weight"), code, "Weight", where),  # the index needs no weight
        direction=int(_number(direction, code, "Direction", where)) if int(level) == 1 else 1,
        name=_text(row.get("iName")) or code,
        target=_optional_number(row.get("Target"), code, "Target", where),
        denominator=_text(row.get("Denominator")),
    )


def _number(value: object, code: str, column: str, where: str) -> float:
    number = _optional_number(value, code, column, where)
    if number is None:
        raise CompositeError(f"{where}: {column} of {code!r} is empty")
    return number


def _optional_number(value: object, code: str, column: str, where: str) -> float | None:
    if _text(value) is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CompositeError(f"{where}: {column} of {code!r} is {value!r}, not a number") \
            from None


def _declared(data: pd.DataFrame, meta: pd.DataFrame, kind: str, where: str,
              numeric: bool) -> pd.DataFrame | None:
    codes = [str(c) for c in meta.loc[meta["Type"] == kind, "iCode"].dropna()]
    if not codes:
        return None
    absent = [c for c in codes if c not in data.columns]
    if absent:
        raise CompositeError(f"{where}: {kind} column(s) declared in META but absent: {absent}")
    frame = data[codes].copy()
    if numeric:
        for code in codes:
            frame[code] = _numeric(frame[code], code, where)
    return frame
