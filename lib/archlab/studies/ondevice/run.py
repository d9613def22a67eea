"""Study 3: on-device training under 256 KB (``notebooks/odt.ipynb`` calls :func:`run`).

Protocol. Digits 5-9 (scikit-learn's 8x8 scans, resized) are split once into train /
validation / test; the test split is sealed (:class:`~archlab.ondevice.data.SealedTest`).
Phase 1 (validation only): each method's learning rate from its grid (same number of
draws for every method, ``tune_seeds`` training seeds each), the logistic-regression C of
the ceilings, the sparse-update contributions, the scheme search and the predicted-vs-
measured check. Phase 2: the test split is unsealed and every selected configuration is
trained on ``seeds`` fresh seeds and scored on test once. Accuracies are reported as
mean ± sd over seeds with a percentile bootstrap CI over test images (of the seed-averaged
correctness, so it stays inside [0, 1]); differences are paired per image.
"""

from __future__ import annotations

import copy
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

from archlab.analysis.claims import Claim, Result, verdict_at_least, verdict_at_most
from archlab.analysis.stats import mde_paired
from archlab.core import paths
from archlab.ondevice import sparse
from archlab.ondevice.arch import MODELS, Arch, arch
from archlab.ondevice.data import Splits, splits, transfer_tasks
from archlab.ondevice.memory import extra_memory, measure_step, schedule_peak, step_peak_kib, train_macs
from archlab.ondevice.nets import Net
from archlab.ondevice.qas import layer_ratios, qas_scales
from archlab.ondevice.quant import quantize
from archlab.ondevice.sparse import Scheme
from archlab.ondevice.train import FineTuned, finetune, int8_net, setup_torch, transfer_net
from archlab.studies.ondevice import figures
from archlab.studies.ondevice.params import Method, OdtParams
from archlab.studies.ondevice.pretrain import ensure_pretrained

STUDY = "odt"
COMMAND = "dvc repro odt"
TUNE_SEED = 1000
TEST_SEED = 2000


@dataclass
class Ctx:
    P: OdtParams
    seed: int
    data: Splits
    fnet: Net
    qnets: dict[str, Net]  # head -> int8 graph
    train_arch: Arch
    deploy_arch: Arch
    pretrain: dict
    val_cache: dict = field(default_factory=dict)
    test_cache: dict = field(default_factory=dict)
    log: list = field(default_factory=list)  # selection records (validation only)


def setup(P: OdtParams, common_seed: int) -> Ctx:
    seed = common_seed + P.seed_offset
    pre = ensure_pretrained(P.pretrain, common_seed)
    setup_torch(P.threads, seed)
    pp = P.pretrain
    _, ft_classes = transfer_tasks(pp.transfer)
    data = splits("digits", ft_classes, pp.resolution, P.n_train, P.n_val, P.n_test, seed)
    fnet = transfer_net(pre["net"], data.n_classes, seed)
    qnets = {h: int8_net(fnet, data.x_train, head=h) for h in ("float", "int8")}
    deploy = arch(pp.model, width=1.0, resolution=128, depth=pp.depth)
    return Ctx(P, seed, data, fnet, qnets, fnet.arch, deploy, pre)


# ---- training one configuration -------------------------------------------------------------

def _net(ctx: Ctx, m: Method) -> Net:
    return ctx.fnet if m.graph == "fp32" else ctx.qnets[m.head]


def _grid(ctx: Ctx, m: Method) -> list[float]:
    return list(ctx.P.lr_grid if m.grid == "real" else ctx.P.lr_grid_integer)


def _train(ctx: Ctx, m: Method, scheme: Scheme, lr: float, seed: int, epochs: int | None = None) -> FineTuned:
    P = ctx.P
    if os.environ.get("ARCHLAB_PROGRESS"):
        print(f"[odt {time.strftime('%H:%M:%S')}] {m.id} {scheme.label()} lr={lr:g} seed={seed}", file=sys.stderr,
              flush=True)
    return finetune(_net(ctx, m), ctx.data.x_train, ctx.data.y_train, scheme, opt="sgdm" if P.momentum else "sgd",
                    lr=lr, momentum=P.momentum, qas=m.qas, mode=m.mode, epochs=epochs or P.epochs, batch=P.batch,
                    seed=seed, precision=m.precision)


def _key(m: Method, scheme: Scheme) -> tuple:
    return (m.graph, m.head, m.qas, m.mode, m.precision, scheme.label())


_WORKER_CTX: Ctx | None = None


def _val_job(args: tuple) -> float:
    m, scheme, lr, seed, epochs = args
    ctx = _WORKER_CTX
    return _train(ctx, m, scheme, lr, seed, epochs).accuracy(ctx.data.x_val, ctx.data.y_val)


def _test_job(args: tuple) -> np.ndarray:
    m, scheme, lr, seed, x, y = args
    return _train(_WORKER_CTX, m, scheme, lr, seed).correct(x, y)


def _map(ctx: Ctx, fn, jobs: list[tuple]) -> list:
    """Run independent training jobs, in ``ctx.P.workers`` forked processes when > 1 (each run is
    seeded, so the results do not depend on the number of workers)."""
    global _WORKER_CTX
    _WORKER_CTX = ctx
    if ctx.P.workers <= 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(ctx.P.workers, len(jobs)), mp_context=mp.get_context("fork")) as ex:
        return list(ex.map(fn, jobs))


