"""Figures of the on-device-training study (deterministic PNGs via ``core.plots.save_fig``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.core.plots import save_fig


def _bars(ax, labels, df: pd.DataFrame, colors=None) -> None:
    y = np.arange(len(df))
    err = np.vstack([df["acc"] - df["ci_lo"], df["ci_hi"] - df["acc"]]).clip(0)
    ax.barh(y, df["acc"], xerr=err, color=colors, capsize=3)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()


def accuracy_fig(acc: pd.DataFrame, qas: pd.DataFrame, path: Path) -> Path:
    df = pd.concat([acc, qas[qas["id"] == "fp32"].assign(id="fp32 (QAS scheme)")], ignore_index=True)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    _bars(ax, df["id"], df, ["C7" if s == "ceiling" else "C0" for s in df.get("section", [""] * len(df))])
    lo = max(0.0, float(df["ci_lo"].min()) - 0.05)
    ax.set_xlim(lo, 1.0)
    ax.set_xlabel("test accuracy, digits 5-9 (mean of seeds, 95% bootstrap CI)")
    ax.axvline(0.95, color="grey", ls=":", lw=1)
    ax.set_title("ceilings on the same split vs fp32 fine-tuning")
    fig.subplots_adjust(left=0.25, bottom=0.2)
    return save_fig(fig, path)


def qas_fig(qas: pd.DataFrame, ratios: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.1, 1]})
    colors = ["C0" if g == "fp32" else ("C2" if q else "C3") for g, q in zip(qas["graph"], qas["qas"])]
    _bars(axes[0], qas["id"], qas, colors)
    axes[0].set_xlabel("test accuracy (95% CI)")
    axes[0].set_title("fp32 vs int8 without / with QAS (per-method tuned lr)")
    axes[0].set_xlim(max(0.0, float(qas["ci_lo"].min()) - 0.05), 1.0)
    for col, st in zip(ratios.columns, ["-", ":", "--"]):
        axes[1].plot(ratios.index, ratios[col], st, marker=".", label=col)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("layer (conv index; last = classifier)")
    axes[1].set_ylabel("||W|| / ||G||")
    axes[1].legend(fontsize=8)
    axes[1].set_title("weight / gradient norm ratio per layer")
    fig.subplots_adjust(left=0.15, bottom=0.15, wspace=0.25)
    return save_fig(fig, path)


def lr_fig(lr: pd.DataFrame, path: Path) -> Path:
    groups = list(lr.groupby(["what", "method", "scheme"], sort=False))
    n = len(groups)
    cols = 4
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows), squeeze=False)
    for ax, ((_what, method, scheme), g) in zip(axes.flat, groups):
        ax.plot(g["lr"], g["val_acc"], "o-", ms=3)
        ch = g[g["chosen"]]
        ax.plot(ch["lr"], ch["val_acc"], "r*", ms=9)
        ax.set_xscale("log")
        ax.set_title(f"{method}\n{scheme}", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.supylabel("validation accuracy")
    fig.supxlabel("learning rate (red star: chosen)")
    return save_fig(fig, path)


def search_fig(check: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    unc = check["searched_unconstrained"] if "searched_unconstrained" in check else False
    kind = np.where(check["searched"], "searched", np.where(unc & ~check["searched"],
                                                            "searched without the peak constraint",
                                                            "random schemes of the space"))
    feas = check["feasible"] if "feasible" in check else pd.Series(True, index=check.index)
    colors = {"random schemes of the space": "C0", "searched": "C3", "searched without the peak constraint": "C1"}
    for k in colors:
        for f in (True, False):
            g = check[(kind == k) & (feas == f)]
            if len(g):
                ax.scatter(g["predicted_gain"], g["measured_gain"], edgecolors=colors[k],
                           facecolors=colors[k] if f else "none",
                           label=k + ("" if f else " (over the peak budget)"))
    lim = [min(check["predicted_gain"].min(), check["measured_gain"].min()) - 0.01,
           max(check["predicted_gain"].max(), check["measured_gain"].max()) + 0.01]
    ax.plot(lim, lim, "k:", lw=1)
    ax.set_xlabel("predicted gain (sum of contributions)")
    ax.set_ylabel("measured gain on validation")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("additive fitness vs measured gain")
    return save_fig(fig, path)


def sparse_fig(sp: pd.DataFrame, path: Path, peak_budget_kib: float | None = None) -> Path:
    xs = [("memory_kb", "analytic extra memory at the training resolution (KiB)")]
    if "peak_kib_128px" in sp:
        xs.append(("peak_kib_128px", "modelled peak SRAM of one int8 step at 128x128 (KiB)"))
    fig, axes = plt.subplots(1, len(xs), figsize=(7 * len(xs), 4), squeeze=False)
    for ax, (col, label) in zip(axes[0], xs):
        for fam, g in sp.groupby("family", sort=False):
            g = g.sort_values(col)
            err = np.vstack([g["acc"] - g["ci_lo"], g["ci_hi"] - g["acc"]]).clip(0)
            ax.errorbar(g[col].clip(lower=0.05), g["acc"], yerr=err, fmt="o-" if len(g) > 1 else "o",
                        capsize=3, label=fam)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (95% CI)")
        if col == "peak_kib_128px" and peak_budget_kib is not None:
            ax.axvline(peak_budget_kib, color="grey", ls=":", label=f"search constraint {peak_budget_kib:g} KiB")
        ax.legend(fontsize=8)
    axes[0][0].set_title("sparse update (int8 + QAS): accuracy vs memory")
    return save_fig(fig, path)


def memory_fig(mem_all: pd.DataFrame, mc: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    mem_all.pivot(index="scheme", columns="model", values="extra_memory_kb").plot.bar(ax=axes[0], rot=20)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("extra memory (KiB)")
    axes[0].axhline(256, color="grey", ls=":")
    axes[0].set_title("analytic extra memory (batch 1, 128x128)")
    order = list(dict.fromkeys(mc["scheme"]))
    pv = mc.pivot(index="scheme", columns="what", values="peak_kb").reindex(order)
    pv.index = [s.replace(" @ ", "\n@ ") for s in pv.index]
    pv.plot.bar(ax=axes[1], rot=0)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("KiB")
    axes[1].axhline(256, color="grey", ls=":")
    axes[1].legend(fontsize=7)
    axes[1].set_title("one training step at 128x128: framework vs int8 engine")
    return save_fig(fig, path)


def precision_fig(prec: pd.DataFrame, macs: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    _bars(axes[0], prec["id"], prec)
    axes[0].set_xlim(max(0.0, float(prec["ci_lo"].min()) - 0.05), 1.0)
    axes[0].set_xlabel("test accuracy (95% CI)")
    axes[0].set_title("fp32 vs bf16 vs fp16 (loss scaling)")
    m = macs.pivot(index="scheme", columns="arch", values="total_M")
    m.plot.barh(ax=axes[1])
    axes[1].set_xscale("log")
    axes[1].set_xlabel("MACs per training step, batch 1 (millions)")
    axes[1].set_title("work per step (what an MCU executes)")
    return save_fig(fig, path)


def pretrain_fig(pre: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.plot(pre["epoch"], pre["heldout_acc"], "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out accuracy (MNIST 0-4)")
    ax.set_title("pretraining convergence")
    return save_fig(fig, path)


def make_all(t: dict, out: Path, n_classes: int, peak_budget_kib: float | None = None) -> dict[str, Path]:
    out = Path(out)
    return {
        "accuracy": accuracy_fig(t["accuracy"], t["qas"], out / "accuracy.png"),
        "qas": qas_fig(t["qas"], t["grad_ratios"], out / "qas.png"),
        "lr_grid": lr_fig(t["lr_grid"], out / "lr_grid.png"),
        "search": search_fig(t["predicted_vs_measured"], out / "search.png"),
        "sparse": sparse_fig(t["sparse"], out / "sparse.png", peak_budget_kib),
        "memory": memory_fig(t["memory_models"], t["memory_comparison"], out / "memory.png"),
        "precision": precision_fig(t["precision"], t["macs"], out / "precision.png"),
        "pretrain": pretrain_fig(t["pretrain"], out / "pretrain.png"),
    }
