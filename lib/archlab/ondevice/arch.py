"""MCU backbones as data: the layer tables of ``shared/specs/mcu_backbones.md``.

Each block is ``(in_c, mid_c or None, k, stride, out_c, residual)``; the first conv is
3->16, k3, stride 2 for all three models. :func:`arch` expands a table into a flat list of
:class:`ConvSpec` in the spec's conv index order (first conv, then per block pointwise1 if
present, depthwise, pointwise2) and can scale width, input resolution and depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Block = tuple[int, int | None, int, int, int, bool]

_MBV2: list[Block] = [
    (16, None, 3, 1, 8, False), (8, 48, 3, 2, 8, False), (8, 48, 3, 1, 8, True),
    (8, 48, 3, 2, 16, False), (16, 96, 3, 1, 16, True), (16, 96, 3, 1, 16, True),
    (16, 96, 3, 2, 24, False), (24, 144, 3, 1, 24, True), (24, 144, 3, 1, 24, True),
    (24, 144, 3, 1, 24, True), (24, 144, 3, 1, 32, False), (32, 192, 3, 1, 32, True),
    (32, 192, 3, 1, 32, True), (32, 192, 3, 2, 56, False), (56, 336, 3, 1, 56, True),
    (56, 336, 3, 1, 56, True), (56, 336, 3, 1, 112, False),
]
_MCUNET: list[Block] = [
    (16, None, 3, 1, 8, False), (8, 32, 3, 2, 16, False), (16, 48, 3, 1, 16, True),
    (16, 48, 7, 2, 24, False), (24, 120, 3, 1, 24, True), (24, 120, 3, 2, 40, False),
    (40, 160, 7, 1, 40, True), (40, 160, 5, 1, 48, False), (48, 144, 3, 1, 48, True),
    (48, 192, 3, 1, 48, True), (48, 240, 7, 2, 96, False), (96, 384, 5, 1, 96, True),
    (96, 384, 5, 1, 96, True), (96, 576, 3, 1, 160, False),
]
_PROXYLESS: list[Block] = [
    (16, None, 3, 1, 8, False), (8, 24, 5, 2, 16, False), (16, 48, 3, 1, 16, True),
    (16, 48, 7, 2, 16, False), (16, 48, 3, 1, 16, True), (16, 48, 5, 1, 16, True),
    (16, 48, 5, 1, 16, True), (16, 96, 7, 2, 24, False), (24, 72, 5, 1, 24, True),
    (24, 72, 5, 1, 24, True), (24, 72, 5, 1, 24, True), (24, 144, 5, 1, 32, False),
    (32, 96, 5, 1, 32, True), (32, 96, 5, 1, 32, True), (32, 96, 5, 1, 32, True),
    (32, 192, 7, 2, 64, False), (64, 384, 7, 1, 64, True), (64, 192, 7, 1, 64, True),
    (64, 192, 7, 1, 64, True), (64, 384, 7, 1, 96, False),
]

TABLES: dict[str, list[Block]] = {"mbv2-w0.35": _MBV2, "mcunet-5fps": _MCUNET, "proxyless-w0.3": _PROXYLESS}
MODELS = tuple(TABLES)
FIRST_CONV_OUT = 16
INPUT_RES = 128


@dataclass(frozen=True)
class ConvSpec:
    """One conv of the graph (BN folded: every conv has a bias)."""

    index: int
    block: int  # -1 for the first conv
    role: str  # first | pw1 | dw | pw2
    cin: int
    cout: int
    k: int
    stride: int
    groups: int
    in_hw: int
    out_hw: int
    relu6: bool

    @property
    def in_elems(self) -> int:
        return self.cin * self.in_hw * self.in_hw

    @property
    def out_elems(self) -> int:
        return self.cout * self.out_hw * self.out_hw

    @property
    def weight_elems(self) -> int:
        return self.cout * (self.cin // self.groups) * self.k * self.k

    @property
    def macs(self) -> int:
        return self.out_elems * (self.cin // self.groups) * self.k * self.k


@dataclass(frozen=True)
class Arch:
    """A backbone: convs in spec index order, which blocks have identity shortcuts, classifier."""

    name: str
    convs: tuple[ConvSpec, ...]
    residual_blocks: frozenset[int]
    n_blocks: int
    feat_dim: int
    resolution: int

    @property
    def n_convs(self) -> int:
        return len(self.convs)

    def block_convs(self, b: int) -> list[ConvSpec]:
        return [c for c in self.convs if c.block == b]


def _ch(c: int, width: float) -> int:
    return c if width == 1.0 else max(4, int(round(c * width / 4)) * 4)


def _keep_blocks(table: list[Block], depth: float) -> list[Block]:
    """Keep every non-residual block and ceil(depth * n) blocks of each run of identity blocks."""
    out: list[Block] = []
    run: list[Block] = []
    for blk in [*table, None]:
        if blk is not None and blk[5]:
            run.append(blk)
            continue
        out.extend(run[: math.ceil(depth * len(run))])
        run = []
        if blk is not None:
            out.append(blk)
    return out


def arch(name: str, width: float = 1.0, resolution: int = INPUT_RES, depth: float = 1.0) -> Arch:
    """The backbone ``name`` (see :data:`MODELS`), optionally scaled down.

    ``width`` multiplies every channel count (rounded to a multiple of 4, at least 4),
    ``resolution`` is the square input size, ``depth`` keeps ``ceil(depth * n)`` of each run
    of ``n`` identity-shortcut blocks. ``arch(name)`` is exactly the spec table.
    """
    if name not in TABLES:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    if not 0 < width <= 4:
        raise ValueError(f"width must be in (0, 4], got {width}")
    if not 0 < depth <= 1:
        raise ValueError(f"depth must be in (0, 1], got {depth}")
    if resolution < 8:
        raise ValueError(f"resolution must be >= 8, got {resolution}")
    table = _keep_blocks(TABLES[name], depth)
    convs: list[ConvSpec] = []
    hw = math.ceil(resolution / 2)
    c0 = _ch(FIRST_CONV_OUT, width)
    convs.append(ConvSpec(0, -1, "first", 3, c0, 3, 2, 1, resolution, hw, True))
    residual = set()
    for b, (cin, mid, k, s, cout, res) in enumerate(table):
        cin, cout = _ch(cin, width), _ch(cout, width)
        cur = cin
        if mid is not None:
            m = _ch(mid, width)
            convs.append(ConvSpec(len(convs), b, "pw1", cur, m, 1, 1, 1, hw, hw, True))
            cur = m
        out_hw = math.ceil(hw / s)
        convs.append(ConvSpec(len(convs), b, "dw", cur, cur, k, s, cur, hw, out_hw, True))
        convs.append(ConvSpec(len(convs), b, "pw2", cur, cout, 1, 1, 1, out_hw, out_hw, False))
        hw = out_hw
        if res:
            residual.add(b)
    return Arch(name, tuple(convs), frozenset(residual), len(table), convs[-1].cout, resolution)


def total_macs(a: Arch, n_classes: int = 10) -> int:
    """Forward MACs of one image (convs + classifier)."""
    return sum(c.macs for c in a.convs) + a.feat_dim * n_classes
