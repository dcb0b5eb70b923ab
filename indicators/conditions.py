"""Conditions written by people (survey filters, catalogue definitions) checked before any SQL.

A condition such as ``formal_12m = 1 OR nonformal_12m = 1`` or ``"sch.wide" = 'Yes'`` comes
from a command line, a catalogue file or a caller: it is text that will be pasted into a
DuckDB statement. It is therefore read first, with SQLGlot in DuckDB's dialect, and accepted
only if it is one expression over the table's own columns, made of

* column names (as DuckDB matches them: case-insensitively; quoted names such as
  ``"sch.wide"`` too) and literals (numbers, strings, TRUE, FALSE, NULL, DATE '…',
  INTERVAL …);
* arithmetic (``+ - * / // % ^``, ``||``), comparisons (``= <> < <= > >=``, ``IS [NOT]
  DISTINCT FROM``), ``AND``/``OR``/``NOT``, ``IN (…)`` lists, ``BETWEEN``, ``IS [NOT] NULL``,
  ``IS [NOT] TRUE/FALSE``, ``LIKE``/``ILIKE`` (with ``ESCAPE``), ``CASE``, ``CAST``/
  ``TRY_CAST``/``::`` to a scalar type;
* the scalar functions of ``FUNCTIONS``.

Everything else is refused with a ``ConditionError`` that names the condition, the part
refused and why, in English and French: statements (``COPY``, ``ATTACH``, ``SET``, ``PRAGMA``,
``INSTALL``, ``LOAD``), a second statement after ``;``, comments, subqueries, table functions
and every other function (``read_csv``, ``read_text``, ``glob``, ``getenv``, ``current_setting``
…), aggregates, window functions, lambdas, ``*``, parameters (``?``, ``$1``), and columns
the table does not have. What is returned is the SQL SQLGlot writes back from the checked
tree, every column quoted with its real name: what runs is what was checked.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

MAX_LENGTH = 2000  # characters of a condition
MAX_NESTING = 16  # parentheses and CASE … END, one inside the other
MAX_DEPTH = 48  # operators and functions, one inside the other (a chain of AND counts once)
DIALECT = "duckdb"

# The scalar functions a condition may call, by the SQLGlot node DuckDB's name is read into.
_FUNCTION_NODES: dict[type[exp.Expression], str] = {
    exp.Abs: "abs", exp.Round: "round", exp.Floor: "floor", exp.Ceil: "ceil",
    exp.Sign: "sign", exp.Trunc: "trunc", exp.Ln: "ln", exp.Log: "log", exp.Exp: "exp",
    exp.Sqrt: "sqrt", exp.Pow: "power", exp.IsNan: "isnan", exp.IsInf: "isinf",
    exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Least: "least",
    exp.Greatest: "greatest", exp.If: "if",
    exp.Lower: "lower", exp.Upper: "upper", exp.Trim: "trim", exp.Length: "length",
    exp.Substring: "substring", exp.Left: "left", exp.Right: "right",
    exp.StrPosition: "strpos", exp.StartsWith: "starts_with", exp.EndsWith: "ends_with",
    exp.Contains: "contains", exp.Replace: "replace", exp.Concat: "concat",
    exp.RegexpLike: "regexp_matches", exp.RegexpFullMatch: "regexp_full_match",
    exp.Year: "year", exp.Month: "month", exp.Day: "day", exp.Quarter: "quarter",
    exp.Extract: "extract",
}
# Functions SQLGlot does not know by name (it reads them as anonymous calls).
_FUNCTION_NAMES = frozenset({"isfinite", "date_part", "datepart", "strlen", "prefix", "suffix"})
FUNCTIONS = tuple(sorted({*_FUNCTION_NODES.values(), *_FUNCTION_NAMES, "substr", "ceiling",
                          "ifnull", "pow", "log10", "log2", "ltrim", "rtrim", "len", "lcase",
                          "ucase"}))

# Nodes allowed whatever their place (functions are checked apart, by name).
_OPERATORS: tuple[type[exp.Expression], ...] = (
    exp.Paren, exp.Not, exp.And, exp.Or, exp.Xor, exp.Neg,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.DPipe,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Escape,
    exp.Case, exp.Literal, exp.Boolean, exp.Null, exp.Interval, exp.DataTypeParam,
)
# A chain of the same operator (a AND b AND c) nests in the tree but not in the reading.
_CHAINS = (exp.And, exp.Or, exp.Add, exp.Mul, exp.DPipe)
_SCALAR_TYPES = frozenset(getattr(exp.DataType.Type, name) for name in (
    "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINT", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "TEXT", "VARCHAR", "CHAR",
    "NVARCHAR", "NCHAR", "DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL",
) if hasattr(exp.DataType.Type, name))
# Why a known dangerous function is refused, beyond "not in the list".
_READERS = frozenset({
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_ndjson", "read_text", "read_blob", "glob", "read_xlsx", "query", "query_table",
    "sniff_csv", "parquet_metadata", "parquet_schema", "iceberg_scan", "delta_scan",
})
_MACHINE = frozenset({"getenv", "current_setting", "duckdb_settings", "duckdb_extensions",
                      "duckdb_databases", "duckdb_tables", "duckdb_columns", "pragma_version",
                      "version", "current_database", "current_schema", "nextval", "currval",
                      "setseed", "random", "uuid", "gen_random_uuid", "now",
                      "current_timestamp", "current_date", "current_time"})
_STATEMENTS: tuple[type[exp.Expression], ...] = (
    exp.Command, exp.Copy, exp.Set, exp.Pragma, exp.Attach, exp.Detach, exp.Install,
    exp.Describe, exp.Use, exp.Show, exp.DDL, exp.DML, exp.Drop, exp.Transaction, exp.Commit,
    exp.Rollback, exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Alter, exp.Merge,
)
_ROLES_FR = {"condition": "de la condition", "where": "du filtre where",
             "population": "de la population", "variable": "de la variable",
             "column": "de la colonne", "numerator": "du numérateur",
             "denominator": "du dénominateur"}


class ConditionError(ValueError):
    """A condition refused before it reaches SQL: the message names it, the part and why.

    ``french`` holds the same message in French; ``condition``, ``role`` and ``part`` the
    text as written, what it is (condition, where, population…) and the part refused.
    """

    def __init__(self, message: str, *, french: str = "", condition: str = "",
                 role: str = "condition", part: str = "") -> None:
        super().__init__(message)
        self.french = french or message
        self.condition = condition
        self.role = role
        self.part = part


@dataclass
class _Refusal(Exception):
    """Internal: what is refused and why (English, French)."""

    part: str
    why: str
    pourquoi: str
    syntax: bool = False  # the text is not SQL at all


def check_expression(text: str, columns: Iterable[str] | None, *, role: str = "condition",
                     qualifier: str | None = None) -> str:
    """The checked condition as DuckDB SQL, or a ``ConditionError`` saying what is refused.

    ``columns`` are the names of the table's columns; ``None`` checks everything but the
    column names (a catalogue read before its table exists). With ``qualifier`` each column
    is written ``qualifier."name"`` (for a statement that joins other tables).
    """
    try:
        tree = _parse(text)
        known = None if columns is None else {c.lower(): c for c in columns}
        tree = _check_tree(tree, known, qualifier)
        return tree.sql(dialect=DIALECT, comments=False)
    except _Refusal as refusal:
        raise _error(text, role, refusal) from None


def columns_used(text: str, *, role: str = "condition") -> list[str]:
    """The column names an allowed expression reads (checked first, as ``check_expression``
    with no columns), in order of first use: to say which of them a table lacks."""
    check_expression(text, None, role=role)
    names = [c.name for c in _parse(text).find_all(exp.Column)]
    return list(dict.fromkeys(names))


def check_columns(names: Iterable[str], columns: Iterable[str], *, role: str = "column") -> None:
    """Every name is one of ``columns`` (as DuckDB matches them), or a ``ConditionError``."""
    known = {c.lower(): c for c in columns}
    for name in names:
        if name.lower() not in known:
            raise _error(name, role, _unknown_column(name, known))


def close_matches(name: str, columns: Iterable[str]) -> list[str]:
    """Up to three column names close to ``name`` (case-insensitive), best first."""
    by_lower = {c.lower(): c for c in columns}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[f] for f in found]


def _error(text: str, role: str, refusal: _Refusal) -> ConditionError:
    shown = text if len(text) <= 200 else text[:200] + "…"
    de_role = _ROLES_FR.get(role, f"de l'expression {role}")
    if refusal.syntax:
        return ConditionError(
            f"{role} {shown!r} is not a valid SQL expression: {refusal.why}",
            french=f"Refus {de_role} {shown!r}, qui n'est pas une expression SQL valide : "
                   f"{refusal.pourquoi}",
            condition=text, role=role, part=refusal.part)
    return ConditionError(
        f"{role} {shown!r} is refused: {refusal.why}",
        french=f"Refus {de_role} {shown!r} : {refusal.pourquoi}",
        condition=text, role=role, part=refusal.part)


def _parse(text: str) -> exp.Expression:
    if not isinstance(text, str):
        raise _Refusal(repr(text), "a condition must be text",
                       "une condition doit être un texte")
    if not text.strip():
        raise _Refusal("", "it is empty", "elle est vide")
    if len(text) > MAX_LENGTH:
        raise _Refusal(text[:40], f"it is longer than {MAX_LENGTH} characters",
                       f"elle dépasse {MAX_LENGTH} caractères")
    if "\x00" in text:
        raise _Refusal("\\x00", "it contains a NUL character", "elle contient un caractère NUL")
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except TokenError:
        raise _Refusal(text, "a string, quoted name or comment is not closed",
                       "une chaîne, un nom entre guillemets ou un commentaire n'est pas fermé",
                       syntax=True) from None
    _check_tokens(tokens)
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # no "falling back to a Command" warning
    try:
        trees = sqlglot.parse(text, read=DIALECT)
    except ParseError as error:
        near = error.errors[0] if error.errors else {}
        where = f" near character {near['col']}" if near.get("col") else ""
        ou = f" vers le caractère {near['col']}" if near.get("col") else ""
        raise _Refusal(str(near.get("highlight", text)), f"it cannot be read{where}",
                       f"elle est illisible{ou}", syntax=True) from None
    except RecursionError:
        raise _Refusal(text[:40], "it is nested too deeply",
                       "elle est imbriquée trop profondément") from None
    finally:
        sqlglot_logger.setLevel(level)
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise _Refusal(text, "it is not one expression", "ce n'est pas une seule expression")
    tree = trees[0]
    if isinstance(tree, exp.Subquery):
        raise _subquery(tree)
    if isinstance(tree, exp.Query | exp.Values):
        raise _Refusal(_part(tree), "it is a query, not an expression",
                       "c'est une requête, pas une expression")
    if isinstance(tree, _STATEMENTS):
        word = text.split()[0].upper()
        raise _Refusal(word, f"it is a statement ({word}), not an expression",
                       f"c'est une instruction ({word}), pas une expression")
    if not isinstance(tree, exp.Condition):
        _allowed(tree)  # raises, naming what it is
    return tree


def _check_tokens(tokens: list) -> None:
    """Refuse on the tokens what needs no tree: ``;``, comments, deep nesting."""
    nesting = 0
    for token in tokens:
        if token.comments:
            raise _Refusal("--" if "--" in token.text else "/* */",
                           "it contains a comment (a condition may not hide text in comments)",
                           "elle contient un commentaire (une condition ne peut rien cacher "
                           "dans un commentaire)")
        kind = token.token_type
        if kind == TokenType.SEMICOLON:
            raise _Refusal(";", "it contains ';' (a condition is one expression, never a "
                           "statement or a second statement)",
                           "elle contient « ; » (une condition est une seule expression, "
                           "jamais une instruction ni une seconde instruction)")
        if kind in (TokenType.L_PAREN, TokenType.CASE):
            nesting += 1
        elif kind in (TokenType.R_PAREN, TokenType.END):
            nesting -= 1
        if nesting > MAX_NESTING:
            raise _Refusal("(", f"it nests more than {MAX_NESTING} parentheses or CASE",
                           f"elle imbrique plus de {MAX_NESTING} parenthèses ou CASE")


def _check_tree(tree: exp.Expression, known: dict[str, str] | None,
                qualifier: str | None) -> exp.Expression:
    """``tree`` checked node by node, its columns rewritten (a bare column is replaced).

    ``known`` maps lower-cased column names to real ones (None: names not checked)."""
    if isinstance(tree, exp.Column):
        tree = exp.Paren(this=tree)
    stack: list[tuple[exp.Expression, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refusal(_part(node), f"it nests more than {MAX_DEPTH} operations",
                           f"elle imbrique plus de {MAX_DEPTH} opérations")
        if isinstance(node, exp.Column):
            _column(node, known, qualifier)
            continue
        _allowed(node)
        for child in node.iter_expressions():
            same = isinstance(node, _CHAINS) and type(child) is type(node)
            stack.append((child, depth if same else depth + 1))
    return tree.this if isinstance(tree, exp.Paren) and isinstance(tree.this, exp.Column) \
        else tree


def _part(node: exp.Expression) -> str:
    try:
        text = node.sql(dialect=DIALECT, comments=False)
    except Exception:  # noqa: BLE001 - only for the message
        text = type(node).__name__
    return text if len(text) <= 80 else text[:80] + "…"


def _column(node: exp.Column, known: dict[str, str] | None, qualifier: str | None) -> None:
    """A column of the table: unqualified, known, rewritten as its real name quoted."""
    if not isinstance(node.this, exp.Identifier):
        raise _Refusal(_part(node), f"{_part(node)} is not a column name",
                       f"{_part(node)} n'est pas un nom de colonne")
    name = node.name
    if node.table or node.args.get("db") or node.args.get("catalog"):
        dotted = ".".join(p.name for p in node.parts)
        hint = (f'; quote a name that holds a dot: "{dotted}"' if known is None
                or dotted.lower() in known else "")
        indice = (f' ; un nom qui contient un point s\'écrit entre guillemets : "{dotted}"'
                  if hint else "")
        raise _Refusal(dotted, f"{dotted} names a column of another table or a field{hint}",
                       f"{dotted} désigne la colonne d'une autre table ou un champ{indice}")
    real = name if known is None else known.get(name.lower())
    if real is None:
        raise _unknown_column(name, known)
    if known is not None or qualifier is not None:
        node.replace(exp.column(real, table=qualifier, quoted=True))


def _unknown_column(name: str, known: dict[str, str]) -> _Refusal:
    close = close_matches(name, known.values())
    available = sorted(known.values())
    listed = ", ".join(available[:40]) + (" …" if len(available) > 40 else "")
    maybe = f" (did you mean {' or '.join(close)}?)" if close else ""
    peut_etre = f" (vouliez-vous dire {' ou '.join(close)} ?)" if close else ""
    return _Refusal(name, f"unknown column {name!r}{maybe}; the columns are: {listed}",
                    f"colonne inconnue {name!r}{peut_etre} ; les colonnes sont : {listed}")


def _allowed(node: exp.Expression) -> None:
    """Raise unless ``node`` (not a column) may appear in a condition."""
    if isinstance(node, _OPERATORS):
        if isinstance(node, exp.In) and any(node.args.get(k) for k in ("query", "unnest",
                                                                       "field")):
            raise _subquery(node)
        return
    if isinstance(node, exp.Var):
        if isinstance(node.parent, exp.Extract | exp.Interval) and node.name.isalpha():
            return
        raise _Refusal(node.name, f"{node.name} is not a column, value or operator",
                       f"{node.name} n'est ni une colonne, ni une valeur, ni un opérateur")
    if isinstance(node, exp.Identifier):
        return  # only under a column, an interval or a type (checked there)
    if isinstance(node, exp.Cast):  # CAST, TRY_CAST, ::
        _scalar_type(node)
        return
    if isinstance(node, exp.DataType) and isinstance(node.parent, exp.Cast):
        return
    if isinstance(node, exp.Select | exp.Subquery | exp.Exists | exp.Query | exp.Any
                  | exp.All):
        raise _subquery(node)
    if isinstance(node, exp.Star):
        raise _Refusal("*", "it contains * (a condition names its columns)",
                       "elle contient * (une condition nomme ses colonnes)")
    if isinstance(node, exp.Placeholder | exp.Parameter | exp.SessionParameter):
        part = _part(node)
        raise _Refusal(part, f"it contains the parameter {part} (a condition holds its "
                       "values as literals)",
                       f"elle contient le paramètre {part} (une condition écrit ses valeurs "
                       "en clair)")
    if isinstance(node, exp.Window):
        raise _Refusal(_part(node), f"{_part(node)} is a window function (a condition "
                       "reads one row)",
                       f"{_part(node)} est une fonction de fenêtre (une condition lit une "
                       "seule ligne)")
    if isinstance(node, exp.AggFunc):
        name = _function_name(node)
        raise _Refusal(name, f"{name} is an aggregate function (a condition reads one row; "
                       "the estimator does the sums)",
                       f"{name} est une fonction d'agrégation (une condition lit une seule "
                       "ligne ; l'estimateur fait les sommes)")
    if isinstance(node, exp.Lambda):
        raise _Refusal(_part(node), "it contains a lambda", "elle contient une lambda")
    if isinstance(node, exp.Func):
        _function(node)
        return
    part = _part(node)
    raise _Refusal(part, f"{part} is not allowed in a condition ({_kind(node)})",
                   f"{part} n'est pas permis dans une condition ({_kind(node)})")


def _kind(node: exp.Expression) -> str:
    return {"Alias": "AS", "Bracket": "[ ]", "Dot": ".", "Collate": "COLLATE",
            "PositionalColumn": "#n", "Columns": "COLUMNS", "Array": "list",
            "Struct": "struct", "ByteString": "E'…'", "Tuple": "tuple"}.get(
                type(node).__name__, type(node).__name__)


def _subquery(node: exp.Expression) -> _Refusal:
    part = _part(node)
    return _Refusal(part, f"{part} is a subquery (a condition reads the row's own columns "
                    "only)",
                    f"{part} est une sous-requête (une condition ne lit que les colonnes de "
                    "la ligne)")


def _function_name(node: exp.Func) -> str:
    """The function's name as DuckDB reads it (SQLGlot may know it by another name)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    called = re.match(r"([A-Za-z_]\w*)\(", _part(node))
    return called[1].lower() if called else node.sql_name().lower()