def val_acc(ctx: Ctx, m: Method, scheme: Scheme, lr: float, seed: int, epochs: int | None = None) -> float:
    """Validation accuracy of one training run (memoised: identical configurations train once)."""
    return val_accs(ctx, [(m, scheme, lr, seed, epochs)])[0]


def val_accs(ctx: Ctx, jobs: list[tuple]) -> list[float]:
    """Validation accuracies of ``(method, scheme, lr, seed, epochs)`` jobs (memoised, in parallel)."""
    keys = [(*_key(m, s), lr, seed, ep) for m, s, lr, seed, ep in jobs]
    todo = {k: j for k, j in zip(keys, jobs) if k not in ctx.val_cache}
    for k, acc in zip(todo, _map(ctx, _val_job, list(todo.values()))):
        ctx.val_cache[k] = acc
    return [ctx.val_cache[k] for k in keys]


def tune(ctx: Ctx, m: Method, scheme: Scheme, what: str) -> dict:
    """Choose ``m``'s learning rate on validation (mean over ``tune_seeds``; ties -> smaller lr)."""
    grid = _grid(ctx, m)
    seeds = [ctx.seed + TUNE_SEED + j for j in range(ctx.P.tune_seeds)]
    accs = val_accs(ctx, [(m, scheme, lr, sd, None) for lr in grid for sd in seeds])
    rows = [{"lr": lr, "val_acc": float(np.mean(accs[i * len(seeds):(i + 1) * len(seeds)]))}
            for i, lr in enumerate(grid)]
    best = max(rows, key=lambda r: (r["val_acc"], -r["lr"]))
    rec = {"what": what, "method": m.id, "scheme": scheme.label(), "lr": best["lr"], "val_acc": best["val_acc"],
           "grid": rows}
    ctx.log.append(rec)
    return rec


def final(ctx: Ctx, m: Method, scheme: Scheme, lr: float, what: str) -> np.ndarray:
    """(seeds x n_test) correctness on the test split, fresh seeds, after the split is unsealed
    (an identical configuration selected twice is trained and read once)."""
    key = (*_key(m, scheme), lr)
    if key not in ctx.test_cache:
        x, y, _ = ctx.data.test.read(what)
        jobs = [(m, scheme, lr, ctx.seed + TEST_SEED + j, x, y) for j in range(ctx.P.seeds)]
        ctx.test_cache[key] = np.stack(_map(ctx, _test_job, jobs))
    return ctx.test_cache[key]


# ---- statistics -------------------------------------------------------------------------------

