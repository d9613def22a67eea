"""Sparse-update schemes: which biases and which (partial) weights are trained.

A :class:`Scheme` is ``n_bias`` (the trailing convs whose bias is updated), ``weights``
(conv indices, spec order, whose weights are updated) and ``ratios`` (fraction of each
listed conv's input channels, depthwise: channels, that is updated; the channels with the
largest weight L2 norm are kept, as in the reference). The classifier is always trained. :func:`apply_scheme` makes frozen parameters not require grad, so autograd
neither builds graph nor keeps activations in front of the first trained layer, and the
int8 graph's lean conv saves the input only where a weight is updated.

:func:`evolve` searches schemes under a memory budget with a fitness that adds the
measured contributions of each bias depth and each (layer, ratio) choice (the paper's
contribution analysis; no training in the loop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from archlab.ondevice.arch import Arch, ConvSpec
from archlab.ondevice.int8ops import kept_channels, magnitude_channels
from archlab.ondevice.nets import Net
from archlab.ondevice.quant import real_weight


def _n_split(spec: ConvSpec) -> int:
    return spec.cout if spec.groups > 1 else spec.cin


class SchemeError(ValueError):
    """An invalid sparse-update scheme (the message names the offending value)."""


class NoFeasibleScheme(ValueError):
    """No scheme of a search space satisfies the memory constraints (the message names them)."""


@dataclass(frozen=True)
class Scheme:
    n_bias: int
    weights: tuple[int, ...] = ()
    ratios: tuple[float, ...] = ()

    def validate(self, a: Arch) -> Scheme:
        """Raise :class:`SchemeError` unless the scheme fits ``a``; return self."""
        n = a.n_convs
        if not 0 <= self.n_bias <= n:
            raise SchemeError(f"n_bias={self.n_bias} out of range: {a.name} has {n} convs (0..{n})")
        if len(self.weights) != len(self.ratios):
            raise SchemeError(f"{len(self.weights)} weight indices but {len(self.ratios)} ratios: "
                              "give one ratio per listed conv")
        seen = set()
        for i, r in zip(self.weights, self.ratios):
            if not 0 <= i < n:
                raise SchemeError(f"conv index {i} out of range: {a.name} has convs 0..{n - 1}")
            if i in seen:
                raise SchemeError(f"conv index {i} listed twice")
            seen.add(i)
            if not 0 < r <= 1:
                raise SchemeError(f"ratio {r} for conv {i} outside (0, 1]")
            if i < n - self.n_bias:
                raise SchemeError(f"conv {i} has its weights updated but lies outside the last "
                                  f"{self.n_bias} convs whose biases are updated; use n_bias >= {n - i}")
        return self

    def label(self) -> str:
        """Compact text: ``b25|w27:1,30:1,33:0.5``; a run of full-ratio convs prints as ``w0-50``."""
        ws, rs = self.weights, self.ratios
        if len(ws) > 2 and all(r == 1 for r in rs) and list(ws) == list(range(ws[0], ws[0] + len(ws))):
            return f"b{self.n_bias}|w{ws[0]}-{ws[-1]}"
        w = ",".join(f"{i}:{r:g}" for i, r in zip(ws, rs))
        return f"b{self.n_bias}" + (f"|w{w}" if w else "")

    def to_dict(self) -> dict:
        return {"n_bias": self.n_bias, "weights": list(self.weights), "ratios": list(self.ratios)}

    @staticmethod
    def from_dict(d: dict) -> Scheme:
        return Scheme(int(d["n_bias"]), tuple(int(i) for i in d["weights"]),
                      tuple(float(r) for r in d["ratios"]))


def full(a: Arch) -> Scheme:
    """Update everything."""
    return Scheme(a.n_convs, tuple(range(a.n_convs)), (1.0,) * a.n_convs)


def bias_only(a: Arch, k: int | None = None) -> Scheme:
    """Biases of the last ``k`` convs (all convs by default), no weights."""
    return Scheme(a.n_convs if k is None else k)


def last_k(a: Arch, k: int) -> Scheme:
    """Weights and biases of the last ``k`` convs."""
    n = a.n_convs
    return Scheme(k, tuple(range(n - k, n)), (1.0,) * k)


def classifier_only() -> Scheme:
    return Scheme(0)


def apply_scheme(net: Net, scheme: Scheme) -> Net:
    """Set ``requires_grad`` and kept channels of ``net`` for ``scheme`` (in place)."""
    a = net.arch
    scheme.validate(a)
    ratio = dict(zip(scheme.weights, scheme.ratios))
    first_bias = a.n_convs - scheme.n_bias
    for c in net.convs:
        i = c.spec.index
        c.weight.requires_grad_(i in ratio)
        c.bias.requires_grad_(i >= first_bias)
        c.keep_idx = (magnitude_channels(c.spec, real_weight(c), ratio[i])
                      if i in ratio and kept_channels(c.spec, ratio[i]) < _n_split(c.spec) else None)
        if c.bn is not None:
            for p in c.bn.parameters():
                p.requires_grad_(i in ratio)
    net.fc.weight.requires_grad_(True)
    net.fc.bias.requires_grad_(True)
    return net


# ---- contribution analysis and evolutionary search ----------------------------------------

@dataclass(frozen=True)
class Contributions:
    """Accuracy gains over classifier-only training.

    ``bias[k]``: gain of updating the last ``k`` biases; ``weight[(i, r)]``: extra gain of
    updating conv ``i``'s weight at ratio ``r`` on top of the bias depth ``base_bias``.
    """

    base_acc: float
    bias: dict[int, float]
    weight: dict[tuple[int, float], float]
    base_bias: int

    def predict(self, s: Scheme) -> float:
        """Additive accuracy-gain prediction of ``s`` (nearest measured bias depth below)."""
        depths = [k for k in self.bias if k <= s.n_bias]
        gain = self.bias[max(depths)] if depths else 0.0
        for i, r in zip(s.weights, s.ratios):
            gain += self.weight.get((i, r), 0.0)
        return gain


def contributions(a: Arch, train_eval: Callable[[Scheme], float], bias_depths: Sequence[int],
                  layers: Sequence[int], ratios: Sequence[float], base_bias: int) -> Contributions:
    """Measure each choice's accuracy gain with ``train_eval(scheme) -> accuracy``."""
    base = train_eval(classifier_only())
    bias = {0: 0.0}
    for k in bias_depths:
        bias[int(k)] = train_eval(Scheme(int(k))) - base
    ref = base + bias.get(base_bias, train_eval(Scheme(base_bias)) - base)
    weight = {}
    for i in layers:
        for r in ratios:
            s = Scheme(max(base_bias, a.n_convs - i), (int(i),), (float(r),))
            weight[(int(i), float(r))] = train_eval(s) - ref
    return Contributions(base, bias, weight, base_bias)


