"""Statistics for comparing searchers (or any methods) over tasks and seeds.

Everything here is generic over a tidy result table and uses the field's libraries:
scipy (Clopper–Pearson, Friedman, Wilcoxon, the studentized range), statsmodels (Holm,
ANOVA, power), scikit-posthocs (critical-difference diagram).

* :func:`share_ci`: a share k/n with its Clopper–Pearson interval (exact, inside [0, 1]).
* :func:`hierarchical_bootstrap`, :func:`bootstrap_curve`: percentile CIs of a mean over
  tasks and seeds, resampling tasks, then seeds within each resampled task. Percentile
  intervals of a bounded score stay inside the score's range.
* :func:`friedman`: Friedman test over blocks, average ranks, Holm-corrected pairwise
  Wilcoxon signed-rank tests and the Nemenyi critical difference; :func:`cd_diagram` draws it.
* :func:`variance_components`: two-way random-effects ANOVA (task x hp draw, seeds as
  replicates) -> variance shares of task, draw, draw x task and seed.
* :func:`auc_best_so_far`: normalized area under a best-so-far curve.
* :func:`mde_paired`, :func:`mde_share`, :func:`n_for_share_bound`, :func:`power_share_bound`:
  minimum detectable effects and sample sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """An estimate with its ``level`` confidence interval and sample size(s)."""

    value: float
    lo: float
    hi: float
    n: int
    level: float = 0.95
    method: str = ""

    @property
    def ci(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def to_dict(self) -> dict:
        return asdict(self)


# -- shares -----------------------------------------------------------------------------------
def share_ci(k: int, n: int, level: float = 0.95) -> Interval:
    """Share ``k/n`` with its Clopper–Pearson (exact binomial) interval."""
    k, n = int(k), int(n)
    if n <= 0:
        return Interval(float("nan"), 0.0, 1.0, 0, level, "clopper-pearson")
    if not 0 <= k <= n:
        raise ValueError(f"share_ci: k={k} outside 0..n={n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Interval(k / n, float(ci.low), float(ci.high), n, level, "clopper-pearson")


# -- hierarchical bootstrap -------------------------------------------------------------------
def _nested(df: pd.DataFrame, value: str | Sequence[str], outer: str, inner: str
            ) -> tuple[np.ndarray, np.ndarray]:
    """Values as an array [outer, inner(padded), ...] (units averaged when repeated) and the
    number of inner units per outer unit."""
    cols = [value] if isinstance(value, str) else list(value)
    g = df.groupby([outer, inner], sort=True)[cols].mean()
    outers = g.index.get_level_values(0).unique()
    counts = g.groupby(level=0).size().reindex(outers).to_numpy()
    arr = np.full((len(outers), int(counts.max()), len(cols)), np.nan)
    for i, (_, sub) in enumerate(g.groupby(level=0, sort=True)):
        arr[i, : len(sub)] = sub.to_numpy()
    return arr, counts


def _resample_means(arr: np.ndarray, counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap distribution [n_boot, ...] of the mean over outer units of the mean over
    inner units (tasks weigh equally), resampling outer then inner units."""
    rng = np.random.default_rng(seed)
    n_out = arr.shape[0]
    out = np.empty((n_boot, *arr.shape[2:]))
    chunk = max(1, int(2e6 // max(1, n_out * arr.shape[1] * int(np.prod(arr.shape[2:])))))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        ti = rng.integers(n_out, size=(b, n_out))
        width = int(counts.max())
        u = rng.random((b, n_out, width))
        si = np.floor(u * counts[ti][..., None]).astype(int)
        mask = np.arange(width)[None, None, :] < counts[ti][..., None]
        vals = arr[ti[..., None], si]  # [b, n_out, width, ...]
        m = mask.reshape(*mask.shape, *([1] * (vals.ndim - 3)))
        inner = np.where(m, vals, 0.0).sum(axis=2) / counts[ti].reshape(b, n_out, *([1] * (vals.ndim - 3)))
        out[start:start + b] = inner.mean(axis=1)
    return out


def _point(arr: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.nanmean(arr, axis=1).mean(axis=0)


def hierarchical_bootstrap(df: pd.DataFrame, value: str, outer: str = "task", inner: str = "seed",
                           n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> Interval:
    """Mean of ``value`` (mean over ``inner`` units within each ``outer`` unit, then over
    ``outer`` units) with a percentile interval from a two-stage bootstrap: resample outer
    units with replacement, then inner units within each. Rows sharing (outer, inner) are
    averaged first (one unit). With one outer unit, only the inner stage varies."""
    if df.empty:
        return Interval(float("nan"), float("nan"), float("nan"), 0, level, "hierarchical bootstrap")
    arr, counts = _nested(df, value, outer, inner)
    dist = _resample_means(arr, counts, n_boot, seed)[:, 0]
    a = (1 - level) / 2
    lo, hi = np.quantile(dist, [a, 1 - a])
    return Interval(float(_point(arr, counts)[0]), float(lo), float(hi), int(counts.sum()), level,
                    "hierarchical bootstrap")


def bootstrap_curve(df: pd.DataFrame, value: str, step: str, outer: str = "task", inner: str = "seed",
                    n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per ``step``: mean of ``value`` over tasks and seeds with hierarchical-bootstrap
    percentile bands (one joint resample of units for every step). Units missing a step are
    dropped (use curves of equal length)."""
    wide = df.pivot_table(index=[outer, inner], columns=step, values=value, aggfunc="mean")
    wide = wide.dropna(axis=1, how="any")
    steps = wide.columns.to_numpy()
    long = wide.reset_index()
    arr, counts = _nested(long, list(steps), outer, inner)
    dist = _resample_means(arr, counts, n_boot, seed)
    a = (1 - level) / 2
    lo, hi = np.quantile(dist, [a, 1 - a], axis=0)
    return pd.DataFrame({step: steps, "mean": _point(arr, counts), "lo": lo, "hi": hi,
                         "n": int(counts.sum())})


# -- best-so-far ------------------------------------------------------------------------------
def auc_best_so_far(scores: Sequence[float] | np.ndarray, higher_is_better: bool = True) -> float:
    """Normalized area under the best-so-far curve of per-evaluation ``scores``: the mean of
    the running best over the evaluations (a step function; 1 = the best score from the
    first evaluation on when scores lie in [0, 1])."""
    x = np.asarray(scores, dtype=float)
    if x.size == 0:
        raise ValueError("auc_best_so_far: no scores")
    run = np.maximum.accumulate(x) if higher_is_better else np.minimum.accumulate(x)
    return float(run.mean())


# -- ranks, Friedman, Holm, critical difference -----------------------------------------------
@dataclass
class FriedmanResult:
    statistic: float
    pvalue: float
    n_blocks: int
    ranks: pd.Series  # average rank per method (1 = best)
    pairwise: pd.DataFrame  # a, b, median_diff, wilcoxon_p, holm_p, significant
    cd: float  # Nemenyi critical difference of average ranks at alpha
    alpha: float

    def pvalues(self) -> pd.DataFrame:
        """Symmetric matrix of Holm-adjusted pairwise p-values (1 on the diagonal)."""
        names = list(self.ranks.index)
        m = pd.DataFrame(1.0, index=names, columns=names)
        for r in self.pairwise.itertuples():
            m.loc[r.a, r.b] = m.loc[r.b, r.a] = r.holm_p
        return m


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for ``k`` methods over ``n`` blocks
    (Demšar 2006): q_alpha * sqrt(k (k+1) / (6 n)), q_alpha = studentized range / sqrt(2)."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def friedman(scores: pd.DataFrame, alpha: float = 0.05, higher_is_better: bool = True) -> FriedmanResult:
    """Friedman test over a blocks x methods table (rows = blocks, e.g. tasks or task x seed;
    columns = methods), average ranks (1 = best; ties share the mean rank), every pair
    compared by a Wilcoxon signed-rank test (zero differences split, Pratt's method for
    all-equal pairs gives p = 1) with Holm's correction, and the Nemenyi CD."""
    from statsmodels.stats.multitest import multipletests

    x = scores.dropna(axis=0, how="any")
    if x.shape[1] < 2 or len(x) < 2:
        raise ValueError(f"friedman: need >= 2 methods and >= 2 complete blocks (got {x.shape})")
    vals = x.to_numpy(dtype=float)
    ranks = stats.rankdata(-vals if higher_is_better else vals, axis=1).mean(axis=0)
    if x.shape[1] >= 3 and np.ptp(vals, axis=1).max() > 0:
        st, p = stats.friedmanchisquare(*vals.T)
    else:
        st, p = float("nan"), 1.0 if x.shape[1] >= 3 else float("nan")
    rows = []
    names = list(x.columns)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            d = vals[:, i] - vals[:, j]
            if np.all(d == 0):
                pw = 1.0
            else:
                pw = float(stats.wilcoxon(vals[:, i], vals[:, j], zero_method="zsplit").pvalue)
            rows.append({"a": names[i], "b": names[j], "median_diff": float(np.median(d)), "wilcoxon_p": pw})
    pair = pd.DataFrame(rows)
    pair["holm_p"] = multipletests(pair["wilcoxon_p"], alpha=alpha, method="holm")[1]
    pair["significant"] = pair["holm_p"] < alpha
    return FriedmanResult(float(st), float(p), len(x), pd.Series(ranks, index=names, name="rank"),
                          pair, nemenyi_cd(len(names), len(x), alpha), alpha)


def cd_diagram(res: FriedmanResult, ax=None, title: str | None = None):
    """Critical-difference diagram (scikit-posthocs): methods on the average-rank axis; a bar
    joins methods whose Holm-corrected Wilcoxon tests are not significant. The Nemenyi CD is
    drawn as a scale bar. Returns the figure."""
    import matplotlib.pyplot as plt
    import scikit_posthocs as sp

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.3 * len(res.ranks)))
    else:
        fig = ax.figure
    sp.critical_difference_diagram(res.ranks, res.pvalues(), alpha=res.alpha, ax=ax)
    lo = 1.0
    tr = ax.get_xaxis_transform()  # x in rank units, y in axes fraction
    ax.plot([lo, lo + res.cd], [-0.06, -0.06], color="k", lw=2, transform=tr, clip_on=False)
    ax.text(lo + res.cd + 0.05, -0.06, f"Nemenyi CD = {res.cd:.2f}", transform=tr, va="center", fontsize=8)
    fig.suptitle(title or f"Friedman p = {res.pvalue:.2g} over {res.n_blocks} blocks", fontsize=9, y=1.06)
    return fig


def p_best(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Per block and method: the share of the win (1 for a sole winner, 1/m for m tied)."""
    v = scores.to_numpy(dtype=float)
    v = v if higher_is_better else -v
    top = v >= np.nanmax(v, axis=1, keepdims=True)
    return pd.DataFrame(top / top.sum(axis=1, keepdims=True), index=scores.index, columns=scores.columns)


# -- variance decomposition -------------------------------------------------------------------
def variance_components(df: pd.DataFrame, value: str, task: str = "task", draw: str = "hp_draw",
                        seed: str = "seed") -> pd.DataFrame:
    """Variance of ``value`` split into task, hp draw, draw x task and seed (residual) by a
    two-way random-effects ANOVA (method of moments on the expected mean squares; negative
    estimates set to 0). Needs a balanced design: every (task, draw) cell with the same
    number of seeds (cells are trimmed to the smallest count). Returns component, variance,
    share. With one draw (or one task) that factor is absent from the model."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    d = df[[task, draw, seed, value]].dropna().copy()
    d = d.rename(columns={task: "T", draw: "D", seed: "S", value: "y"})
    cell = d.groupby(["T", "D"]).size()
    r = int(cell.min())
    d = d.sort_values(["T", "D", "S"]).groupby(["T", "D"]).head(r)
    t, k = d["T"].nunique(), d["D"].nunique()
    comps = {"task": 0.0, "hp draw": 0.0, "hp draw x task": 0.0, "seed": 0.0}
    if len(d) < 2:
        return _components(comps)
    if r < 2 and t > 1 and k > 1:
        raise ValueError("variance_components: need >= 2 seeds per (task, draw) cell")
    terms = [f"C({f})" for f, n in (("T", t), ("D", k)) if n > 1]
    if t > 1 and k > 1:
        terms.append("C(T):C(D)")
    formula = "y ~ " + (" + ".join(terms) if terms else "1")
    fit = smf.ols(formula, data=d.astype({"T": str, "D": str})).fit()
    ms_e = float(fit.mse_resid) if fit.df_resid > 0 else 0.0
    if terms:
        a = anova_lm(fit, typ=1)
        ms = (a["sum_sq"] / a["df"]).to_dict()
    else:
        ms = {}
    ms_td = ms.get("C(T):C(D)", ms_e)
    comps["seed"] = ms_e
    if t > 1 and k > 1:
        comps["hp draw x task"] = (ms_td - ms_e) / r
    if t > 1:
        comps["task"] = (ms["C(T)"] - ms_td) / (k * r)
    if k > 1:
        comps["hp draw"] = (ms["C(D)"] - ms_td) / (t * r)
    return _components(comps)


def _components(comps: dict[str, float]) -> pd.DataFrame:
    v = {k: max(0.0, float(x)) for k, x in comps.items()}
    total = sum(v.values())
    return pd.DataFrame({"component": list(v), "variance": list(v.values()),
                         "share": [x / total if total > 0 else float("nan") for x in v.values()]})


# -- power and minimum detectable effects -----------------------------------------------------
def mde_paired(n: int, sd_diff: float | None = None, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable mean difference of a two-sided paired t-test with ``n`` pairs:
    Cohen's d (standardized) or, with ``sd_diff``, in the score's units (statsmodels)."""
    from statsmodels.stats.power import TTestPower

    if n < 2:
        return float("inf")
    d = float(np.ravel(TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power,
                                                alternative="two-sided"))[0])
    return d if sd_diff is None else d * float(sd_diff)


def mde_share(n: int, p0: float, alpha: float = 0.05, power: float = 0.8,
              alternative: str = "two-sided") -> float:
    """Minimum detectable departure of a share from ``p0`` with ``n`` trials (one-sample test
    on the arcsine scale, Cohen's h, statsmodels): returns p1 - p0 for the upward direction
    ("larger" or two-sided) capped at 1 - p0."""
    from statsmodels.stats.power import NormalIndPower

    if n < 1:
        return float("inf")
    h = float(np.ravel(NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=alpha, power=power,
                                                    ratio=0, alternative=alternative))[0])
    phi = 2 * math.asin(math.sqrt(p0)) + abs(h)
    p1 = math.sin(min(phi, math.pi) / 2) ** 2
    return float(p1 - p0)


def power_share_bound(n: int, p_true: float, threshold: float, level: float = 0.95) -> float:
    """Exact probability that the Clopper–Pearson lower bound of k/n (k ~ Bin(n, p_true))
    is ≥ ``threshold`` (the power of an "at least" rule decided by that bound)."""
    a = (1 - level) / 2
    ks = np.arange(n + 1)
    lo = np.where(ks > 0, stats.beta.ppf(a, np.maximum(ks, 1), n - ks + 1), 0.0)
    ok = lo >= threshold
    return float(stats.binom.pmf(ks[ok], n, p_true).sum())


def n_for_share_bound(p_true: float, threshold: float, power: float = 0.8, level: float = 0.95,
                      n_max: int = 100000) -> int:
    """Smallest n whose Clopper–Pearson lower bound reaches ``threshold`` with probability
    ≥ ``power`` when the true share is ``p_true`` (> threshold)."""
    if p_true <= threshold:
        raise ValueError(f"n_for_share_bound: p_true={p_true} must exceed threshold={threshold}")
    n = 1
    while n <= n_max:
        if power_share_bound(n, p_true, threshold, level) >= power:
            # power is not monotone in n (binomial sawtooth); take the first n that stays above
            if all(power_share_bound(m, p_true, threshold, level) >= power for m in range(n, n + 5)):
                return n
        n = n + 1 if n < 200 else int(n * 1.02) + 1
    raise ValueError(f"n_for_share_bound: more than {n_max} trials needed")
