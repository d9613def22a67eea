"""The lottery study: ``run(P, C) -> Result`` (protocol in ``protocol.py``, statistics in
``analysis.py`` and :mod:`archlab.analysis.stats`).

Claims (decision rules in ``params.yaml`` ``lottery.rules``, printed before the results):

* ``tuned_every_searcher_meets_target`` (ArchGym): every searcher but the random-search
  baseline, tuned on tuning seeds, meets the target on held-out seeds in a share whose
  Clopper–Pearson lower bound is >= ``rules.meet_share``.
* ``winner_is_lottery`` (ArchGym): on the same task and held-out seed, the winner with one
  random hp draw per searcher differs from the tuned winner with probability >= ``rules.lottery_disagreement``.
* ``model_based_win``: BO/TPE (``rules.model_based``) take a share >= ``rules.model_based_share`` of the
  held-out tuned wins (Friedman + Holm-corrected Wilcoxon and a CD diagram beside it).
* ``tuning_beats_random_draw``: the mean held-out score gain of tuned over a random draw
  is > ``rules.tuning_gain``.
* ``random_baseline_exact``: uniform random search meets the targets at the analytic rate
  (the table's exact hit probability lies inside the Clopper–Pearson CI of its share).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from archlab.analysis import stats as st
from archlab.analysis.claims import Claim, Result, verdict_at_least
from archlab.core import paths
from archlab.studies.lottery import analysis as an
from archlab.studies.lottery import figures, protocol
from archlab.sweep import Store

STUDY = "lottery"
COMMAND = "dvc repro lottery"
ARCHGYM = "ArchGym (Krishnan et al., ISCA 2023)"


def store_for(section: str = STUDY) -> Store:
    return Store(paths.data_dir(section) / "store")


def execute(P: Any, C: Any, section: str = STUDY) -> protocol.ProtocolTables:
    """Run (or reuse) the protocol's experiments (``archlab sweep protocol``, the
    ``lottery_sweep`` stage, calls this)."""
    tasks, skipped = protocol.resolve_tasks(P)
    executor = C.executor if P.executor == "common" else P.executor
    T = protocol.run_protocol(P.searchers, tasks, P, store_for(section), seed=C.seed, executor=executor,
                              workers=C.workers, address=C.dask_address, progress=P.progress)
    T.skipped = skipped
    return T


def rules_text(P: Any) -> pd.DataFrame:
    """The decision rules as stated in params (shown before the results)."""
    r = P.rules
    rows = [
        ("tuned_every_searcher_meets_target", f"every searcher except {P.baseline}: held-out tuned share, "
         f"Clopper–Pearson 95% lower bound ≥ {r.meet_share:g} → supported; some upper bound < {r.meet_share:g} "
         "→ not supported; else inconclusive"),
        ("winner_is_lottery", "P(random-draw winner ≠ tuned winner) on the same task and held-out seed, "
         f"hierarchical-bootstrap 95% CI: lower ≥ {r.lottery_disagreement:g} → supported; upper < "
         f"{r.lottery_disagreement:g} → not supported"),
        ("model_based_win", f"share of held-out tuned wins taken by {'+'.join(r.model_based)}: lower ≥ "
         f"{r.model_based_share:g} → supported; upper < {r.model_based_share:g} → not supported"),
        ("tuning_beats_random_draw", f"mean held-out score gain tuned − random draw (paired on task, seed, "
         f"searcher): lower > {r.tuning_gain:g} → supported; upper ≤ {r.tuning_gain:g} → not supported; else "
         "inconclusive, with its MDE"),
        ("random_baseline_exact", f"{P.baseline}'s share (all its runs): the analytic hit probability inside "
         "its 95% CI (bootstrap over tables, then seeds) → supported, else not supported"),
    ]
    return pd.DataFrame(rows, columns=["claim", "rule"])


def protocol_text(P: Any, C: Any) -> pd.DataFrame:
    """The protocol's numbers (shown before the results)."""
    rows = [("target", f"per task: random search meets it within {P.budget} evaluations with probability "
             f"p0 = {P.p0:g} (exact, from the table)"),
            ("budget", f"{P.budget} simulator evaluations per experiment"),
            ("saturated tasks", f"listed, not run: even the optimum is met by random search with probability "
             f"> {P.max_p_random:g} within the budget (e.g. a workload whose optimum many configurations share)"),
            ("hp draws", f"{P.hp_draws} per searcher, every searcher (draw 0 = declared defaults)"),
            ("hp rule", f"PPO/MARL batch ≤ {P.hp_rule.rl_batch:g}×budget; GA/NSGA-II population and ACO ants ≤ "
             f"{P.hp_rule.population:g}×budget; BO n_init, TPE startup ≤ {P.hp_rule.init:g}×budget"),
            ("tuning seeds", f"{P.tuning_seeds} (seeds {C.seed}..{C.seed + P.tuning_seeds - 1}): select the tuned "
             "draw per (task, searcher) by best mean score"),
            ("held-out seeds", f"{P.eval_seeds} fresh seeds from {C.seed + P.eval_seed_offset}: default, tuned and "
             "one random draw per seed are scored; nothing is selected on them")]
    return pd.DataFrame(rows, columns=["item", "value"])


