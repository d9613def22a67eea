"""``archlab bench``: score a newcomer searcher against the built-ins under the lottery protocol.

The newcomer (a registered name, a plugin, or ``package.module:Class``) first passes
:func:`archlab.core.checks.check_searcher`. It then joins the lottery's searchers under one
of the lottery's profiles (``quick``, ``standard``, ``smoke``) on the tabulated spaces
(``--spaces dram,accel``): the same tasks and targets of known difficulty, the same number of
hyperparameter draws, tuning seeds to select its tuned draw, fresh held-out seeds to score it
(:func:`archlab.studies.lottery.protocol.run_protocol`). Baseline experiments have the same
ids as in the lottery study, so they are read from the lottery's store
(``data/lottery/store``, only read) and never re-run. The newcomer's experiments go to
``data/bench/<name>/store``; built-in experiments missing from the lottery's store (no
``dvc repro lottery`` yet) run once into ``data/bench/baselines/store``, shared by later benches.

The report (``reports/bench/<name>/report.md`` with its PNG figures beside it) gives the
newcomer's average rank among the built-ins with a critical-difference diagram (Friedman,
Holm-corrected Wilcoxon pairs, Nemenyi CD), its target share with Clopper–Pearson CIs,
best-so-far curves and the rank/regret of what it finds, and its CPU time per proposal.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from archlab.core import paths
from archlab.sweep import Store

PROFILES = ("quick", "standard", "smoke")
SECTION = "lottery"


class BenchError(ValueError):
    """Bad bench input (names the option and what is allowed)."""


# ------------------------------------------------------------------------------ newcomer
def resolve_searcher(spec: str) -> tuple[str, type]:
    """``(name, class)`` of a registered searcher name or a ``package.module:Class``.

    A class that is not registered is declared in ``ARCHLAB_SEARCHERS`` for this process
    and the worker processes it starts (:mod:`archlab.core.plugins`), so sweeps find it."""
    from archlab import search
    from archlab.core import plugins

    if ":" not in spec:
        return spec, search.get(spec)
    cls = plugins.load_object(spec)
    name = getattr(cls, "name", "")
    if not isinstance(cls, type) or not issubclass(cls, search.Searcher) or not name:
        raise BenchError(f"--searcher {spec!r}: not a Searcher subclass with a name "
                         "(run `archlab check searcher` for what to fix)")
    try:
        known = search.get(name)
    except KeyError:
        known = None
    if known is cls:
        return name, cls
    if known is not None:
        raise BenchError(f"--searcher {spec!r}: its name {name!r} is already taken by {known.__module__}."
                         f"{known.__qualname__}; rename the class's name")
    plugins.add_env_entry(plugins.SEARCHERS, name, spec)
    search.base.reload_plugins()
    return name, search.get(name)


def origin(name: str) -> str:
    """Where a searcher comes from, in words."""
    from archlab import search

    plugin = search.base.plugin_of(name)
    if plugin is None:
        return f"built-in ({search.get(name).__module__})"
    if plugin.dist.startswith("$"):
        return f"{plugin.value} (not installed; declared for this run)"
    return f"plugin from {plugin.dist} {plugin.version} ({plugin.value})"


# ------------------------------------------------------------------------------ params
def load_profile(profile: str, data: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
    """``(P, C)``: the lottery section and ``common`` under ``profile``."""
    from archlab.core import params

    if profile not in PROFILES:
        raise BenchError(f"--profile {profile!r}: allowed: {', '.join(PROFILES)}")
    data = copy.deepcopy(dict(params.read() if data is None else data))
    # only the sections the bench reads are validated (an unrelated study's section does not block it)
    data = {k: v for k, v in data.items() if k in ("common", SECTION)}
    common = dict(data.get("common") or {})
    if profile != "smoke":
        common["profile"] = profile
    data["common"] = common
    P = params.load_section(SECTION, smoke=profile == "smoke", data=data)
    C = params.load_section("common", data=data)
    return P, C


def select_tasks(P: Any, spaces: Sequence[str] | None) -> tuple[list[Any], list[str], list[str]]:
    """Tasks of the profile on the chosen spaces (table kinds); ``(tasks, kinds, skipped)``."""
    from archlab.studies.lottery import protocol

    tasks, skipped = protocol.resolve_tasks(P)
    kinds = sorted({t.workload.split("/")[0] for t in tasks})
    if not spaces:
        return tasks, kinds, skipped
    unknown = sorted(set(spaces) - set(kinds))
    if unknown:
        raise BenchError(f"--spaces: {unknown} not among this profile's tabulated spaces; allowed: "
                         f"{', '.join(kinds)}")
    return [t for t in tasks if t.workload.split("/")[0] in spaces], sorted(spaces), skipped


# ------------------------------------------------------------------------------ store
class OverlayStore(Store):
    """A store that writes into its own folder and also answers from read-only ``bases``
    (their finished and failed ids count as done; their rows are read): the lottery's
    results are reused, never re-run and never written to. Experiments of searchers other
    than ``own`` go to ``shared`` (read like a base), so built-ins missing from the lottery's
    store run once for every later bench, not once per newcomer."""

    def __init__(self, root: str | Path, bases: Iterable[Store], shared: Store | None = None,
                 own: Iterable[str] = ()) -> None:
        super().__init__(root)
        self.shared = shared
        self.own = set(own)
        self.bases = [b for b in bases if b.root.resolve() != self.root.resolve()]
        if shared is not None:
            self.bases.append(shared)

    def _route(self, searcher: Any) -> Store | None:
        return self.shared if self.shared is not None and searcher not in self.own else None

    def write(self, experiment_id: str, frame: pd.DataFrame) -> Path:
        target = self._route(frame["searcher"].iloc[0] if len(frame) else None)
        return target.write(experiment_id, frame) if target is not None else super().write(experiment_id, frame)

    def write_failure(self, experiment_id: str, experiment: dict, error: BaseException) -> Path:
        target = self._route(experiment.get("searcher"))
        if target is not None:
            return target.write_failure(experiment_id, experiment, error)
        return super().write_failure(experiment_id, experiment, error)

    def compact(self) -> Path | None:
        if self.shared is not None and self.shared.root.is_dir():
            self.shared.compact()
        return super().compact()

    def done_ids(self) -> set[str]:
        ids = super().done_ids()
        for b in self.bases:
            ids |= b.done_ids()
        return ids

    def failed_ids(self) -> set[str]:
        ids = super().failed_ids()
        for b in self.bases:
            ids |= b.failed_ids()
        return ids

    def read(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        files = self._compact_files() + self._part_files()
        for b in self.bases:
            files += b._compact_files() + b._part_files()
        return self._read_all(files, columns)


def _own_experiments(store: Store) -> pd.DataFrame:
    """Experiments stored in ``store``'s own folder: id and searcher."""
    files = store._compact_files() + store._part_files()
    if not files:
        return pd.DataFrame(columns=["experiment_id", "searcher"])
    return Store._read_all(store, files, ["searcher"]).drop_duplicates("experiment_id")[
        ["experiment_id", "searcher"]]


