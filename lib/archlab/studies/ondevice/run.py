"""The experiments of ``notebooks/odt.ipynb`` (the notebook only calls these and plots)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from archlab.ondevice import sparse
from archlab.ondevice.arch import MODELS, Arch, arch
from archlab.ondevice.data import Split, load, transfer_tasks
from archlab.ondevice.memory import extra_memory, measure_step, schedule_peak, train_macs
from archlab.ondevice.nets import Net
from archlab.ondevice.pretrained import ensure_pretrained
from archlab.ondevice.qas import layer_ratios, qas_scales
from archlab.ondevice.quant import quantize
from archlab.ondevice.sparse import Scheme
from archlab.ondevice.train import finetune, int8_net, setup_torch, transfer_net
from archlab.studies.ondevice.params import OdtParams


@dataclass
class Context:
    P: OdtParams
    seed: int
    data: Split
    fnet: Net  # fp32 graph (BN folded, new head)
    qnet: Net  # int8 graph of fnet
    train_arch: Arch
    deploy_arch: Arch  # the same model at the spec's 128x128 (memory numbers)
    pretrain: dict


def setup(P: OdtParams, common_seed: int) -> Context:
    """Seeded threads, the cached pretrained net, the fine-tuning split, fp32 and int8 graphs."""
    seed = common_seed + P.seed_offset
    pre = ensure_pretrained(P.pretrain, common_seed)
    setup_torch(P.threads, seed)
    pp = P.pretrain
    _, ft_classes = transfer_tasks(pp.transfer)
    data = load("digits", ft_classes, pp.resolution, P.n_train, P.n_test, seed)
    fnet = transfer_net(pre["net"], data.n_classes, seed)
    qnet = int8_net(fnet, data)
    deploy = arch(pp.model, width=1.0, resolution=128, depth=pp.depth)
    return Context(P, seed, data, fnet, qnet, fnet.arch, deploy, pre)


def _kw(ctx: Context) -> dict:
    P = ctx.P
    return {"epochs": P.epochs, "batch": P.batch, "seed": ctx.seed}


def opt_scheme(ctx: Context) -> Scheme:
    a = ctx.train_arch
    return sparse.full(a) if ctx.P.opt_scheme == "full" else sparse.last_k(a, max(ctx.P.last_k))


def optimizer_comparison(ctx: Context) -> pd.DataFrame:
    """fp32 SGD-M vs int8 SGD-M without QAS vs int8 + QAS vs int8 Adam, both update modes."""
    P, s = ctx.P, opt_scheme(ctx)
    runs = [("fp32", "sgdm", False, "-", ctx.fnet, P.lr)]
    for mode in ("shadow", "int8"):
        runs += [("int8", "sgdm", False, mode, ctx.qnet, P.lr), ("int8", "sgdm", True, mode, ctx.qnet, P.lr),
                 ("int8", "adam", False, mode, ctx.qnet, P.adam_lr)]
    rows = []
    for graph, opt, qas, mode, net, lr in runs:
        r = finetune(net, ctx.data, s, opt=opt, lr=lr, momentum=P.momentum, qas=qas,
                     mode="shadow" if mode == "-" else mode, **_kw(ctx))
        label = f"{graph} {opt.upper().replace('SGDM', 'SGD-M')}" + (" + QAS" if qas else "")
        rows.append({"run": label, "graph": graph, "optimizer": opt, "qas": qas, "update_mode": mode,
                     "accuracy": r["acc"], "final_loss": r["final_loss"], "s_per_step": r["s_per_step"]})
    return pd.DataFrame(rows)


def gradient_ratios(ctx: Context, n: int = 64) -> pd.DataFrame:
    """Per-layer ||W|| / ||G|| of the fp32 graph, the int8 graph, and the int8 graph with QAS."""
    x, y = ctx.data.x_train[:n], ctx.data.y_train[:n]
    rows = {}
    for name, net in (("fp32", ctx.fnet), ("int8", ctx.qnet)):
        net = sparse.apply_scheme(_copy(net), sparse.full(net.arch))
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        if name == "fp32":
            rows["fp32"] = _fp_ratios(net)
        else:
            rows["int8 (no QAS)"] = layer_ratios(net)
            rows["int8 + QAS"] = layer_ratios(net, qas_scales(net))
    df = pd.DataFrame(rows)
    df.index.name = "layer"
    return df


def _copy(net: Net) -> Net:
    import copy

    return copy.deepcopy(net)


def _fp_ratios(net: Net) -> list[float]:
    return [float(m.weight.detach().norm() / m.weight.grad.norm().clamp_min(1e-30)) for m in [*net.convs, net.fc]]


# ---- sparse update: baselines, contributions, search, Pareto ---------------------------------

def scheme_memory(ctx: Context, s: Scheme) -> float:
    return extra_memory(ctx.deploy_arch, s)["extra_memory_kb"]


def _train_eval(ctx: Context, epochs: int):
    P = ctx.P

    def run(s: Scheme) -> float:
        return finetune(ctx.qnet, ctx.data, s, opt="sgdm", lr=P.lr, momentum=P.momentum, qas=True,
                        mode="int8", epochs=epochs, batch=P.batch, seed=ctx.seed)["acc"]
    return run


def contribution_analysis(ctx: Context) -> sparse.Contributions:
    sp = ctx.P.search
    return sparse.contributions(ctx.train_arch, _train_eval(ctx, sp.epochs), sp.bias_depths, sp.layers,
                                sp.ratios, sp.base_bias)


def contributions_table(c: sparse.Contributions) -> pd.DataFrame:
    rows = [{"choice": f"bias depth {k}", "kind": "bias", "layer": None, "ratio": None, "gain": g}
            for k, g in sorted(c.bias.items())]
    rows += [{"choice": f"conv {i} @ {r:g}", "kind": "weight", "layer": i, "ratio": r, "gain": g}
             for (i, r), g in sorted(c.weight.items())]
    return pd.DataFrame(rows)


def searched_schemes(ctx: Context, c: sparse.Contributions) -> dict[float, Scheme]:
    sp = ctx.P.search
    return {b: sparse.evolve(ctx.train_arch, c, lambda s: scheme_memory(ctx, s), b, seed=ctx.seed,
                             population=sp.population, generations=sp.generations,
                             max_layers=sp.max_layers)[0] for b in sp.budgets_kb}


def pareto(ctx: Context, searched: dict[float, Scheme]) -> pd.DataFrame:
    """Accuracy (int8 + QAS, true int8 updates) vs analytic extra memory of each scheme."""
    a, P = ctx.train_arch, ctx.P
    runs = [("classifier only", "classifier only", sparse.classifier_only())]
    runs += [(f"bias-only (last {k})", "bias-only", sparse.bias_only(a, min(k, a.n_convs))) for k in P.bias_only]
    runs += [(f"last {k} layers", "last-k layers", sparse.last_k(a, min(k, a.n_convs))) for k in P.last_k]
    runs += [("full update", "full update", sparse.full(a))]
    runs += [(f"searched @ {b:g} KiB", "searched", s) for b, s in searched.items()]
    run = _train_eval(ctx, P.epochs)
    rows = []
    for kind, family, s in runs:
        rows.append({"scheme": kind, "label": s.label(), "family": family,
                     "extra_memory_kb": scheme_memory(ctx, s), "accuracy": run(s),
                     "train_macs_M": train_macs(ctx.deploy_arch, s)["total"] / 1e6})
    return pd.DataFrame(rows)


# ---- memory: analytic for all backbones, schedule model vs measured PyTorch ---------------------

def memory_all_models() -> pd.DataFrame:
    """Analytic extra memory (KiB) of standard schemes on the three full-size backbones."""
    rows = []
    for m in MODELS:
        a = arch(m)
        for name, s in [("bias-only (all)", sparse.bias_only(a)), ("last 6 layers", sparse.last_k(a, 6)),
                        ("last 12 layers", sparse.last_k(a, 12)), ("full update", sparse.full(a))]:
            r = extra_memory(a, s)
            rows.append({"model": m, "scheme": name, "extra_memory_kb": r["extra_memory_kb"],
                         **{f"{k}_kb": v for k, v in r["breakdown_kb"].items()}})
    return pd.DataFrame(rows)


def memory_comparison(ctx: Context) -> pd.DataFrame:
    """Peak memory of one training step (batch 1, full 128x128 model, random weights):
    schedule model (framework fp32 / our int8 engine) next to PyTorch measurements."""
    mp = ctx.P.memory
    a = ctx.deploy_arch
    s_sparse = Scheme(mp.n_bias, tuple(mp.weights), tuple(mp.ratios))
    torch.manual_seed(ctx.seed)
    net = Net(a, 10, bn=False)
    x = torch.randn(4, 3, a.resolution, a.resolution, generator=torch.Generator().manual_seed(ctx.seed))
    qnet = quantize(net, x)
    x1, y1 = x[:1], torch.tensor([1])
    rows = []
    for sname, s in (("full update", sparse.full(a)), ("sparse update", s_sparse)):
        for engine in ("framework", "tte"):
            m = schedule_peak(a, s, engine)
            label = "PyTorch fp32 (model)" if engine == "framework" else "our int8 engine (model)"
            rows.append({"scheme": sname, "what": label, "peak_kb": m["peak_B"] / 1024,
                         "saved_kb": m["saved_B"] / 1024})
        if mp.measure:
            for label, n in (("PyTorch fp32 (measured)", net), ("int8 lean graph in PyTorch (measured)", qnet)):
                r = measure_step(sparse.apply_scheme(n, s), x1, y1)
                rows.append({"scheme": sname, "what": label, "peak_kb": r["peak_B"] / 1024,
                             "saved_kb": r["saved_B"] / 1024})
        rows.append({"scheme": sname, "what": "analytic extra memory (paper)",
                     "peak_kb": extra_memory(a, s)["extra_memory_kb"], "saved_kb": float("nan")})
    return pd.DataFrame(rows)


# ---- precision and MACs ---------------------------------------------------------------------

def precision_comparison(ctx: Context) -> pd.DataFrame:
    P = ctx.P
    rows = []
    for prec in P.precisions:
        r = finetune(ctx.fnet, ctx.data, sparse.last_k(ctx.train_arch, max(P.last_k)), opt="sgdm", lr=P.lr,
                     momentum=P.momentum,
                     precision=prec, loss_scale=P.loss_scale, **_kw(ctx))
        rows.append({"precision": prec, "accuracy": r["acc"], "final_loss": r["final_loss"],
                     "s_per_step": r["s_per_step"], "skipped_steps": r["skipped"],
                     "final_loss_scale": r["loss_scale"] if prec == "fp16" else None})
    return pd.DataFrame(rows)


def macs_table(ctx: Context, schemes: dict[str, Scheme]) -> pd.DataFrame:
    rows = []
    for name, s in schemes.items():
        for label, a in (("train", ctx.train_arch), ("deploy 128px", ctx.deploy_arch)):
            m = train_macs(a, s)
            rows.append({"scheme": name, "arch": label, **{f"{k}_M": v / 1e6 for k, v in m.items()}})
    return pd.DataFrame(rows)