def _fig(path) -> str:
    return paths.relative(path)


def run(P: Any, C: Any, section: str = STUDY) -> Result:
    """Run the protocol and compute every table, figure, metric and claim."""
    R = Result(STUDY)
    figs = paths.figures_dir(section)
    T = execute(P, C, section)
    r, lvl = P.rules, 0.95
    runs = T.runs
    names = [n for n in P.searchers if n != P.baseline]
    R.tables["protocol"] = protocol_text(P, C)
    R.tables["rules"] = rules_text(P)
    R.tables["tasks"] = T.tasks
    R.tables["draws"] = T.draws
    R.tables["tuned"] = T.tuned

    shares = an.target_shares(runs, T.tuned, lvl)
    R.tables["target_share"] = shares
    R.figures["target_share"] = figures.target_share(shares, P.p0, r.meet_share, figs / "target_share.png")
    wins = an.win_shares(runs, P.bootstrap, lvl, C.seed)
    R.tables["p_best"] = wins
    R.figures["p_best"] = figures.p_best(wins, figs / "p_best.png")
    fr = an.friedman_tuned(runs, r.alpha)
    R.tables["ranks"] = fr.ranks.sort_values().rename_axis("searcher").rename("average rank").reset_index()
    R.tables["pairwise"] = fr.pairwise
    R.figures["cd"] = figures.cd(fr, figs / "cd.png")
    cur = an.curves(T, ("tuned", "draw"), P.curve_bootstrap, lvl, C.seed)
    R.tables["curves"] = cur
    R.figures["curves"] = figures.curves(cur, figs / "curves.png")
    R.tables["quality"] = an.quality(runs)
    R.figures["rank"] = figures.rank_regret(runs, figs / "rank.png")
    vc = an.variance(runs, P.baseline)
    R.tables["variance"] = vc
    R.figures["variance"] = figures.variance(vc, figs / "variance.png") if len(vc) else None
    if R.figures["variance"] is None:
        del R.figures["variance"]
    R.tables["cost"] = an.cost(runs)  # timings: shown, never written to metrics
    gain, gain_per, sd_gain = an.tuning_gain(runs, [P.baseline], P.bootstrap, lvl, C.seed)
    R.tables["tuning_gain"] = gain_per
    dis = an.disagreement(runs, P.bootstrap, lvl, C.seed)
    mb = an.model_based_share(runs, r.model_based, P.bootstrap, lvl, C.seed)
    design = an.design(P, int((~T.tasks["saturated"]).sum()))
    R.tables["design"] = pd.DataFrame([design])

    # ---- metrics (results only, no timings)
    M = R.metrics
    M["profile"] = C.profile
    used = T.tasks[~T.tasks["saturated"]]
    M["tasks"] = sorted(used["task"])
    M["saturated_tasks"] = {r.task: round(float(r.opt_tail), 6) for r in T.tasks[T.tasks["saturated"]].itertuples()}
    M["skipped_tasks"] = list(T.skipped)
    M["experiments"] = T.experiments
    M["design"] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in design.items()}
    M["p_random_mean"] = round(float(used["p_random"].mean()), 6)
    for s in shares.itertuples():
        M[f"share.{s.searcher}.{s.condition}"] = [s.k, s.n, round(s.lo, 6), round(s.hi, 6)]
    for w in wins.itertuples():
        M[f"p_best.{w.searcher}.{w.condition}"] = [round(w.p_best, 6), round(w.lo, 6), round(w.hi, 6)]
    M["friedman_p"] = fr.pvalue
    M["nemenyi_cd"] = round(fr.cd, 6)
    M["avg_rank"] = {k: round(float(v), 6) for k, v in fr.ranks.items()}
    for q in R.tables["quality"].itertuples():
        M[f"quality.{q.searcher}"] = {"median_rank": float(q.median_rank), "found_optimum": round(float(q.found_optimum), 6),
                                      "median_regret": round(float(q.median_regret), 6),
                                      "mean_score": round(float(q.mean_score), 6)}
    for c in vc.itertuples():
        M[f"variance_share.{c.searcher}.{c.component}"] = round(float(c.share), 6)

    # ---- claims
    cmd = COMMAND if C.profile == "quick" else f"{COMMAND}  (with common.profile: {C.profile})"
    held = shares[(shares["condition"] == "tuned") & shares["searcher"].isin(names)]
    worst = held.sort_values(["lo", "share"]).iloc[0]
    if (held["lo"] >= r.meet_share).all():
        v1 = "supported"
    elif (held["hi"] < r.meet_share).any():
        v1 = "not supported"
    else:
        v1 = "inconclusive"
    per = ", ".join(f"{x.searcher} {x.k}/{x.n}" for x in held.itertuples())
    c1 = Claim("tuned_every_searcher_meets_target",
               "With tuned hyperparameters every search algorithm meets the design target",
               f"{ARCHGYM}: all agents reach the target after tuning",
               float(worst["share"]), (float(worst["lo"]), float(worst["hi"])), int(worst["n"]), v1,
               rules_text(P).iloc[0, 1], _fig(R.figures["target_share"]), cmd, unit="share",
               source="held-out seeds", note=f"lowest: {worst['searcher']}; held-out tuned hits {per}; "
               f"MDE vs {r.meet_share:g} at n={int(worst['n'])}: "
               f"{st.mde_share(int(worst['n']), r.meet_share, r.alpha, r.power):.2f}; target p0 = {P.p0:g}")
    iv = dis["interval"]
    ref = dis["seed_reference"]
    c2 = Claim("winner_is_lottery",
               "Which algorithm wins depends on the hyperparameter draw (a lottery)",
               f"{ARCHGYM}: the best agent changes with hyperparameters",
               iv.value, iv.ci, dis["blocks"], verdict_at_least(iv.ci, r.lottery_disagreement),
               rules_text(P).iloc[1, 1], _fig(R.figures["p_best"]), cmd, unit="probability",
               source="held-out seeds",
               note=("seed-only reference (tuned winners of two held-out seeds of one task): "
                     + (f"{ref.value:.2f} [{ref.lo:.2f}, {ref.hi:.2f}]" if ref else "n/a")
                     + f"; MDE vs {r.lottery_disagreement:g}: "
                     f"{st.mde_share(dis['blocks'], r.lottery_disagreement, r.alpha, r.power):.2f}"))
    top = fr.ranks.idxmin()
    c3 = Claim("model_based_win",
               f"Model-based searchers ({'/'.join(r.model_based)}) win systematically",
               "— (not claimed by ArchGym; a reviewer's alternative reading)",
               mb.value, mb.ci, mb.n, verdict_at_least(mb.ci, r.model_based_share),
               rules_text(P).iloc[2, 1], _fig(R.figures["cd"]), cmd, unit="share of wins",
               source="held-out seeds, tuned",
               note=(f"Friedman p = {fr.pvalue:.2g} over {fr.n_blocks} blocks; best average rank: {top} "
                     f"({fr.ranks[top]:.2f}); Nemenyi CD = {fr.cd:.2f}; equal-chance share = "
                     f"{len([n for n in r.model_based if n in fr.ranks.index]) / len(fr.ranks):.2f}; MDE vs "
                     f"{r.model_based_share:g}: {st.mde_share(mb.n, r.model_based_share, r.alpha, r.power):.2f}"))
    mde_gain = st.mde_paired(gain.n, sd_gain, r.alpha, r.power)
    v4 = ("supported" if gain.lo > r.tuning_gain else "not supported" if gain.hi <= r.tuning_gain
          else "inconclusive")
    c4 = Claim("tuning_beats_random_draw",
               "Tuning hyperparameters improves the result over a random draw",
               f"{ARCHGYM}: hyperparameters matter as much as the algorithm",
               gain.value, gain.ci, gain.n, v4, rules_text(P).iloc[3, 1], _fig(R.figures["curves"]), cmd,
               unit="score gain", source="held-out seeds, paired on task x seed x searcher",
               note=f"MDE (paired, 80% power) at this n: {mde_gain:.3f} score units")
    rnd = runs[runs["searcher"] == P.baseline].drop_duplicates("experiment_id")
    k, n = int(rnd["met_target"].sum()), len(rnd)
    cp = st.share_ci(k, n, lvl)
    # tasks on one table share its space and its near-optimal region: resample tables, then seeds
    riv = (st.hierarchical_bootstrap(rnd.assign(hit=rnd["met_target"].astype(float)), "hit", outer="workload",
                                     inner="seed", n_boot=P.bootstrap, level=lvl, seed=C.seed) if n else cp)
    p_an = float(rnd.merge(T.tasks[["task", "p_random"]], on="task")["p_random"].mean()) if n else float("nan")
    v5 = "supported" if riv.lo <= p_an <= riv.hi else "not supported"
    c5 = Claim("random_baseline_exact",
               "Uniform random search meets each target at its exact analytic rate",
               f"our tables (p0 = {P.p0:g} by construction)", riv.value, riv.ci, n, v5,
               rules_text(P).iloc[4, 1], _fig(R.figures["target_share"]), cmd, unit="share",
               source="all random-search runs",
               note=(f"analytic hit probability {p_an:.3f}; CI: bootstrap over tables then seeds (the tasks "
                     f"of one table share its space); Clopper–Pearson treating the {n} runs as "
                     f"independent: [{cp.lo:.3f}, {cp.hi:.3f}]"))
    R.claims = [c1, c2, c3, c4, c5]
    M["disagreement"] = [round(iv.value, 6), round(iv.lo, 6), round(iv.hi, 6)]
    if ref:
        M["disagreement_seed_reference"] = [round(ref.value, 6), round(ref.lo, 6), round(ref.hi, 6)]
    M["model_based_share"] = [round(mb.value, 6), round(mb.lo, 6), round(mb.hi, 6)]
    M["tuning_gain"] = [round(gain.value, 6), round(gain.lo, 6), round(gain.hi, 6), round(mde_gain, 6)]
    return R