def evolve(a: Arch, contrib: Contributions, memory_kb: Callable[[Scheme], float], budget_kb: float,
           seed: int = 0, population: int = 40, generations: int = 60, max_layers: int = 6,
           mutate_p: float = 0.5, feasible: Callable[[Scheme], bool] | None = None) -> tuple[Scheme, float]:
    """Evolutionary search for the scheme with the highest predicted gain within ``budget_kb``.

    Genes: bias depth (from the measured depths) and up to ``max_layers`` (layer, ratio)
    pairs from the measured candidates. ``feasible`` is a further constraint (e.g. a peak-SRAM
    budget): a scheme over ``budget_kb`` or not ``feasible`` is never returned. Returns (best
    scheme, predicted gain); raises :class:`NoFeasibleScheme` if no feasible scheme was found
    (the classifier-only scheme is always in the first population).
    """
    rng = np.random.default_rng(seed)
    depths = sorted(contrib.bias)
    cands = sorted(contrib.weight)
    layers = sorted({i for i, _ in cands})
    ratios = {i: sorted(r for j, r in cands if j == i) for i in layers}

    def repair(depth: int, genes: dict[int, float]) -> Scheme:
        need = max([a.n_convs - i for i in genes] + [depth])
        depth = min(d for d in depths if d >= need) if any(d >= need for d in depths) else need
        ws = sorted(genes)
        return Scheme(depth, tuple(ws), tuple(genes[i] for i in ws))

    def ok(s: Scheme) -> bool:
        return memory_kb(s) <= budget_kb and (feasible is None or feasible(s))

    def fitness(s: Scheme) -> float:
        return contrib.predict(s) if ok(s) else -1e9 - memory_kb(s)

    def random_scheme() -> Scheme:
        k = int(rng.integers(0, min(max_layers, len(layers)) + 1))
        pick = rng.choice(layers, size=k, replace=False) if k else []
        return repair(int(rng.choice(depths)), {int(i): float(rng.choice(ratios[int(i)])) for i in pick})

    def mutate(s: Scheme) -> Scheme:
        genes = dict(zip(s.weights, s.ratios))
        depth = s.n_bias
        if rng.random() < mutate_p:
            depth = int(rng.choice(depths))
        for i in layers:
            if rng.random() < mutate_p / max(1, len(layers)) * 2:
                if i in genes and rng.random() < 0.5:
                    del genes[i]
                elif len(genes) < max_layers or i in genes:
                    genes[i] = float(rng.choice(ratios[i]))
        return repair(depth, genes)

    def crossover(s: Scheme, t: Scheme) -> Scheme:
        gs, gt = dict(zip(s.weights, s.ratios)), dict(zip(t.weights, t.ratios))
        genes = {}
        for i in set(gs) | set(gt):
            src = gs if rng.random() < 0.5 else gt
            if i in src:
                genes[i] = src[i]
        while len(genes) > max_layers:
            genes.pop(sorted(genes)[int(rng.integers(len(genes)))])
        return repair(s.n_bias if rng.random() < 0.5 else t.n_bias, genes)

    pop = [classifier_only()] + [random_scheme() for _ in range(population - 1)]
    for _ in range(generations):
        pop = sorted(set(pop), key=lambda s: (-fitness(s), s.label()))
        parents = pop[: max(2, population // 4)]
        children = []
        while len(children) < population - len(parents):
            p, q = rng.choice(len(parents), size=2)
            children.append(mutate(crossover(parents[p], parents[q])))
        pop = parents + children
    best = max(pop, key=lambda s: (fitness(s), s.label()))
    if not ok(best):
        raise NoFeasibleScheme(f"no feasible scheme found: even {best.label()} ({memory_kb(best):.1f} KiB) "
                               f"breaks the analytic budget of {budget_kb:.1f} KiB or the further constraint")
    return best, contrib.predict(best)
