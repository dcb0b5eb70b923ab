"""Confidence intervals for design-based estimates, as R's ``confint`` and ``svyciprop``.

Vectorised over domains with numpy/scipy: tens of thousands of domains get their
intervals in one call each, never in a Python loop.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special, stats

from indicators.survey.design import SurveyDesignError

EstimateCI = Literal["normal", "t"]
ProportionCI = Literal["logit", "beta", "mean", "xlogit", "asin", "normal"]
_ESTIMATE_METHODS = ("normal", "t")
_PROPORTION_METHODS = ("logit", "beta", "mean", "xlogit", "asin", "normal")
# A proportion's standard error below this is rounding noise around zero.
_FLAT_SE = 1e-10


def check_method(ci: str, proportion: bool, level: float) -> None:
    """Reject unknown methods and levels early, before any query runs."""
    allowed = _PROPORTION_METHODS if proportion else _ESTIMATE_METHODS
    if ci not in allowed:
        raise SurveyDesignError(f"ci must be one of {allowed}, got {ci!r}")
    if not 0 < level < 1:
        raise SurveyDesignError(f"level must be strictly between 0 and 1, got {level!r}")


def quantile(level: float, df: np.ndarray | float) -> np.ndarray:
    """Upper quantile of t(df) at (1+level)/2; df = inf gives the normal quantile.

    R's ``tconfint`` uses ``qt(a, df)`` with ``df=Inf`` by default; non-positive df give NaN,
    as R's qt does.
    """
    df = np.asarray(df, dtype=float)
    p = (1 + level) / 2
    # Domains share a handful of degrees of freedom: one t quantile per distinct value.
    distinct, index = np.unique(np.where(df > 0, df, 1), return_inverse=True)
    with np.errstate(invalid="ignore"):
        per_df = np.where(np.isinf(distinct), stats.norm.ppf(p), stats.t.ppf(p, distinct))
    return np.where(df > 0, per_df[index].reshape(df.shape), np.nan)


def wald(
    est: np.ndarray, se: np.ndarray, level: float, df: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric interval est +/- q*se (R: confint.svystat, svyciprop method="mean")."""
    q = quantile(level, df)
    return est - q * se, est + q * se


def proportion_interval(
    method: str,
    p: np.ndarray,
    se: np.ndarray,
    level: float,
    df: np.ndarray,
    n_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a proportion exactly as ``survey::svyciprop`` (survey 4.1) computes it.

    ``df`` is ``degf()`` of the domain's design and ``n_rows`` its ``nrow()``: svyciprop
    is called on the subset design, so both are domain quantities.
    """
    lo, hi = _proportion_interval(method, p, se, level, df, n_rows)
    # No estimated sampling variability (a domain all 0 or all 1, or only census strata),
    # up to rounding noise: the interval collapses to the estimate. R's beta interval is
    # then NaN (0/0 effective sample size) or, with noise, the estimate itself.
    flat = se < _FLAT_SE
    return np.where(flat, p, lo), np.where(flat, p, hi)


def _proportion_interval(
    method: str,
    p: np.ndarray,
    se: np.ndarray,
    level: float,
    df: np.ndarray,
    n_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    if method == "normal":
        return wald(p, se, level, np.inf)
    if method == "mean":
        return wald(p, se, level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("logit", "xlogit"):
            # svyglm(quasibinomial) intercept: its sandwich SE is SE(p)/(p(1-p)).
            eta = np.log(p / (1 - p))
            half = quantile(level, df) * se / (p * (1 - p))
            lo, hi = special.expit(eta - half), special.expit(eta + half)
            fixed = (p == 0) | (p == 1)
            return np.where(fixed, p, lo), np.where(fixed, p, hi)
        if method == "asin":
            # svycontrast of asin(sqrt(p)): delta-method SE = SE(p) / (2 sqrt(p(1-p))).
            centre = np.arcsin(np.sqrt(p))
            half = quantile(level, df) * se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(centre - half) ** 2, np.sin(centre + half) ** 2
        if method == "beta":
            return _korn_graubard(p, se, level, df, n_rows)
    raise SurveyDesignError(f"unknown proportion interval method {method!r}")


def _korn_graubard(
    p: np.ndarray, se: np.ndarray, level: float, df: np.ndarray, n_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard interval: beta quantiles at the df-adjusted effective sample size.

    n_eff = p(1-p)/var(p) * (qt(alpha/2, nrow-1) / qt(alpha/2, degf))^2, as in svyciprop.
    """
    alpha = 1 - level
    n_eff = p * (1 - p) / se**2
    t_rows = stats.t.ppf(alpha / 2, np.where(n_rows > 1, n_rows - 1, 1))
    t_df = stats.t.ppf(alpha / 2, np.where(df > 0, df, 1))
    n_eff = np.where((n_rows > 1) & (df > 0), n_eff * (t_rows / t_df) ** 2, np.nan)
    x = n_eff * p
    lo = np.where(x > 0, stats.beta.ppf(alpha / 2, np.where(x > 0, x, 1), n_eff * (1 - p) + 1), 0)
    y = n_eff * (1 - p)
    hi = np.where(y > 0, stats.beta.ppf(1 - alpha / 2, x + 1, np.where(y > 0, y, 1)), 1)
    bad = ~np.isfinite(n_eff)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