def _boot_ci(v: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    if len(v) < 2 or np.all(v == v[0]):
        return (float(v.mean()), float(v.mean()))
    r = sps.bootstrap((v,), np.mean, n_resamples=n_boot, method="percentile",
                      random_state=np.random.default_rng(seed))
    return (float(r.confidence_interval.low), float(r.confidence_interval.high))


def acc_stats(c: np.ndarray, n_boot: int, seed: int) -> dict:
    """Mean ± sd over seeds and a bootstrap CI over test images of a (seeds x n) correctness matrix."""
    per_seed = c.mean(1)
    lo, hi = _boot_ci(c.mean(0), n_boot, seed)
    return {"acc": float(per_seed.mean()), "sd": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0,
            "ci_lo": lo, "ci_hi": hi, "n_seeds": int(c.shape[0]), "n_test": int(c.shape[1])}


def diff_stats(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int) -> dict:
    """Paired difference a - b of accuracies (per test image, seed-averaged) with CI and MDE."""
    d = a.mean(0) - b.mean(0)
    lo, hi = _boot_ci(d, n_boot, seed)
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    return {"diff": float(d.mean()), "ci_lo": lo, "ci_hi": hi, "n_test": int(len(d)),
            "mde": mde_paired(len(d), sd) if sd > 0 else 0.0}


# ---- ceilings -----------------------------------------------------------------------------------

@torch.no_grad()
def _features(net: Net, x: torch.Tensor) -> np.ndarray:
    net.eval()
    return np.concatenate([net._run(x[i:i + 256], -1, net.arch.n_blocks, None, head=True).numpy()
                           for i in range(0, len(x), 256)])


def _logreg(ctx: Ctx, xtr: np.ndarray, xva: np.ndarray, what: str):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ytr, yva = ctx.data.y_train.numpy(), ctx.data.y_val.numpy()
    rows = []
    for c in ctx.P.logreg_c:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        rows.append({"C": c, "val_acc": float(model.fit(xtr, ytr).score(xva, yva)), "model": model})
    best = max(rows, key=lambda r: (r["val_acc"], -r["C"]))
    ctx.log.append({"what": what, "method": what, "C": best["C"], "val_acc": best["val_acc"],
                    "grid": [{k: v for k, v in r.items() if k != "model"} for r in rows]})
    return best


def ceilings_select(ctx: Ctx) -> dict:
    d = ctx.data
    ftr, fva = _features(ctx.fnet, d.x_train), _features(ctx.fnet, d.x_val)
    return {"logreg_pixels": _logreg(ctx, d.raw_train, d.raw_val, "logreg_pixels"),
            "linear_probe": _logreg(ctx, ftr, fva, "linear_probe")}


def ceilings_final(ctx: Ctx, sel: dict) -> dict[str, np.ndarray]:
    from sklearn.neighbors import KNeighborsClassifier

    d = ctx.data
    x, y, raw = d.test.read("ceilings")
    y = y.numpy()
    ytr = d.y_train.numpy()
    knn = KNeighborsClassifier(1).fit(d.raw_train, ytr)
    lp = sel["linear_probe"]["model"]
    out = {"logreg_pixels": sel["logreg_pixels"]["model"].predict(raw) == y,
           "nn1_pixels": knn.predict(raw) == y,
           "linear_probe": lp.predict(_features(ctx.fnet, x)) == y}
    return {k: v[None, :] for k, v in out.items()}  # deterministic: one "seed"


# ---- sparse update --------------------------------------------------------------------------------

def sparse_method(ctx: Ctx) -> Method:
    sp = ctx.P.sparse
    return Method(id=f"int8_qas_{sp.mode}_sparse", graph="int8", head=sp.head, qas=True, mode=sp.mode)


def scheme_memory(ctx: Ctx, s: Scheme, deploy: bool = False) -> float:
    """Analytic extra memory (KiB) at the training resolution (``deploy``: at 128x128)."""
    return extra_memory(ctx.deploy_arch if deploy else ctx.train_arch, s)["extra_memory_kb"]


_PEAK_CACHE: dict[tuple, float] = {}


def scheme_peak(ctx: Ctx, s: Scheme) -> float:
    """Modelled peak SRAM (KiB) of one int8 training step of ``s`` on the full 128x128 model, input
    image included (:func:`~archlab.ondevice.memory.step_peak_kib`): what the search constrains."""
    a = ctx.deploy_arch
    key = (a.name, a.resolution, a.n_convs, s)
    if key not in _PEAK_CACHE:
        _PEAK_CACHE[key] = step_peak_kib(a, s)
    return _PEAK_CACHE[key]


def feasible(ctx: Ctx, s: Scheme) -> bool:
    """Whether ``s`` meets ``odt.sparse.peak_budget_kib`` (always, when it is null)."""
    pb = ctx.P.sparse.peak_budget_kib
    return pb is None or scheme_peak(ctx, s) <= pb + 1e-9


def _depths(ctx: Ctx) -> list[int]:
    return sorted({0, *ctx.P.sparse.bias_depths})


def _make_scheme(ctx: Ctx, depth: int, choice: tuple[float, ...]) -> Scheme:
    """A bias depth and a ratio (0 = not updated) per candidate layer; the depth is raised to the
    next listed depth that covers the deepest updated weight."""
    n, depths = ctx.train_arch.n_convs, _depths(ctx)
    ws = [(i, r) for i, r in zip(ctx.P.sparse.layers, choice) if r > 0]
    need = max([n - i for i, _ in ws] + [depth])
    depth = min([x for x in depths if x >= need], default=need)
    return Scheme(depth, tuple(i for i, _ in ws), tuple(r for _, r in ws))


def space_size(ctx: Ctx) -> int:
    """Size of the scheme space before merging duplicates: depths x (ratios + 1) ^ layers."""
    sp = ctx.P.sparse
    return len(_depths(ctx)) * (len(sp.ratios) + 1) ** len(sp.layers)


def scheme_space(ctx: Ctx) -> list[Scheme]:
    """Every scheme of the space (only called when :func:`space_size` <= ``max_enumerate``)."""
    sp = ctx.P.sparse
    out = {_make_scheme(ctx, d, c) for d in _depths(ctx)
           for c in itertools.product([0.0, *sp.ratios], repeat=len(sp.layers))}
    return sorted(out, key=lambda s: s.label())


def random_schemes(ctx: Ctx, k: int, rng: np.random.Generator) -> list[Scheme]:
    """``k`` distinct schemes drawn uniformly from the space's encodings (no enumeration)."""
    sp = ctx.P.sparse
    out: dict[str, Scheme] = {}
    opts = [0.0, *sp.ratios]
    for _ in range(100 * max(k, 1)):
        if len(out) >= k:
            break
        s = _make_scheme(ctx, int(rng.choice(_depths(ctx))), tuple(float(rng.choice(opts)) for _ in sp.layers))
        out.setdefault(s.label(), s)
    return sorted(out.values(), key=lambda s: s.label())


def best_in_budget(ctx: Ctx, contrib: sparse.Contributions, space: list[Scheme] | None, budget_kb: float,
                   constrained: bool = True) -> Scheme:
    """The scheme of highest predicted gain within the analytic budget ``budget_kb`` and (when
    ``constrained``) within ``odt.sparse.peak_budget_kib`` of modelled peak SRAM at 128x128:
    exhaustive over ``space`` when given (small spaces), evolutionary search otherwise; ties -> less
    memory. Raises :class:`~archlab.ondevice.sparse.NoFeasibleScheme` when no scheme is feasible."""
    sp = ctx.P.sparse
    pb = sp.peak_budget_kib if constrained else None

    def ok_peak(s: Scheme) -> bool:
        return pb is None or feasible(ctx, s)

    def none_feasible(cands: list[Scheme]) -> sparse.NoFeasibleScheme:
        low = min(cands, key=lambda s: (scheme_peak(ctx, s), s.label()))
        return sparse.NoFeasibleScheme(
            f"no scheme of the space meets odt.sparse.peak_budget_kib={pb:g} KiB within the analytic budget "
            f"{budget_kb:.1f} KiB: the lowest modelled peak is {scheme_peak(ctx, low):.1f} KiB ({low.label()}); "
            "raise odt.sparse.peak_budget_kib or set it to null (unconstrained)")

    if space is not None:
        ok = [s for s in space if scheme_memory(ctx, s) <= budget_kb + 1e-9 and ok_peak(s)]
        if not ok:
            raise none_feasible(space)
        return max(ok, key=lambda s: (round(contrib.predict(s), 9), -scheme_memory(ctx, s), s.label()))
    try:
        return sparse.evolve(ctx.train_arch, contrib, lambda s: scheme_memory(ctx, s), budget_kb, seed=ctx.seed,
                             population=sp.population, generations=sp.generations, max_layers=sp.max_layers,
                             feasible=ok_peak if pb is not None else None)[0]
    except sparse.NoFeasibleScheme:
        raise none_feasible([sparse.classifier_only()]) from None


def count_feasible(ctx: Ctx, space: list[Scheme]) -> int:
    """Schemes of ``space`` within ``odt.sparse.peak_budget_kib`` (all of them when it is null)."""
    return sum(feasible(ctx, s) for s in space)


def sparse_select(ctx: Ctx) -> dict:
    """Contributions, search and the predicted-vs-measured check, all on validation."""
    sp, a = ctx.P.sparse, ctx.train_arch
    m = sparse_method(ctx)
    lr = tune(ctx, m, sparse.last_k(a, max(sp.last_k)), "sparse: contribution learning rate")["lr"]
    ep = sp.contrib_epochs or None
    seed = ctx.seed + TUNE_SEED

    def measure(s: Scheme) -> float:
        return val_acc(ctx, m, s, lr, seed, ep)

    n = a.n_convs
    planned = [sparse.classifier_only(), *(Scheme(int(k)) for k in sp.bias_depths), Scheme(sp.base_bias),
               *(Scheme(max(sp.base_bias, n - i), (int(i),), (float(r),)) for i in sp.layers for r in sp.ratios)]
    val_accs(ctx, [(m, s, lr, seed, ep) for s in planned])  # in parallel; contributions() reads the memo
    contrib = sparse.contributions(a, measure, sp.bias_depths, sp.layers, sp.ratios, sp.base_bias)
    size = space_size(ctx)
    space = scheme_space(ctx) if size <= sp.max_enumerate else None
    budgets = {k: scheme_memory(ctx, sparse.last_k(a, k)) for k in sp.last_k}
    searched = {k: best_in_budget(ctx, contrib, space, b) for k, b in budgets.items()}
    # the second edition's search (analytic memory only), kept for comparison at the claim's budget
    unconstrained = ({sp.claim_k: best_in_budget(ctx, contrib, space, budgets[sp.claim_k], constrained=False)}
                     if sp.peak_budget_kib is not None else {})
    rng = np.random.default_rng(ctx.seed)
    if space is not None:
        pick = [space[i] for i in rng.choice(len(space), size=min(sp.n_check, len(space)), replace=False)]
    else:
        pick = random_schemes(ctx, sp.n_check, rng)
    check = {s.label(): s for s in [*pick, *searched.values(), *unconstrained.values()]}
    chosen = {s.label() for s in searched.values()}
    val_accs(ctx, [(m, s, lr, seed, ep) for s in check.values()])
    rows = [{"scheme": lab, "predicted_gain": contrib.predict(s), "measured_gain": measure(s) - contrib.base_acc,
             "memory_kb": scheme_memory(ctx, s), "peak_kib_128px": scheme_peak(ctx, s),
             "feasible": feasible(ctx, s), "searched": lab in chosen,
             "searched_unconstrained": lab in {u.label() for u in unconstrained.values()}}
            for lab, s in sorted(check.items())]
    ctx.log.append({"what": "sparse: searched schemes", "budgets_kb": budgets,
                    "peak_budget_kib": sp.peak_budget_kib,
                    "schemes": {k: s.label() for k, s in searched.items()},
                    "unconstrained": {k: s.label() for k, s in unconstrained.items()}})
    return {"lr": lr, "contrib": contrib, "space": size if space is None else len(space),
            "exhaustive": space is not None, "n_feasible": count_feasible(ctx, space) if space is not None else None,
            "budgets": budgets, "searched": searched, "unconstrained": unconstrained, "check": pd.DataFrame(rows)}


def contributions_table(c: sparse.Contributions) -> pd.DataFrame:
    rows = [{"choice": f"bias depth {k}", "kind": "bias", "layer": None, "ratio": None, "gain": g}
            for k, g in sorted(c.bias.items())]
    rows += [{"choice": f"conv {i} @ {r:g}", "kind": "weight", "layer": i, "ratio": r, "gain": g}
             for (i, r), g in sorted(c.weight.items())]
    return pd.DataFrame(rows)


# ---- memory and MACs ------------------------------------------------------------------------------

def memory_all_models() -> pd.DataFrame:
    """Analytic extra memory (KiB) of standard schemes on the three full-size backbones."""
    rows = []
    for mname in MODELS:
        a = arch(mname)
        for name, s in [("bias-only (all)", sparse.bias_only(a)), ("last 6 layers", sparse.last_k(a, 6)),
                        ("last 12 layers", sparse.last_k(a, 12)), ("full update", sparse.full(a))]:
            r = extra_memory(a, s)
            rows.append({"model": mname, "scheme": name, "extra_memory_kb": r["extra_memory_kb"],
                         **{f"{k}_kb": v for k, v in r["breakdown_kb"].items()}})
    return pd.DataFrame(rows)


def memory_comparison(ctx: Ctx, schemes: dict[str, Scheme]) -> pd.DataFrame:
    """Peak memory of one training step (batch 1, full 128x128 model): schedule model of a
    PyTorch-like fp32 framework (int8 input image added for the whole step) and of the int8 engine
    (input image a live buffer, what the search constrains; and, for comparison with the first
    edition, resident for the whole step), and (optionally) PyTorch measured."""
    mp, a = ctx.P.memory, ctx.deploy_arch
    rows = []
    net = qnet = x1 = y1 = None
    if mp.measure:
        torch.manual_seed(ctx.seed)
        net = Net(a, 10, bn=False)
        x = torch.randn(4, 3, a.resolution, a.resolution, generator=torch.Generator().manual_seed(ctx.seed))
        qnet = quantize(net, x)
        x1, y1 = x[:1], torch.tensor([1])
    input_kb = 3 * a.resolution**2 / 1024  # the int8 input image
    for sname, s in schemes.items():
        for engine, label in (("framework", "PyTorch fp32 (model)"),
                              ("tte", "int8 engine (model, input resident all step)")):
            mdl = schedule_peak(a, s, engine)
            rows.append({"scheme": sname, "what": label, "peak_kb": mdl["peak_B"] / 1024 + input_kb,
                         "saved_kb": mdl["saved_B"] / 1024})
        mdl = schedule_peak(a, s, "tte", input_live=True)
        rows.append({"scheme": sname, "what": "int8 engine (model)", "peak_kb": mdl["peak_B"] / 1024,
                     "saved_kb": mdl["saved_B"] / 1024})
        if mp.measure:
            for label, n in (("PyTorch fp32 (measured)", net), ("int8 lean graph in PyTorch (measured)", qnet)):
                r = measure_step(sparse.apply_scheme(copy.deepcopy(n), s), x1, y1)
                rows.append({"scheme": sname, "what": label, "peak_kb": r["peak_B"] / 1024,
                             "saved_kb": r["saved_B"] / 1024})
        rows.append({"scheme": sname, "what": "analytic extra memory (paper's formula)",
                     "peak_kb": extra_memory(a, s)["extra_memory_kb"], "saved_kb": float("nan")})
    return pd.DataFrame(rows)


def macs_table(ctx: Ctx, schemes: dict[str, Scheme]) -> pd.DataFrame:
    """MACs of one training step (batch 1): what an MCU FPU or int8 kernel would execute."""
    rows = []
    for name, s in schemes.items():
        for label, a in ((f"train {ctx.train_arch.resolution}px", ctx.train_arch), ("deploy 128px", ctx.deploy_arch)):
            m = train_macs(a, s)
            rows.append({"scheme": name, "arch": label, **{f"{k}_M": v / 1e6 for k, v in m.items()}})
    return pd.DataFrame(rows)


def gradient_ratios(ctx: Ctx, n: int = 64) -> pd.DataFrame:
    """Per-layer ||W|| / ||G|| of the fp32 graph, the int8 graph, and the int8 graph with QAS."""
    import torch.nn.functional as F

    x, y = ctx.data.x_train[:n], ctx.data.y_train[:n]
    rows = {}
    for name, net in (("fp32", ctx.fnet), ("int8", ctx.qnets["int8"])):
        net = sparse.apply_scheme(copy.deepcopy(net), sparse.full(net.arch))
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        if name == "fp32":
            rows["fp32"] = [float(m.weight.detach().norm() / m.weight.grad.norm().clamp_min(1e-30))
                            for m in [*net.convs, net.fc]]
        else:
            rows["int8 (no QAS)"] = layer_ratios(net)
            rows["int8 + QAS"] = layer_ratios(net, qas_scales(net))
    df = pd.DataFrame(rows)
    df.index.name = "layer"
    return df


# ---- the study --------------------------------------------------------------------------------------

def run(P: OdtParams, C: Any) -> Result:
    ctx = setup(P, C.seed)
    a = ctx.train_arch
    nb = P.n_boot
    # ---- phase 1: every choice on validation ----
    ceil_sel = ceilings_select(ctx)
    qp = P.qas
    qas_scheme = sparse.full(a) if qp.scheme == "full" else sparse.last_k(a, min(qp.k, a.n_convs))
    qas_lr = {m.id: tune(ctx, m, qas_scheme, "qas")["lr"] for m in qp.methods}
    fp32 = Method(id="fp32")
    full_lr = tune(ctx, fp32, sparse.full(a), "fp32 full fine-tuning")["lr"]
    sp_sel = sparse_select(ctx)
    sm = sparse_method(ctx)
    sp_runs: dict[str, tuple[str, str, Scheme]] = {"classifier_only": ("classifier only", "classifier", sparse.classifier_only()),
                                                   "full": ("full update", "full", sparse.full(a))}
    for k in P.sparse.last_k:
        sp_runs[f"last{k}"] = (f"last {k} convs", "last-k", sparse.last_k(a, k))
        sp_runs[f"searched_at_last{k}"] = (f"searched @ mem(last {k})", "searched", sp_sel["searched"][k])
    for k, s in sp_sel["unconstrained"].items():  # the second edition's search, for comparison
        sp_runs[f"unconstrained_at_last{k}"] = (f"searched without the peak constraint @ mem(last {k})",
                                               "searched (unconstrained)", s)
    sp_lr = {rid: tune(ctx, sm, s, f"sparse: {rid}")["lr"] for rid, (_, _, s) in sp_runs.items()}
    pr = P.precision
    prec_scheme = sparse.last_k(a, min(pr.k, a.n_convs))
    prec_methods = [Method(id=p, precision=p) for p in pr.precisions]
    prec_lr = {m.id: tune(ctx, m, prec_scheme, "precision")["lr"] for m in prec_methods}
    selection_log = list(ctx.log)
    # ---- phase 2: test, read once per selected configuration ----
    ctx.data.test.unseal()
    ceil_c = ceilings_final(ctx, ceil_sel)
    qas_c = {m.id: final(ctx, m, qas_scheme, qas_lr[m.id], f"qas:{m.id}") for m in qp.methods}
    full_c = final(ctx, fp32, sparse.full(a), full_lr, "fp32 full")
    sp_c = {rid: final(ctx, sm, s, sp_lr[rid], f"sparse:{rid}") for rid, (_, _, s) in sp_runs.items()}
    prec_c = {m.id: final(ctx, m, prec_scheme, prec_lr[m.id], f"precision:{m.id}") for m in prec_methods}

    # ---- tables ----
    seed = ctx.seed
    acc_rows = []
    for k, c in ceil_c.items():
        acc_rows.append({"id": k, "section": "ceiling", **acc_stats(c, nb, seed)})
    acc_rows.append({"id": "fp32_full", "section": "fp32 full fine-tuning", "lr": full_lr, **acc_stats(full_c, nb, seed)})
    accuracy = pd.DataFrame(acc_rows)
    qas_tab = pd.DataFrame([{"id": m.id, "graph": m.graph, "head": m.head if m.graph == "int8" else "-",
                             "qas": m.qas, "mode": m.mode if m.graph == "int8" else "-", "lr": qas_lr[m.id],
                             **acc_stats(qas_c[m.id], nb, seed)} for m in qp.methods])
    sp_tab = pd.DataFrame([{"id": rid, "name": name, "family": fam, "scheme": s.label(), "lr": sp_lr[rid],
                            "memory_kb": scheme_memory(ctx, s), "memory_kb_128px": scheme_memory(ctx, s, deploy=True),
                            "peak_kib_128px": scheme_peak(ctx, s), "within_peak_budget": feasible(ctx, s),
                            **acc_stats(sp_c[rid], nb, seed)} for rid, (name, fam, s) in sp_runs.items()])
    prec_tab = pd.DataFrame([{"id": m.id, "lr": prec_lr[m.id], **acc_stats(prec_c[m.id], nb, seed)}
                             for m in prec_methods])
    qas_diffs = pd.DataFrame([{"id": m.id, "vs": "fp32", **diff_stats(qas_c[m.id], qas_c["fp32"], nb, seed)}
                              for m in qp.methods if m.id != "fp32"])
    eq_mem = pd.DataFrame([{"k": k, "search": search, "budget_kb": sp_sel["budgets"][k],
                            "last_k_peak_kib": scheme_peak(ctx, sparse.last_k(a, k)),
                            "searched": sp_runs[f"{pre}_at_last{k}"][2].label(),
                            "searched_memory_kb": scheme_memory(ctx, sp_runs[f"{pre}_at_last{k}"][2]),
                            "searched_peak_kib": scheme_peak(ctx, sp_runs[f"{pre}_at_last{k}"][2]),
                            **diff_stats(sp_c[f"{pre}_at_last{k}"], sp_c[f"last{k}"], nb, seed)}
                           for pre, search in (("searched", "constrained"), ("unconstrained", "unconstrained"))
                           for k in P.sparse.last_k if f"{pre}_at_last{k}" in sp_runs])
    vs_full = pd.DataFrame([{"id": rid, **diff_stats(sp_c[rid], sp_c["full"], nb, seed)}
                            for rid in sp_runs if rid != "full"])
    ck = P.sparse.claim_k
    mem_schemes = {"full update": sparse.full(ctx.deploy_arch),
                   f"searched @ mem(last {ck})": sp_runs[f"searched_at_last{ck}"][2],
                   **({f"unconstrained @ mem(last {ck})": sp_runs[f"unconstrained_at_last{ck}"][2]}
                      if f"unconstrained_at_last{ck}" in sp_runs else {}),
                   f"last {ck} convs": sparse.last_k(ctx.deploy_arch, ck)}
    mem_cmp = memory_comparison(ctx, mem_schemes)
    mem_all = memory_all_models()
    macs = macs_table(ctx, {"full update": sparse.full(a), f"last {pr.k} convs": prec_scheme,
                            **{f"searched @ mem(last {k})": sp_runs[f"searched_at_last{k}"][2]
                               for k in P.sparse.last_k}})
    ratios = gradient_ratios(ctx)
    lr_rows = [{"what": r["what"], "method": r["method"], "scheme": r["scheme"], "lr": g["lr"], "val_acc": g["val_acc"],
                "chosen": g["lr"] == r["lr"]} for r in selection_log if "grid" in r and "lr" in r for g in r["grid"]]
    tables = {"accuracy": accuracy, "qas": qas_tab, "qas_vs_fp32": qas_diffs, "sparse": sp_tab,
              "sparse_vs_full": vs_full, "equal_memory": eq_mem, "contributions": contributions_table(sp_sel["contrib"]),
              "predicted_vs_measured": sp_sel["check"], "precision": prec_tab, "macs": macs,
              "memory_models": mem_all, "memory_comparison": mem_cmp, "grad_ratios": ratios,
              "lr_grid": pd.DataFrame(lr_rows),
              "pretrain": pd.DataFrame({"epoch": range(1, len(ctx.pretrain["epoch_acc"]) + 1),
                                        "heldout_acc": ctx.pretrain["epoch_acc"]})}
    data_dir = paths.data_dir(STUDY)
    for name, df in tables.items():
        df.to_csv(data_dir / f"{name}.csv", index=name == "grad_ratios")
    figs = figures.make_all(tables, paths.figures_dir(STUDY), n_classes=ctx.data.n_classes,
                            peak_budget_kib=P.sparse.peak_budget_kib)

    # ---- claims ----
    claims = _claims(P, tables, sp_sel, figs)
    check = sp_sel["check"]
    rho = (float(sps.spearmanr(check["predicted_gain"], check["measured_gain"]).statistic)
           if len(check) > 2 and check["predicted_gain"].nunique() > 1 else float("nan"))
    metrics = {
        "protocol": {"n_train": len(ctx.data.y_train), "n_val": len(ctx.data.y_val), "n_test": len(ctx.data.test),
                     "seeds": P.seeds, "tune_seeds": P.tune_seeds, "epochs": P.epochs,
                     "resolution": a.resolution, "last_stage_hw": a.convs[-1].out_hw,
                     "test_reads": list(ctx.data.test.reads), "selections": len(selection_log)},
        "pretrain": {"heldout_acc": ctx.pretrain["heldout_acc"], "n_train": ctx.pretrain["n_train"],
                     "epochs": len(ctx.pretrain["epoch_acc"])},
        "accuracy": _by_id(accuracy), "qas": _by_id(qas_tab), "qas_vs_fp32": _by_id(qas_diffs),
        "sparse": _by_id(sp_tab), "sparse_vs_full": _by_id(vs_full),
        "equal_memory": {f"last{int(r['k'])}" + ("" if r["search"] == "constrained" else "_unconstrained"): _clean(r)
                         for r in eq_mem.to_dict("records")},
        "precision": _by_id(prec_tab),
        "search": {"space_size": sp_sel["space"], "exhaustive": sp_sel["exhaustive"],
                   "peak_budget_kib": P.sparse.peak_budget_kib, "n_feasible": sp_sel["n_feasible"],
                   "unconstrained": {f"last{k}": s.label() for k, s in sp_sel["unconstrained"].items()},
                   "spearman_predicted_measured": rho, "n_checked": len(check),
                   "contribution_lr": sp_sel["lr"], "classifier_only_val_acc": sp_sel["contrib"].base_acc},
        "fp32_full_goal_met": bool(accuracy.set_index("id").loc["fp32_full", "acc"] >= 0.95),
    }
    return Result(STUDY, tables=tables, figures=figs, metrics=metrics, claims=claims)


def _clean(r: dict) -> dict:
    """JSON-ready values: numpy scalars to Python, NaN (a field that does not apply) to None."""
    def one(v):
        if isinstance(v, (np.floating, float)):
            return None if np.isnan(v) else float(v)
        if isinstance(v, (np.integer, np.bool_)):
            return v.item()
        return v
    return {k: one(v) for k, v in r.items()}


def _by_id(df: pd.DataFrame) -> dict:
    return {r["id"]: _clean({k: v for k, v in r.items() if k != "id"}) for r in df.to_dict("records")}


def _claims(P: OdtParams, t: dict, sp_sel: dict, figs: dict) -> list[Claim]:
    rel = {k: paths.relative(v) for k, v in figs.items()}
    qd = t["qas_vs_fp32"].set_index("id")
    ref, base = qd.loc[P.qas.reference], qd.loc[P.qas.baseline]
    qp = P.qas
    c1 = Claim(
        id="odt_qas_closes_int8_gap",
        claim="QAS closes the accuracy gap of int8 training to fp32",
        paper="int8 SGD without QAS 84.3% vs 88.1% with QAS / fp32 on Flowers (~4 points; as quoted in issue 15)",
        value=float(ref["diff"]), ci=(float(ref["ci_lo"]), float(ref["ci_hi"])), n=int(ref["n_test"]),
        verdict=verdict_at_least((float(ref["ci_lo"]), float(ref["ci_hi"])), -qp.margin),
        rule=f"accuracy({qp.reference}) - accuracy(fp32), paired over test images (mean of {P.seeds} seeds): "
             f"supported if the 95% CI lies above -{qp.margin:g}, not supported if below, else inconclusive",
        figure=rel.get("qas"), command=COMMAND, unit="accuracy difference",
        note=f"no-QAS gap ({qp.baseline} - fp32): {base['diff']:+.3f} [{base['ci_lo']:+.3f}, {base['ci_hi']:+.3f}] "
             f"vs the paper's -0.038; scheme: {qp.scheme}"
             + (f" (last {qp.k} convs)" if qp.scheme == "last_k" else ""))
    vf = t["sparse_vs_full"].set_index("id")
    sp = P.sparse
    rid = f"searched_at_last{sp.claim_k}"
    r2 = vf.loc[rid]
    st = t["sparse"].set_index("id")
    frac = float(st.loc[rid, "memory_kb"] / st.loc["full", "memory_kb"])
    urid = f"unconstrained_at_last{sp.claim_k}"
    pb_txt = (f"searched within a modelled peak of {sp.peak_budget_kib:g} KiB at 128x128 (scheme "
              f"{st.loc[rid, 'scheme']}, peak {st.loc[rid, 'peak_kib_128px']:.0f} KiB)"
              if sp.peak_budget_kib is not None else "search without a peak constraint")
    unc_full = (f"; unconstrained search ({st.loc[urid, 'scheme']}, peak {st.loc[urid, 'peak_kib_128px']:.0f} KiB) "
                f"- full: {vf.loc[urid, 'diff']:+.3f} [{vf.loc[urid, 'ci_lo']:+.3f}, {vf.loc[urid, 'ci_hi']:+.3f}]"
                if urid in vf.index else "")
    c2 = Claim(
        id="odt_sparse_matches_full",
        claim="sparse update matches full-update accuracy at a fraction of the memory",
        paper="sparse update matches or beats full update with several times less memory (Fig. 8; not re-read here)",
        value=float(r2["diff"]), ci=(float(r2["ci_lo"]), float(r2["ci_hi"])), n=int(r2["n_test"]),
        verdict=verdict_at_least((float(r2["ci_lo"]), float(r2["ci_hi"])), -sp.match_margin),
        rule=f"accuracy(searched scheme at the memory of last {sp.claim_k}) - accuracy(full update), both int8 + QAS "
             f"({sp.mode} updates): supported if the 95% CI lies above -{sp.match_margin:g}, not supported if below",
        figure=rel.get("sparse"), command=COMMAND, unit="accuracy difference",
        note=f"{pb_txt}; memory {frac:.1%} of full update's (analytic extra memory at the training resolution); "
             f"MDE {r2['mde']:.3f}{unc_full}")
    eqt = t["equal_memory"]
    eq = eqt[eqt.search == "constrained"].set_index("k").loc[sp.claim_k]
    equ = eqt[eqt.search == "unconstrained"].set_index("k")
    unc_eq = (f"; unconstrained search - last {sp.claim_k}: {equ.loc[sp.claim_k, 'diff']:+.3f} "
              f"[{equ.loc[sp.claim_k, 'ci_lo']:+.3f}, {equ.loc[sp.claim_k, 'ci_hi']:+.3f}]"
              if sp.claim_k in equ.index else "")
    c3 = Claim(
        id="odt_searched_beats_last_k",
        claim="the searched sparse scheme beats updating the last k layers at equal memory",
        paper="contribution-analysis schemes beat last-k layer updates at the same memory (Fig. 8/9)",
        value=float(eq["diff"]), ci=(float(eq["ci_lo"]), float(eq["ci_hi"])), n=int(eq["n_test"]),
        verdict=verdict_at_least((float(eq["ci_lo"]), float(eq["ci_hi"])), 0.0),
        rule=f"accuracy(searched within the memory of last {sp.claim_k}) - accuracy(last {sp.claim_k}): "
             "supported if the 95% CI lies above 0, not supported if below, else inconclusive (MDE given)",
        figure=rel.get("sparse"), command=COMMAND, unit="accuracy difference",
        note=f"searched {eq['searched']} ({eq['searched_memory_kb']:.1f} KiB, peak {eq['searched_peak_kib']:.0f} KiB) "
             f"vs budget {eq['budget_kb']:.1f} KiB (last {sp.claim_k}: peak {eq['last_k_peak_kib']:.0f} KiB); "
             f"MDE {eq['mde']:.3f}{unc_eq}")
    mc = t["memory_comparison"]
    sname = f"searched @ mem(last {sp.claim_k})"
    peak = float(mc[(mc.scheme == sname) & (mc.what == "int8 engine (model)")]["peak_kb"].iloc[0])
    fullpk = float(mc[(mc.scheme == "full update") & (mc.what == "int8 engine (model)")]["peak_kb"].iloc[0])
    uname = f"unconstrained @ mem(last {sp.claim_k})"
    urow = mc[(mc.scheme == uname) & (mc.what == "int8 engine (model)")]
    unc_pk = (f"; the unconstrained search's scheme ({st.loc[urid, 'scheme']}) would need "
              f"{float(urow['peak_kb'].iloc[0]):.0f} KiB" if len(urow) else "")
    by_constr = (f"; the search was constrained to <= {sp.peak_budget_kib:g} KiB of this peak, so a verdict of "
                 "supported holds by construction" if sp.peak_budget_kib is not None else "")
    c4 = Claim(
        id="odt_engine_under_256kb",
        claim="the int8 training engine needs at most 256 KB of SRAM",
        paper="training fits in 256 KB SRAM (mbv2-w0.35 / mcunet / proxyless at 128x128, sparse update)",
        value=peak, ci=(peak, peak), n=1, verdict=verdict_at_most((peak, peak), P.memory.budget_kb),
        rule=f"modelled peak SRAM of one int8 training step (schedule model, int8 input image a live buffer) of the "
             f"searched scheme on the full 128x128 {P.pretrain.model}: supported if <= {P.memory.budget_kb:g} KiB",
        figure=rel.get("memory"), command=COMMAND, unit="KiB",
        note=f"a deterministic model, not an MCU measurement; full update would need {fullpk:.0f} KiB"
             f"{unc_pk}{by_constr}")
    return [c1, c2, c3, c4]