def _function(node: exp.Func) -> None:
    if isinstance(node, exp.Anonymous):
        name = _function_name(node)
        if name in _FUNCTION_NAMES:
            return
    elif type(node) in _FUNCTION_NODES:
        return
    else:
        name = _function_name(node)
    allowed = ", ".join(FUNCTIONS)
    if name in _READERS or isinstance(node, exp.ReadCSV | exp.ReadParquet):
        why = f"{name} reads files or tables"
        pourquoi = f"{name} lit des fichiers ou des tables"
    elif name in _MACHINE:
        why = f"{name} reads the machine, the database or the clock"
        pourquoi = f"{name} lit la machine, la base ou l'horloge"
    else:
        why, pourquoi = f"{name} is not an allowed function", \
            f"{name} n'est pas une fonction permise"
    raise _Refusal(name, f"{why}; a condition may call only {allowed}",
                   f"{pourquoi} ; une condition ne peut appeler que {allowed}")


def _scalar_type(node: exp.Cast) -> None:
    to = node.args.get("to")
    if not isinstance(to, exp.DataType) or to.this not in _SCALAR_TYPES or to.args.get(
            "nested") or any(isinstance(e, exp.DataType) for e in to.expressions):
        part = to.sql(dialect=DIALECT) if isinstance(to, exp.Expression) else str(to)
        raise _Refusal(part, f"a CAST to {part} (a condition casts to a number, text, "
                       "boolean, date or time only)",
                       f"un CAST vers {part} (une condition ne convertit qu'en nombre, texte, "
                       "booléen, date ou heure)")
