"""Memory of a training step, at two levels.

1. :func:`extra_memory`: the paper's analytic *extra* memory of a sparse-update scheme
   (batch 1, KiB = 1024 B). Per conv whose bias is updated: 1 bit per output element (the
   ReLU/clamp mask) + 32 bits per bias; per conv whose weight is updated, additionally its
   input activation at 8 bits over the kept input channels and an 8-bit copy of the
   updated weights (flash is read-only); plus the classifier's input vector at 8 bits.
   Frozen weights (flash), momentum-free SGD and gradient buffers count zero.

2. :func:`schedule_peak`: a schedule-level peak-SRAM model of one training step (forward,
   backward, update) that walks the graph op by op with activation live ranges. Two
   engines: ``framework`` mimics PyTorch autograd in fp32 (saves conv inputs and
   pre-activations wherever grad flows, keeps all parameter gradients until the optimizer
   step); ``tte`` is the compile-time engine of the paper (int8 activations, 1-bit masks,
   int8 copies of kept inputs only where weights train, in-place residual adds, and each
   layer's update applied right after its gradient is computed, so gradient buffers do
   not accumulate). :func:`measure_step` measures the same step in PyTorch on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archlab.ondevice.arch import Arch, ConvSpec
from archlab.ondevice.nets import kept_channels
from archlab.ondevice.sparse import Scheme

KIB = 1024.0
Engine = Literal["framework", "tte"]


def _weight_copy_elems(c: ConvSpec, keep: int) -> int:
    n_split = c.cout if c.groups > 1 else c.cin
    return c.weight_elems * keep // n_split


def extra_memory(a: Arch, scheme: Scheme) -> dict:
    """Analytic extra memory (KiB) of ``scheme`` on ``a`` with its per-conv breakdown."""
    scheme.validate(a)
    ratio = dict(zip(scheme.weights, scheme.ratios))
    rows = []
    for c in a.convs[a.n_convs - scheme.n_bias:]:
        row = {"conv": c.index, "role": c.role, "mask_B": c.out_elems / 8.0, "bias_B": 4.0 * c.cout,
               "input_act_B": 0.0, "weight_copy_B": 0.0, "ratio": ratio.get(c.index, 0.0)}
        if c.index in ratio:
            keep = kept_channels(c, ratio[c.index])
            row["input_act_B"] = float(keep * c.in_hw * c.in_hw)
            row["weight_copy_B"] = float(_weight_copy_elems(c, keep))
        rows.append(row)
    parts = {k: sum(r[k] for r in rows) / KIB for k in ("mask_B", "bias_B", "input_act_B", "weight_copy_B")}
    cls = a.feat_dim / KIB
    total = sum(parts.values()) + cls
    return {
        "model": a.name, "resolution": a.resolution, "scheme": scheme.to_dict(),
        "extra_memory_kb": total,
        "breakdown_kb": {"relu_masks": parts["mask_B"], "biases": parts["bias_B"],
                         "input_activations": parts["input_act_B"], "weight_copies": parts["weight_copy_B"],
                         "classifier_input": cls},
        "per_conv": rows,
    }


# ---- schedule-level model -------------------------------------------------------------------

@dataclass(frozen=True)
class _Op:
    kind: str  # conv | act | add | pool | fc
    inputs: tuple[str, ...]
    out: str
    spec: ConvSpec | None = None


def _graph(a: Arch, fused: bool, n_classes: int) -> tuple[list[_Op], dict[str, int]]:
    sizes = {"x": 3 * a.resolution**2}
    ops: list[_Op] = []
    cur = "x"
    block_in: dict[int, str] = {}
    for c in a.convs:
        if c.block >= 0 and c.block not in block_in:
            block_in[c.block] = cur
        ops.append(_Op("conv", (cur,), f"c{c.index}", c))
        sizes[f"c{c.index}"] = c.out_elems
        cur = f"c{c.index}"
        if c.relu6 and not fused:
            ops.append(_Op("act", (cur,), f"r{c.index}", c))
            sizes[f"r{c.index}"] = c.out_elems
            cur = f"r{c.index}"
        if c.role == "pw2" and c.block in a.residual_blocks:
            ops.append(_Op("add", (cur, block_in[c.block]), f"a{c.block}", c))
            sizes[f"a{c.block}"] = c.out_elems
            cur = f"a{c.block}"
    ops.append(_Op("pool", (cur,), "v"))
    sizes["v"] = a.feat_dim
    ops.append(_Op("fc", ("v",), "logits"))
    sizes["logits"] = n_classes
    return ops, sizes


class _Pool:
    """Live buffers with reference counts; tracks the peak of their total bytes."""

    def __init__(self) -> None:
        self.bytes: dict[str, float] = {}
        self.refs: dict[str, int] = {}
        self.now = 0.0
        self.peak = 0.0

    def alloc(self, name: str, nbytes: float, refs: int = 1) -> None:
        if name in self.bytes:
            self.refs[name] += refs
            return
        self.bytes[name], self.refs[name] = nbytes, refs
        self.now += nbytes
        self.peak = max(self.peak, self.now)

    def release(self, name: str, refs: int = 1) -> None:
        if name not in self.bytes:
            return
        self.refs[name] -= refs
        if self.refs[name] <= 0:
            self.now -= self.bytes.pop(name)
            del self.refs[name]


def schedule_peak(a: Arch, scheme: Scheme, engine: Engine = "tte", batch: int = 1, n_classes: int = 10,
                  grad_bytes: int = 4, input_live: bool = False) -> dict:
    """Peak memory (bytes, over the resting weights) of one training step.

    ``input_live=False``: the input image is not counted (callers add it for the whole step).
    ``input_live=True``: the input image (int8 for ``tte``, fp32 for ``framework``) is a buffer
    like every activation: live from the start of the step to its last use in the forward pass
    (conv 0), after which its memory is reused; where conv 0's weight trains, the engine's saved
    int8 copy of it is counted as for every other trained conv.
    Returns ``{"peak_B", "forward_peak_B", "saved_B", "param_grad_B"}``. See the module
    docstring for what each engine keeps.
    """
    scheme.validate(a)
    fw = engine == "framework"
    if engine not in ("framework", "tte"):
        raise ValueError(f"unknown engine {engine!r}; allowed: framework, tte")
    act_b = 4 if fw else 1
    ops, sizes = _graph(a, fused=not fw, n_classes=n_classes)
    ratio = dict(zip(scheme.weights, scheme.ratios))
    first_bias = a.n_convs - scheme.n_bias
    trains_w = {i for i in ratio}
    trains_b = {i for i in range(first_bias, a.n_convs)}
    # first op whose output needs grad
    first_train = min([i for i, op in enumerate(ops) if op.kind == "conv"
                       and (op.spec.index in trains_w or op.spec.index in trains_b)] + [len(ops) - 1])
    req = {op.out for k, op in enumerate(ops) if k >= first_train}
    last_use = {}
    for k, op in enumerate(ops):
        for t in op.inputs:
            last_use[t] = k
    pool = _Pool()
    if input_live:
        pool.alloc("x", sizes["x"] * act_b * batch)
    saved: dict[int, list[str]] = {}
    for k, op in enumerate(ops):
        pool.alloc(op.out, sizes[op.out] * act_b * batch)
        keep_here: list[str] = []
        if k >= first_train:
            keep_here = _saves(op, k, first_train, fw, ratio, trains_b, sizes, batch, pool)
        saved[k] = keep_here
        for t in op.inputs:
            if last_use[t] == k and (t != "x" or input_live):
                pool.release(t)
    forward_peak = pool.peak
    saved_bytes = sum(pool.bytes[n] for names in saved.values() for n in set(names) if n in pool.bytes)
    pool.release("logits")
    # backward: the loss gradient, then ops in reverse down to the first trained one
    grad_of = {"logits": "g:logits"}
    pool.alloc("g:logits", n_classes * batch * grad_bytes)
    param_grads = 0.0
    for k in range(len(ops) - 1, first_train - 1, -1):
        op = ops[k]
        g_out = grad_of.pop(op.out, None)
        if op.kind == "add":
            for t in op.inputs:
                if t in req:
                    _accumulate(grad_of, pool, t, g_out, sizes, batch, grad_bytes)
            pool.release(g_out)
        else:
            if op.inputs[0] in req:
                _accumulate(grad_of, pool, op.inputs[0], None, sizes, batch, grad_bytes)
            if op.kind in ("conv", "fc"):
                pg = _param_grad_bytes(op, ratio, trains_b, n_classes, a.feat_dim, fw)
                param_grads += pg
                pool.alloc(f"pg{k}", pg)
                if not fw:  # updated in place right away, buffer reused
                    pool.release(f"pg{k}")
            if g_out is not None:
                pool.release(g_out)
        for n in saved.get(k, []):
            pool.release(n)
    return {"engine": engine, "peak_B": pool.peak, "forward_peak_B": forward_peak, "saved_B": float(saved_bytes),
            "param_grad_B": param_grads}


def _saves(op: _Op, k: int, first_train: int, fw: bool, ratio: dict, trains_b: set, sizes: dict,
           batch: int, pool: _Pool) -> list[str]:
    """Buffers op ``k`` keeps for backward (allocated/retained in ``pool``)."""
    if fw:  # PyTorch: conv/fc keep their input, hardtanh its input, wherever grad flows
        if op.kind in ("conv", "fc", "act"):
            t = op.inputs[0]
            if t == "x":
                return []
            pool.alloc(t, 0, refs=1)  # retain the live buffer
            names = [t]
            c = op.spec
            if op.kind == "conv" and c.index in ratio and ratio[c.index] < 1:  # torch.cat'ed weight
                pool.alloc(f"wcat{k}", 4.0 * c.weight_elems)
                names.append(f"wcat{k}")
            return names
        return []
    names = []
    if op.kind == "conv":
        c = op.spec
        if c.index in trains_b or k > first_train:
            pool.alloc(f"mask{k}", c.out_elems * batch / 8.0)
            names.append(f"mask{k}")
        if c.index in ratio:
            keep = kept_channels(c, ratio[c.index])
            pool.alloc(f"xin{k}", keep * c.in_hw * c.in_hw * batch)
            names.append(f"xin{k}")
    elif op.kind == "fc":
        pool.alloc(f"xin{k}", sizes["v"] * batch)
        names.append(f"xin{k}")
    return names


def _accumulate(grad_of: dict, pool: _Pool, t: str, g_alias: str | None, sizes: dict, batch: int,
                grad_bytes: int) -> None:
    """Route a gradient to tensor ``t``: an alias of ``g_alias`` (add backward) or a new buffer;
    a second contribution is computed into a transient buffer and accumulated in place."""
    if g_alias is not None:
        if t in grad_of:
            return  # accumulated into the existing buffer
        grad_of[t] = g_alias
        pool.alloc(g_alias, 0, refs=1)
        return
    name = f"g:{t}"
    if t in grad_of:
        pool.alloc(name + "'", sizes[t] * batch * grad_bytes)
        pool.release(name + "'")
        return
    grad_of[t] = name
    pool.alloc(name, sizes[t] * batch * grad_bytes)


def _param_grad_bytes(op: _Op, ratio: dict, trains_b: set, n_classes: int, feat: int, fw: bool) -> float:
    if op.kind == "fc":
        return 4.0 * (feat * n_classes + n_classes)
    c = op.spec
    out = 4.0 * c.cout if c.index in trains_b else 0.0
    if c.index in ratio:
        keep = c.cout if c.groups > 1 else c.cin
        if not fw:
            keep = kept_channels(c, ratio[c.index])
        out += 4.0 * _weight_copy_elems(c, keep)
    return out


def step_peak_kib(a: Arch, scheme: Scheme, engine: Engine = "tte") -> float:
    """Modelled peak SRAM (KiB) of one training step (batch 1) of ``scheme`` on ``a``, the input
    image included as a live buffer (:func:`schedule_peak` with ``input_live=True``)."""
    return schedule_peak(a, scheme, engine, input_live=True)["peak_B"] / KIB


# ---- measurement in PyTorch -----------------------------------------------------------------

def measure_step(net, x, y, lr: float = 0.01, warmup: int = 1) -> dict:
    """Measured memory of one SGD training step of ``net`` on the CPU.

    ``peak_B``: peak of live tensor bytes allocated during the step (forward, backward,
    ``optimizer.step``) above the resting state, from the PyTorch profiler's memory
    timeline (``profile_memory=True``; every tensor allocation and free). ``saved_B``: bytes
    of the distinct storages autograd keeps for backward, from ``saved_tensors_hooks``.
    Parameters are taken as they are (``requires_grad`` set by a sparse scheme).
    """
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import Action

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    storages: dict[int, int] = {}

    def pack(t):
        st = t.untyped_storage()
        storages[st.data_ptr()] = st.nbytes()
        return t

    params_ptr = {p.untyped_storage().data_ptr() for p in net.parameters()} | {x.untyped_storage().data_ptr()}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(net(x), y)
    saved = sum(n for ptr, n in storages.items() if ptr not in params_ptr)
    del loss
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        step()
    now = peak = 0
    for _, action, _, size in prof._memory_profile().timeline:
        if action == Action.CREATE:
            now += size
        elif action == Action.DESTROY:
            now -= size
        peak = max(peak, now)
    return {"peak_B": float(peak), "saved_B": float(saved)}


def train_macs(a: Arch, scheme: Scheme, n_classes: int = 10) -> dict:
    """MACs of one training step (batch 1): forward, input gradients, weight gradients.

    Input gradients are computed from the last layer down to (not including) the first conv
    with a trained parameter; weight gradients only for the kept channels of trained weights.
    """
    scheme.validate(a)
    ratio = dict(zip(scheme.weights, scheme.ratios))
    trained = [i for i in range(a.n_convs) if i in ratio or i >= a.n_convs - scheme.n_bias]
    first = min(trained) if trained else a.n_convs
    fwd = sum(c.macs for c in a.convs) + a.feat_dim * n_classes
    grad_in = sum(c.macs for c in a.convs if c.index > first) + (a.feat_dim * n_classes if trained else 0)
    grad_w = a.feat_dim * n_classes
    for i, r in ratio.items():
        c = a.convs[i]
        n_split = c.cout if c.groups > 1 else c.cin
        grad_w += c.macs * kept_channels(c, r) // n_split
    return {"forward": fwd, "backward_input": grad_in, "backward_weight": grad_w,
            "total": fwd + grad_in + grad_w}