# ------------------------------------------------------------------------------ run
@dataclass
class BenchResult:
    name: str
    spec: str
    origin: str
    profile: str
    spaces: list[str]
    report: Path
    figures: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rank: int = 0  # 1 = best average rank (1 + searchers with a strictly better one)
    ties: int = 0  # other searchers with the same average rank
    searchers: int = 0
    ran: dict[str, int] = field(default_factory=dict)  # searcher -> experiments run now
    reused: int = 0  # experiments read from stored results, not run now
    from_lottery: int = 0  # of which from the lottery study's store
    experiments: int = 0
    wall_s: float = 0.0


def run_bench(spec: str, *, hp: Mapping[str, Any] | None = None, spaces: Sequence[str] | None = None,
              profile: str = "quick", out: Path | None = None, baseline_store: Path | None = None,
              executor: str | None = None, workers: int | None = None, progress: bool = False,
              params_data: Mapping[str, Any] | None = None) -> BenchResult:
    """Check, run and report a newcomer (see the module docstring).

    ``hp``: hyperparameters pinned in every draw of the newcomer (the rest are drawn like the
    built-ins'). ``out``: report folder (default ``reports/bench/<name>``). ``baseline_store``:
    the lottery's store (default ``data/lottery/store``)."""
    from archlab.core.checks import ContractWarning, check_searcher
    from archlab.studies.lottery import protocol

    t0 = time.perf_counter()
    name, cls = resolve_searcher(spec)
    hp = dict(hp or {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ContractWarning)
        check = check_searcher(cls, hp=hp)
    soft = [str(w.message) for w in caught if issubclass(w.category, ContractWarning)]
    P, C = load_profile(profile, params_data)
    if hp:
        try:
            cls.resolve_hyperparameters(hp)
        except ValueError as e:
            raise BenchError(f"--set: {e}") from None
    searchers = [s for s in P.searchers if s != name] + [name]
    fixed = {**P.fixed_hp.get(name, {}), **hp}  # a built-in keeps the lottery's pins (same ids)
    P = P.model_copy(update={"searchers": searchers, "fixed_hp": {**P.fixed_hp, **({name: fixed} if fixed else {})}})
    tasks, kinds, skipped = select_tasks(P, spaces)
    base = Store(Path(baseline_store) if baseline_store else paths.data_dir(SECTION) / "store")
    shared = Store(paths.data_dir("bench") / "baselines" / "store")
    store = OverlayStore(paths.data_dir("bench") / name / "store", [base], shared=shared, own=[name])
    before_base = shared.done_ids()
    before = set(_own_experiments(store)["experiment_id"]) | before_base
    T = protocol.run_protocol(searchers, tasks, P, store, seed=C.seed,
                              executor=executor or (C.executor if P.executor == "common" else P.executor),
                              workers=workers or C.workers, address=C.dask_address, progress=progress)
    T.skipped = skipped
    own = pd.concat([_own_experiments(store), _own_experiments(shared)], ignore_index=True)
    new = own[~own["experiment_id"].isin(before)]
    ran = {s: int(n) for s, n in new["searcher"].value_counts().sort_index().items()}
    in_lottery = base.done_ids() if base.root.is_dir() else set()
    used = set(T.runs["experiment_id"])
    folder = Path(out) if out else paths.out_root() / "reports" / "bench" / name
    folder.mkdir(parents=True, exist_ok=True)
    R = BenchResult(name, spec, origin(name), profile, kinds, folder / "report.md", ran=ran,
                    reused=T.experiments - sum(ran.values()), from_lottery=len(used & in_lottery),
                    experiments=T.experiments)
    _analyse(R, T, P, C, tasks)
    R.wall_s = time.perf_counter() - t0
    R.report.write_text(_markdown(R, T, P, C, check, soft))
    return R


def _analyse(R: BenchResult, T: Any, P: Any, C: Any, tasks: Sequence[Any]) -> None:
    from archlab.studies.lottery import analysis as an
    from archlab.studies.lottery import figures as lf

    folder = R.report.parent
    lvl = 0.95
    runs = T.runs
    shares = an.target_shares(runs, T.tuned, lvl)
    R.tables["target_share"] = shares
    R.figures["target_share"] = lf.target_share(shares, P.p0, P.rules.meet_share, folder / "target_share.png")
    fr = an.friedman_tuned(runs, P.rules.alpha)
    ranks = fr.ranks.sort_values()
    R.tables["ranks"] = ranks.rename("average rank").rename_axis("searcher").reset_index()
    R.tables["pairwise"] = fr.pairwise[(fr.pairwise["a"] == R.name) | (fr.pairwise["b"] == R.name)]
    R.tables["friedman"] = pd.DataFrame([{"friedman_p": fr.pvalue, "blocks": fr.n_blocks, "nemenyi_cd": fr.cd,
                                          "alpha": fr.alpha}])
    mine = float(ranks[R.name])
    R.rank = 1 + int((ranks < mine - 1e-9).sum())  # tied average ranks share a rank
    R.ties = int((abs(ranks - mine) <= 1e-9).sum()) - 1
    R.searchers = len(ranks)
    R.figures["cd"] = lf.cd(fr, folder / "cd.png")
    cur = an.curves(T, ("tuned", "draw"), P.curve_bootstrap, lvl, C.seed)
    R.tables["curves"] = cur
    R.figures["curves"] = lf.curves(cur, folder / "curves.png")
    R.figures["rank_regret"] = lf.rank_regret(runs, folder / "rank_regret.png")
    R.tables["quality"] = an.quality(runs)
    R.tables["cost"] = an.cost(runs)
    R.tables["proposal_cpu"] = proposal_cpu(list(R.tables["ranks"]["searcher"]), tasks[0], P, C.seed)
    R.tables["tasks"] = T.tasks
    R.tables["tuned"] = T.tuned[T.tuned["searcher"] == R.name]


def proposal_cpu(names: Sequence[str], task: Any, P: Any, seed: int) -> pd.DataFrame:
    """CPU time of the searchers' own work per proposal (``ask`` + ``tell``, simulator lookups
    excluded): one run of each searcher's draw 0 on ``task`` for the protocol's budget, in this
    process (torch searchers use one thread, as in the sweep workers)."""
    from archlab import search
    from archlab.core.runtime import limit_threads
    from archlab.problems import make_problem
    from archlab.studies.lottery import protocol

    ref = protocol.reference(task, P.p0, P.budget)
    prob = make_problem(task.problem, task.workload, task.objective, dict(ref.target))
    rows = []
    with limit_threads(1):
        for name in names:
            hp = protocol.draws(name, P, seed)[0][1]
            s = search.make(name, prob.space, seed=seed, **hp)
            spent = 0.0
            for _ in range(P.budget):
                c0 = time.process_time()
                config = s.ask()
                spent += time.process_time() - c0
                m = prob.evaluate(config)
                r = prob.reward(m)
                c0 = time.process_time()
                s.tell(config, r, m)
                spent += time.process_time() - c0
            rows.append({"searcher": name, "task": task.label, "proposals": P.budget,
                         "cpu_ms_per_proposal": 1000 * spent / P.budget})
    return pd.DataFrame(rows)


def _fmt_table(df: pd.DataFrame, floats: str = "{:.3g}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [floats.format(v + 0.0) if isinstance(v, float) else str(v) for v in row]  # no "-0"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bold(df: pd.DataFrame, name: str) -> pd.DataFrame:
    df = df.copy()
    df["searcher"] = [f"**{s}**" if s == name else s for s in df["searcher"]]
    return df


def _markdown(R: BenchResult, T: Any, P: Any, C: Any, check: Any, soft: list[str]) -> str:
    from archlab.studies.lottery.analysis import LABELS
    from archlab.studies.lottery.run import protocol_text

    name = R.name
    n_used = int((~T.tasks["saturated"]).sum()) if "saturated" in T.tasks.columns else len(T.tasks)
    fr = R.tables["friedman"].iloc[0]
    ranks = R.tables["ranks"]
    mine = float(ranks.set_index("searcher").loc[name, "average rank"])
    pair = R.tables["pairwise"].copy()
    pair["other"] = [b if a == name else a for a, b in zip(pair["a"], pair["b"])]
    # median_diff is a - b; make it newcomer - other
    pair["median score diff (newcomer - other)"] = [d if a == name else -d for a, d in
                                                    zip(pair["a"], pair["median_diff"])]
    pair["reading"] = ["newcomer better" if s and d > 0 else "newcomer worse" if s else "no significant difference"
                       for s, d in zip(pair["significant"], pair["median score diff (newcomer - other)"])]
    pair = pair[["other", "median score diff (newcomer - other)", "wilcoxon_p", "holm_p", "reading"]]
    shares = R.tables["target_share"]
    held = shares[shares["condition"].isin(["tuned", "draw", "default"])].copy()
    held["condition"] = held["condition"].map(LABELS)
    held = held.sort_values(["condition", "searcher"])[["searcher", "condition", "k", "n", "share", "lo", "hi"]]
    cost = R.tables["cost"][["searcher", "experiments", "budget", "cpu_s_median", "cpu_ms_per_eval"]]
    q = R.tables["quality"]
    pcpu = R.tables["proposal_cpu"].sort_values("cpu_ms_per_proposal")
    tuned = R.tables["tuned"]
    ran_words = ", ".join(f"{s}: {n}" for s, n in R.ran.items()) or "none (all found in the stores)"
    figs = {k: v.name for k, v in R.figures.items()}
    out = [
        f"# Bench: `{name}`",
        "",
        f"*Origin:* {R.origin}. *Profile:* {R.profile} (params.yaml `lottery`). *Spaces:* {', '.join(R.spaces)}. "
        f"*Tasks:* {n_used}" + (f" (+{len(T.tasks) - n_used} saturated: listed, not run)" if len(T.tasks) > n_used
                                 else "") + ".",
        "",
        f"**Result: `{name}` ranks {R.rank} of {R.searchers}**"
        + (f" (tied with {R.ties} other{'s' if R.ties > 1 else ''})" if R.ties else "")
        + " by average rank of its tuned held-out score "
        f"({mine:.2f}; 1 = best) over {int(fr['blocks'])} (task, held-out seed) blocks; Friedman p = "
        f"{fr['friedman_p']:.2g}, Nemenyi CD = {fr['nemenyi_cd']:.2f} at alpha = {fr['alpha']:g}. "
        "Differences smaller than the CD, or pairs without a significant Holm-corrected Wilcoxon test, "
        "are not differences.",
        "",
        "## Protocol (the lottery's, unchanged)",
        "",
        _fmt_table(protocol_text(P, C)),
        "",
        f"The newcomer gets the same {P.hp_draws} hyperparameter draws as every built-in (draw 0 = its declared "
        "defaults" + (f"; pinned: `{P.fixed_hp.get(name)}`" if P.fixed_hp.get(name) else "") + "). "
        "Its tuned draw per task was selected on the tuning seeds only:",
        "",
        _fmt_table(tuned[["task", "hp_draw", "tuning_score", "hp"]]) if len(tuned) else "(none)",
        "",
        "Tasks (targets of known difficulty: uniform random search meets each with probability `p_random`):",
        "",
        _fmt_table(T.tasks[[c for c in ("task", "target", "share", "p_random", "distinct", "raw", "saturated")
                            if c in T.tasks.columns]]),
        "",
        "## Rank among the built-ins",
        "",
        f"![critical-difference diagram]({figs['cd']})",
        "",
        _fmt_table(_bold(ranks, name)),
        "",
        "Newcomer against each built-in (held-out seeds, tuned; Wilcoxon signed-rank over blocks, Holm-corrected):",
        "",
        _fmt_table(pair),
        "",
        "## Target share (held-out seeds, 95% Clopper–Pearson CI)",
        "",
        f"![target share]({figs['target_share']})",
        "",
        _fmt_table(_bold(held, name)),
        "",
        "## Best so far, rank and regret",
        "",
        f"![best-so-far curves]({figs['curves']})",
        "",
        f"![rank of the best found]({figs['rank_regret']})",
        "",
        _fmt_table(_bold(q, name)),
        "",
        "## CPU time per proposal",
        "",
        f"The searchers' own work (`ask` + `tell`, simulator lookups excluded), one run of each searcher's "
        f"declared defaults on `{pcpu['task'].iloc[0]}` for the budget of {P.budget}, one thread, this machine "
        "(timings, not results):",
        "",
        _fmt_table(_bold(pcpu[["searcher", "cpu_ms_per_proposal"]], name)),
        "",
        f"Contract check (`archlab check searcher`): `{name}` needs {1e6 * check.timings['cpu_per_ask']:.1f} µs "
        "of CPU per `ask()` on the 4-knob contract space (median). Whole experiments in the protocol's runs "
        "(worker CPU per experiment / budget, table lookups and problem set-up included):",
        "",
        _fmt_table(_bold(cost, name)),
        "",
        "## Provenance",
        "",
        f"- Experiments in the protocol: {R.experiments}; read from stored results: {R.reused} (from the "
        f"lottery study's store: {R.from_lottery}); "
        f"run now: {ran_words}.",
        f"- Contract check: passed ({len(check.passed)} rules)"
        + (f"; warnings: {'; '.join(soft)}" if soft else "; no warnings") + ".",
        f"- Skipped optional tasks: {', '.join(T.skipped) or 'none'}.",
        f"- Command: `archlab bench --searcher {R.spec} --profile {R.profile}"
        + (f" --spaces {','.join(R.spaces)}" if R.spaces else "") + "`.",
        "",
    ]
    return "\n".join(out)
