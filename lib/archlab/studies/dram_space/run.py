"""The dram_space study: fidelity of the DRAM simulator against DRAMSys 4.0, and which of
the ten knobs of ArchGym's DRAM space move makespan and energy.

``run(P, C) -> Result`` computes every number the notebook shows; its claims:

* ``fidelity_makespan`` / ``fidelity_energy``: the median |relative error| against the 280
  public DRAMSys 4.0 runs is at most ``P.max_median_rel_err`` (95% bootstrap CI over runs).
* ``fidelity_rank``: on the 120 held-out random configurations (30 per trace; not used to work
  out the semantics) our makespan ranks configurations as DRAMSys does: Spearman of the
  within-trace ranks at least ``P.min_spearman``.
* ``few_knobs``: on every trace at most ``P.max_knobs_that_matter`` of the ten knobs have a
  median makespan spread of at least ``P.matters_threshold`` (bootstrap over contexts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from archlab.analysis.claims import Claim, Result, verdict_at_least, verdict_at_most
from archlab.core import paths
from archlab.problems.dram import calibration
from archlab.problems.dram.config import KNOBS
from archlab.studies.dram_space import figures, sensitivity

STUDY = "dram_space"
COMMAND = "dvc repro dram_space"
PAPER_FIDELITY = "DRAMSys 4.0 (280 public runs, 4 traces x 70 configurations)"


def run(P: Any, C: Any, section: str = STUDY) -> Result:
    """Sweep every knob around random contexts on each trace; compare against DRAMSys."""
    R = Result(STUDY)
    data, figs = paths.data_dir(section), paths.figures_dir(section)

    sweeps = pd.concat([sensitivity.knob_sweeps(t, P.contexts, C.seed + i, spec=P.spec, n_requests=P.n_requests)
                        for i, t in enumerate(P.traces)], ignore_index=True)
    sweeps.to_csv(data / "knob_sweeps.csv", index=False)
    sens = sensitivity.sensitivity(sweeps)
    sens.to_csv(data / "sensitivity.csv", index=False)
    eff = sensitivity.value_effects(sweeps)
    R.tables["sensitivity"] = sens.round(3)
    R.figures["sensitivity_heatmap"] = figures.sensitivity_heatmap(sens, P.traces, figs / "sensitivity_heatmap.png")
    for m in sensitivity.METRICS:
        R.figures[f"knob_effects_{m}"] = figures.knob_effects(eff, P.traces, m, figs / f"knob_effects_{m}.png")
    R.metrics["simulations"] = len(sweeps)
    R.metrics["knob_values"] = sum(d.n for d in KNOBS)
    for r in sens.itertuples():
        R.metrics[f"sensitivity.{r.trace}.{r.knob}.makespan_spread"] = round(r.makespan_ns_spread, 6)
        R.metrics[f"sensitivity.{r.trace}.{r.knob}.energy_spread"] = round(r.energy_pJ_spread, 6)
    for t, g in sens.groupby("trace"):
        R.metrics[f"top_knob.{t}.makespan"] = g.loc[g["makespan_ns_spread"].idxmax(), "knob"]
        R.metrics[f"top_knob.{t}.energy"] = g.loc[g["energy_pJ_spread"].idxmax(), "knob"]

    cmp = None
    csv = paths.shared() / calibration.CSV
    if P.fidelity and csv.is_file():
        cmp = calibration.compare()
        cmp.to_csv(data / "fidelity.csv", index=False)
        fid = calibration.summary(cmp)
        R.tables["fidelity"] = fid.round(6)
        R.figures["fidelity"] = figures.fidelity(cmp, figs / "fidelity.png")
        for r in fid.itertuples():
            key = f"fidelity.{r.trace}.{r.configs}.{r.metric}"
            R.metrics[key + ".spearman"] = round(r.spearman, 6)
            R.metrics[key + ".median_rel_err"] = round(r.median_rel_err, 6)
            R.metrics[key + ".max_rel_err"] = round(r.max_rel_err, 6)
        R.metrics["fidelity.exact_makespan_fraction"] = float((cmp["err_makespan_ns"].abs() < 1e-9).mean())
    R.claims = fidelity_claims(cmp, P, C, R.figures.get("fidelity")) + [knob_claim(sweeps, P, C,
                                                                                   R.figures["sensitivity_heatmap"])]
    return R


def _ci(data: tuple, statistic, P: Any, seed: int, paired: bool = False) -> tuple[float, float]:
    res = stats.bootstrap(data, statistic, paired=paired, vectorized=False, n_resamples=P.bootstrap_resamples,
                          confidence_level=P.ci, method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return float(lo), float(hi)


def fidelity_claims(cmp: pd.DataFrame | None, P: Any, C: Any, figure: Any) -> list[Claim]:
    """The three fidelity claims (inconclusive, with a note, when the calibration set is absent)."""
    fig = None if figure is None else paths.relative(figure)
    rule_err = (f"supported if the upper end of the {P.ci:.0%} bootstrap CI of the median |relative error| "
                f"over all runs is <= {P.max_median_rel_err:g}; not supported if its lower end is above")
    rule_rank = (f"supported if the lower end of the {P.ci:.0%} bootstrap CI of Spearman's rho (within-trace "
                 f"ranks, held-out random configurations) is >= {P.min_spearman:g}; not supported if its upper "
                 f"end is below")
    out = []
    for m, words in (("makespan_ns", "makespan"), ("energy_pJ", "energy (DRAMPower)")):
        cid = "fidelity_" + m.split("_")[0]
        claim = f"Our simulator reproduces DRAMSys 4.0 {words}: median |relative error|"
        if cmp is None:
            out.append(Claim(cid, claim, PAPER_FIDELITY, None, None, None, "inconclusive", rule_err, None,
                             COMMAND, note="calibration set not available or fidelity disabled"))
            continue
        err = np.abs(cmp["err_" + m].to_numpy())
        value = float(np.median(err))
        ci = _ci((err,), np.median, P, C.seed)
        out.append(Claim(cid, claim, PAPER_FIDELITY, value, ci, len(err),
                         verdict_at_most(ci, P.max_median_rel_err), rule_err, fig, COMMAND,
                         source="shared/specs/dram_calibration/dramsys_calibration.csv",
                         note=f"max |relative error| {float(err.max()):.3g}"))
    claim = "Our simulator ranks held-out configurations as DRAMSys 4.0 does (makespan, Spearman)"
    if cmp is None:
        out.append(Claim("fidelity_rank", claim, PAPER_FIDELITY, None, None, None, "inconclusive", rule_rank,
                         None, COMMAND, note="calibration set not available or fidelity disabled"))
        return out
    held = cmp[cmp["config_id"].astype(str).str.startswith("random")]
    ref = held.groupby("trace")["makespan_ns"].rank(pct=True).to_numpy()
    sim = held.groupby("trace")["sim_makespan_ns"].rank(pct=True).to_numpy()

    def rho(x, y):
        return stats.spearmanr(x, y).statistic

    value = float(rho(ref, sim))
    ci = _ci((ref, sim), rho, P, C.seed + 1, paired=True)
    out.append(Claim("fidelity_rank", claim, PAPER_FIDELITY, value, ci, len(held),
                     verdict_at_least(ci, P.min_spearman), rule_rank, fig, COMMAND,
                     source="shared/specs/dram_calibration/dramsys_calibration.csv"))
    return out


def spread_cube(sweeps: pd.DataFrame) -> np.ndarray:
    """Makespan spread (max/min - 1 over a knob's values) as an array [trace, knob, context]."""
    g = sweeps.groupby(["trace", "knob", "context"])["makespan_ns"]
    spread = (g.max() / g.min() - 1).sort_index()
    shape = tuple(len(level) for level in spread.index.remove_unused_levels().levels)
    return spread.to_numpy().reshape(shape)


def knobs_that_matter(cube: np.ndarray, threshold: float, contexts: np.ndarray | None = None) -> float:
    """Worst trace's count of knobs whose median makespan spread over ``contexts`` (all when
    None; a bootstrap resample may repeat some) is >= ``threshold``."""
    sub = cube if contexts is None else cube[:, :, np.asarray(contexts, dtype=int)]
    return float((np.median(sub, axis=2) >= threshold).sum(axis=1).max())


def knob_claim(sweeps: pd.DataFrame, P: Any, C: Any, figure: Any) -> Claim:
    """A few of the ten knobs move makespan; the rest barely matter (bootstrap over contexts)."""
    cube = spread_cube(sweeps)
    contexts = np.arange(cube.shape[2])
    value = knobs_that_matter(cube, P.matters_threshold)
    ci = _ci((contexts,), lambda c: knobs_that_matter(cube, P.matters_threshold, c), P, C.seed + 2)
    rule = (f"supported if the upper end of the {P.ci:.0%} bootstrap CI (over contexts) of the worst trace's "
            f"number of knobs with median makespan spread >= {P.matters_threshold:g} is <= "
            f"{P.max_knobs_that_matter}; not supported if its lower end is above")
    return Claim("few_knobs",
                 f"Only a few of the ten DRAM-controller knobs move makespan (spread >= {P.matters_threshold:.0%})",
                 "ArchGym's DRAM space searches all 10 knobs", value, ci, int(len(contexts) * len(P.traces)),
                 verdict_at_most(ci, P.max_knobs_that_matter), rule, paths.relative(figure), COMMAND,
                 unit="knobs", note="n = contexts x traces; one-knob-at-a-time sweeps")
