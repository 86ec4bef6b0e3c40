"""Effect sizes and random-effects meta-analysis, matching R's metafor 3.8.

Pure numerics (numpy, scipy, statsmodels; no Django, no I/O), so the evidence page, the tests and
a notebook all run the same code. Every formula follows metafor (Viechtbauer 2010, J Stat Softw
36(3)), whose numbers ``tests/evidence/test_meta_vs_metafor.py`` checks us against:

- ``log_risk_ratio``: metafor ``escalc(measure="RR")``; 1/2 is added to the four cells of a
  study only when one of its cells is zero (``add=1/2, to="only0"``, the default).
- ``smd``: metafor ``escalc(measure="SMD")``: Hedges' g with the exact small-sample factor
  ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, m = n1 + n2 - 2, and the large-sample
  variance ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``.
- ``common_effect``: metafor ``rma(yi, vi, method="EE")`` (the common-effect, or fixed-effect,
  model): inverse-variance weights 1/v_i, z-based interval; its prediction interval is the
  confidence interval (no between-study variance).
- ``random_effects``: metafor ``rma(yi, vi, method=..., test=...)`` and ``predict()``:
  tau^2 by DerSimonian-Laird ("DL"), restricted maximum likelihood ("REML", Fisher scoring) or
  Paule-Mandel ("PM"); optional Knapp-Hartung ("knha"); Cochran's Q with k - 1 df; I^2 and H^2 in
  metafor's definition (see ``MetaResult``); the prediction interval.

statsmodels (``combine_effects``) estimates tau^2 for DL ("chi2"). It does not truncate a
negative DL estimate at 0 as metafor does, so the estimate is clamped here, and the pooled
quantities are computed below in one code path for all three estimators. statsmodels has no REML,
so REML is Fisher scoring written here as in metafor's ``rma.uni``.

Paule-Mandel is not taken from statsmodels' "iterated" estimator: its fixed-point iteration
stops short of the root when the generalised Q equation reaches k - 1 only at rounding noise (a
small data set with heterogeneity near zero), and the estimate then failed a convergence check
where metafor converges. Here it is solved as metafor's ``rma.uni`` solves it: tau^2 = 0 when
Q(0) <= k - 1, otherwise the root of Q(tau^2) = k - 1 (Q decreases in tau^2) found by Brent's
bracketing method (``scipy.optimize.brentq``), which always converges on a sign change.

Errors: ``MetaAnalysisError`` (a ValueError) names the argument and the problem.

scipy and statsmodels are imported by the functions that use them, so importing this module
(every page's URLconf does, through the evidence view) costs no second of start-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Method = Literal["DL", "REML", "PM"]
METHODS: tuple[Method, ...] = ("DL", "REML", "PM")
ModelMethod = Literal["EE", "DL", "REML", "PM"]
"""A pooled model: "EE" is the common-effect (fixed-effect) model, as metafor names it."""

REML_THRESHOLD = 1e-10
"""Fisher scoring stops when tau^2 changes by less than this (metafor's default is 1e-5)."""
PM_XTOL = 1e-14
"""Brent's method stops when the bracket on tau^2 is narrower than this (plus a relative part)."""
PM_MAX_TAU2 = 1e12
"""The upper end of the Paule-Mandel bracket is doubled from 100 (metafor's ``tau2.max``) up to
this before the data are declared too heterogeneous to solve."""
MAX_ITER = 1000

FloatArray = NDArray[np.float64]


class MetaAnalysisError(ValueError):
    """Bad input to an effect size or a meta-analysis; the message names the argument."""


@dataclass(frozen=True)
class EffectSize:
    """One study's effect (``yi``) and its sampling variance (``vi``), as metafor's escalc."""

    yi: float
    vi: float

    @property
    def se(self) -> float:
        return math.sqrt(self.vi)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Wald interval ``yi -/+ z * sqrt(vi)``, as metafor's forest plot draws it."""
        from scipy import stats

        z = float(stats.norm.isf((1 - level) / 2))
        return (self.yi - z * self.se, self.yi + z * self.se)


@dataclass(frozen=True)
class MetaResult:
    """A pooled meta-analysis, every number as metafor's ``rma`` and ``predict``.

    ``method`` "EE" is the common-effect model (tau^2 = 0, weights 1/v_i, z interval, prediction
    interval equal to the confidence interval); the others are random-effects estimators.

    - ``tau2``: between-study variance.
    - ``q``, ``q_df``, ``q_p``: Cochran's Q = sum (y_i - y_FE)^2 / v_i, its df k - 1 and the
      chi-square p-value (test of homogeneity).
    - ``i2``: metafor's I^2 = 100 tau^2 / (tau^2 + s^2), where s^2 = (k - 1) / (sum w -
      sum w^2 / sum w), w = 1/v_i, is the "typical" within-study variance (Higgins & Thompson
      2002). It depends on the tau^2 estimator; only with DL (tau^2 > 0) does it equal Higgins'
      (Q - df) / Q.
    - ``h2``: (tau^2 + s^2) / s^2.
    - ``estimate``, ``se``, ``ci``: pooled effect with weights 1/(v_i + tau^2); with
      Knapp-Hartung the SE is multiplied by sqrt(sum w_i (y_i - mu)^2 / (k - 1)) (not truncated,
      metafor's "knha") and the interval and p-value use t with k - 1 df, otherwise z.
    - ``pi``: prediction interval for the true effect in a new study, estimate -/+ crit *
      sqrt(se^2 + tau^2), crit from t(k - 1) with Knapp-Hartung, from z without (metafor 3.8
      ``predict``).
    """

    method: ModelMethod
    knha: bool
    k: int
    estimate: float
    se: float
    ci: tuple[float, float]
    zval: float
    pval: float
    tau2: float
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    pi: tuple[float, float]
    level: float


def _as_array(name: str, values: Sequence[float] | FloatArray) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise MetaAnalysisError(f"{name}: expected a non-empty list of numbers")
    if not np.all(np.isfinite(array)):
        raise MetaAnalysisError(f"{name}: every value must be a finite number")
    return array


def log_risk_ratio(events1: int, n1: int, events2: int, n2: int) -> EffectSize:
    """Log risk ratio of group 1 vs group 2 from event counts (metafor escalc "RR").

    1/2 is added to all four cells only when one of them is zero (metafor ``to="only0"``);
    a study with no events or only events in both groups has no estimable ratio.
    """
    for name, value in (("events1", events1), ("n1", n1), ("events2", events2), ("n2", n2)):
        if value < 0:
            raise MetaAnalysisError(f"{name}: must not be negative (got {value})")
    if n1 == 0 or n2 == 0:
        raise MetaAnalysisError("n1, n2: each group needs at least one patient")
    if events1 > n1 or events2 > n2:
        raise MetaAnalysisError("events1, events2: more events than patients in a group")
    if (events1 == 0 and events2 == 0) or (events1 == n1 and events2 == n2):
        raise MetaAnalysisError(
            "events: no events (or only events) in both groups; RR is undefined"
        )
    a, b, c, d = float(events1), float(n1 - events1), float(events2), float(n2 - events2)
    if 0.0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    m1, m2 = a + b, c + d
    yi = math.log(a / m1) - math.log(c / m2)
    vi = 1 / a - 1 / m1 + 1 / c - 1 / m2
    return EffectSize(yi=yi, vi=vi)


def hedges_correction(df: float) -> float:
    """Exact small-sample factor J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981)."""
    from scipy import special

    if df <= 1:
        raise MetaAnalysisError(f"df: the correction needs more than 1 degree of freedom ({df})")

    return math.exp(
        special.gammaln(df / 2) - math.log(math.sqrt(df / 2)) - special.gammaln((df - 1) / 2)
    )


def smd(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int) -> EffectSize:
    """Standardized mean difference (group 1 minus group 2), Hedges' g (metafor escalc "SMD").

    g = J(n1 + n2 - 2) (mean1 - mean2) / s_pooled;
    v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)).
    """
    if n1 < 2 or n2 < 2:
        raise MetaAnalysisError(f"n1, n2: each group needs at least 2 patients (got {n1}, {n2})")
    if not (sd1 > 0 and sd2 > 0):
        raise MetaAnalysisError(f"sd1, sd2: standard deviations must be positive ({sd1}, {sd2})")
    df = n1 + n2 - 2
    pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    yi = hedges_correction(df) * (mean1 - mean2) / pooled
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    return EffectSize(yi=yi, vi=vi)


def _tau2_dl(yi: FloatArray, vi: FloatArray) -> float:
    """DL tau^2 from statsmodels, clamped at 0 as metafor does."""
    from statsmodels.stats.meta_analysis import combine_effects

    result = combine_effects(yi, vi, method_re="chi2")
    return max(0.0, float(result.tau2))


def generalised_q(yi: FloatArray, vi: FloatArray, tau2: float) -> float:
    """Q(tau^2) = sum w_i (y_i - mu_w)^2 with w_i = 1/(v_i + tau^2): decreasing in tau^2."""
    weights = 1 / (vi + tau2)
    mu = float(np.sum(weights * yi) / np.sum(weights))
    return float(np.sum(weights * (yi - mu) ** 2))


def _tau2_pm(yi: FloatArray, vi: FloatArray) -> float:
    """Paule-Mandel tau^2: the root of Q(tau^2) = k - 1 (Paule & Mandel 1982), as metafor.

    tau^2 = 0 when Q(0) <= k - 1 (metafor: Q at ``tau2.min`` below the target). Otherwise Q(0) >
    k - 1 and Q falls towards 0 as tau^2 grows, so a sign change is bracketed between 0 and an
    upper end doubled from 100 until Q is below k - 1, and Brent's method finds the root. It
    converges however close to 0 the root lies (the case statsmodels' iteration missed).
    """
    from scipy import optimize

    target = float(yi.size - 1)

    def gap(tau2: float) -> float:
        return generalised_q(yi, vi, tau2) - target

    if gap(0.0) <= 0:
        return 0.0
    upper = 100.0
    while gap(upper) > 0:
        upper *= 2
        if upper > PM_MAX_TAU2:
            raise MetaAnalysisError(
                "PM: Q(tau^2) stays above k - 1 up to tau^2 = "
                f"{PM_MAX_TAU2:g}; the Paule-Mandel equation has no root"
            )
    root = optimize.brentq(gap, 0.0, upper, xtol=PM_XTOL, maxiter=MAX_ITER)
    return max(0.0, float(root))


def _reml_log_likelihood(yi: FloatArray, vi: FloatArray, tau2: float) -> float:
    weights = 1 / (vi + tau2)
    mu = np.sum(weights * yi) / np.sum(weights)
    rss = np.sum(weights * (yi - mu) ** 2)
    k = yi.size
    return float(
        -0.5 * (k - 1) * math.log(2 * math.pi)
        - 0.5 * np.sum(np.log(vi + tau2))
        - 0.5 * math.log(np.sum(weights))
        - 0.5 * rss
    )


def _tau2_reml(yi: FloatArray, vi: FloatArray) -> float:
    """REML tau^2 by Fisher scoring from tau^2 = 0, step-halving at the bound, as metafor."""
    tau2 = 0.0
    for _ in range(MAX_ITER):
        weights = 1 / (vi + tau2)
        total = np.sum(weights)
        # P = W - w w' / sum(w) for an intercept-only model.
        p_matrix = np.diag(weights) - np.outer(weights, weights) / total
        py = p_matrix @ yi
        adj = float((py @ py - np.trace(p_matrix)) / np.sum(p_matrix * p_matrix))
        while tau2 + adj < 0:
            adj /= 2
        new = tau2 + adj
        if abs(new - tau2) <= REML_THRESHOLD:
            tau2 = new
            break
        tau2 = new
    else:
        raise MetaAnalysisError(f"REML: Fisher scoring did not converge in {MAX_ITER} steps")
    # metafor's ll0check: a maximum below the likelihood at tau^2 = 0 is a stuck search.
    if (
        tau2 > REML_THRESHOLD
        and _reml_log_likelihood(yi, vi, 0.0) - _reml_log_likelihood(yi, vi, tau2)
        > np.finfo(float).eps ** 0.25
    ):
        tau2 = 0.0
    return max(0.0, tau2)


def tau_squared(
    yi: Sequence[float] | FloatArray, vi: Sequence[float] | FloatArray, method: Method
) -> float:
    """Between-study variance by DerSimonian-Laird, REML or Paule-Mandel."""
    y, v = _check(yi, vi)
    if method == "REML":
        return _tau2_reml(y, v)
    if method == "DL":
        return _tau2_dl(y, v)
    if method == "PM":
        return _tau2_pm(y, v)
    raise MetaAnalysisError(f"method: expected one of {', '.join(METHODS)} (got {method!r})")


def _check(
    yi: Sequence[float] | FloatArray, vi: Sequence[float] | FloatArray
) -> tuple[FloatArray, FloatArray]:
    y = _as_array("yi", yi)
    v = _as_array("vi", vi)
    if y.size != v.size:
        raise MetaAnalysisError(f"yi, vi: {y.size} effects but {v.size} variances")
    if np.any(v <= 0):
        raise MetaAnalysisError("vi: every sampling variance must be positive")
    return y, v


def random_effects(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    method: Method = "REML",
    knha: bool = False,
    level: float = 0.95,
) -> MetaResult:
    """Random-effects meta-analysis of effects ``yi`` with sampling variances ``vi``.

    Needs at least two studies (one study has nothing to pool, and k - 1 = 0 df).
    """
    from scipy import stats

    if method not in METHODS:
        raise MetaAnalysisError(f"method: expected one of {', '.join(METHODS)} (got {method!r})")
    if not 0 < level < 1:
        raise MetaAnalysisError(f"level: must be between 0 and 1 (got {level})")
    y, v = _check(yi, vi)
    k = int(y.size)
    if k < 2:
        raise MetaAnalysisError("yi: a meta-analysis needs at least two studies")
    tau2 = tau_squared(y, v, method)

    w_fe = 1 / v
    mu_fe = float(np.sum(w_fe * y) / np.sum(w_fe))
    q = float(np.sum(w_fe * (y - mu_fe) ** 2))
    q_df = k - 1
    q_p = float(stats.chi2.sf(q, q_df))
    typical = q_df / float(np.sum(w_fe) - np.sum(w_fe**2) / np.sum(w_fe))
    i2 = 100 * tau2 / (typical + tau2)
    h2 = tau2 / typical + 1

    w = 1 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = math.sqrt(1 / float(np.sum(w)))
    if knha:
        s2w = float(np.sum(w * (y - estimate) ** 2)) / q_df
        se *= math.sqrt(s2w)
        crit = float(stats.t.isf((1 - level) / 2, q_df))
    else:
        crit = float(stats.norm.isf((1 - level) / 2))
    zval = estimate / se if se > 0 else math.inf
    pval = float(2 * (stats.t.sf(abs(zval), q_df) if knha else stats.norm.sf(abs(zval))))
    pi_half = crit * math.sqrt(se**2 + tau2)
    return MetaResult(
        method=method,
        knha=knha,
        k=k,
        estimate=estimate,
        se=se,
        ci=(estimate - crit * se, estimate + crit * se),
        zval=zval,
        pval=pval,
        tau2=tau2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        i2=i2,
        h2=h2,
        pi=(estimate - pi_half, estimate + pi_half),
        level=level,
    )


def common_effect(
    yi: Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray,
    level: float = 0.95,
) -> MetaResult:
    """Common-effect (fixed-effect) meta-analysis, metafor ``rma(yi, vi, method="EE")``.

    All trials are assumed to share one true effect: weights 1/v_i, pooled estimate
    sum(w y) / sum(w), SE 1/sqrt(sum w), z-based interval. Q, I^2 and H^2 are reported as
    metafor reports them for this model (I^2 and H^2 from Q: max(0, (Q - df)/Q) and Q/df). Shown
    beside the random-effects models so a reader sees how much the between-trial variance changes
    the answer. Needs at least two studies.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise MetaAnalysisError(f"level: must be between 0 and 1 (got {level})")
    y, v = _check(yi, vi)
    k = int(y.size)
    if k < 2:
        raise MetaAnalysisError("yi: a meta-analysis needs at least two studies")
    w = 1 / v
    estimate = float(np.sum(w * y) / np.sum(w))
    se = math.sqrt(1 / float(np.sum(w)))
    q = float(np.sum(w * (y - estimate) ** 2))
    q_df = k - 1
    crit = float(stats.norm.isf((1 - level) / 2))
    zval = estimate / se
    ci = (estimate - crit * se, estimate + crit * se)
    return MetaResult(
        method="EE",
        knha=False,
        k=k,
        estimate=estimate,
        se=se,
        ci=ci,
        zval=zval,
        pval=float(2 * stats.norm.sf(abs(zval))),
        tau2=0.0,
        q=q,
        q_df=q_df,
        q_p=float(stats.chi2.sf(q, q_df)),
        i2=max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0,
        h2=q / q_df,
        pi=ci,
        level=level,
    )
