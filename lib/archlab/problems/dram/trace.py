"""DRAMSys ``.stl`` traces: read, write and generate (incl. the public calibration traces).

A line is ``<cycle>:\\t<read|write>\\t0x<hex address>``; request ``i`` is issued at its
cycle on the trace clock (800 MHz in ArchGym's DDR3 setup), each request 64 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LINE_BYTES = 64
MEMORY_BYTES = 1 << 30
NLINES = MEMORY_BYTES // LINE_BYTES
KINDS = ("stream", "random", "mixed", "rw")
PUBLIC = {"pub_stream": ("stream", None), "pub_random": ("random", 11),
          "pub_mixed": ("mixed", 12), "pub_rw": ("rw", 13)}
_LINE = re.compile(r"^\s*(\d+)\s*:\s*(read|write)\s+(0x[0-9a-fA-F]+|\d+)\s*$")


class TraceError(ValueError):
    """A malformed trace (names the file and line)."""


@dataclass(frozen=True)
class Trace:
    """Requests in issue order: trace-clock cycle, write flag, byte address."""

    cycle: np.ndarray
    is_write: np.ndarray
    address: np.ndarray
    name: str = "trace"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cycle", np.ascontiguousarray(self.cycle, dtype=np.int64))
        object.__setattr__(self, "is_write", np.ascontiguousarray(self.is_write, dtype=np.bool_))
        object.__setattr__(self, "address", np.ascontiguousarray(self.address, dtype=np.int64))
        n = len(self.cycle)
        if len(self.is_write) != n or len(self.address) != n:
            raise TraceError(f"{self.name}: cycle, is_write and address lengths differ")
        if n and (np.any(np.diff(self.cycle) < 0) or self.cycle[0] < 0):
            raise TraceError(f"{self.name}: cycles must be non-negative and non-decreasing")

    def __len__(self) -> int:
        return len(self.cycle)

    @property
    def n_writes(self) -> int:
        return int(self.is_write.sum())

    def digest(self) -> str:
        """Content hash (identifies the trace in problem descriptions)."""
        import hashlib

        h = hashlib.sha256()
        for a in (self.cycle, self.is_write.astype(np.int8), self.address):
            h.update(a.tobytes())
        return h.hexdigest()[:16]


def read_trace(path: str | Path) -> Trace:
    """Parse a DRAMSys ``.stl`` file; comments (``#``) and blank lines are skipped."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such trace file") from None
    cycles, writes, addrs = [], [], []
    last = -1
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            raise TraceError(f"{path}:{no}: malformed line {raw.strip()!r}; "
                             "expected '<cycle>:\\t<read|write>\\t0x<hex address>'")
        cyc = int(m.group(1))
        try:
            addr = int(m.group(3), 0)
        except ValueError:
            raise TraceError(f"{path}:{no}: bad address {m.group(3)!r}") from None
        if addr >= 1 << 62:
            raise TraceError(f"{path}:{no}: address {m.group(3)} out of range")
        if cyc < last:
            raise TraceError(f"{path}:{no}: cycle {cyc} is before the previous cycle {last} "
                             "(cycles must be non-decreasing)")
        last = cyc
        cycles.append(cyc)
        writes.append(m.group(2) == "write")
        addrs.append(addr)
    if not cycles:
        raise TraceError(f"{path}: no requests")
    return Trace(np.array(cycles), np.array(writes), np.array(addrs), name=path.stem)


def write_trace(trace: Trace, path: str | Path) -> Path:
    """Write ``trace`` in DRAMSys ``.stl`` format."""
    path = Path(path)
    ops = np.where(trace.is_write, "write", "read")
    lines = [f"{c}:\t{o}\t{hex(a)}" for c, o, a in zip(trace.cycle.tolist(), ops, trace.address.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def generate_trace(kind: str, n: int = 10_000, seed: int | None = 0, write_fraction: float = 0.3) -> Trace:
    """Synthetic trace, one request per cycle, 64-byte aligned in 1 GiB.

    ``stream``: line i; ``random``: uniform lines; ``mixed``: alternating sequential and
    random runs of 50..300 requests (ArchGym's cloud traces); ``rw``: uniform lines with
    a ``write_fraction`` of writes. Public names ``pub_*`` reproduce the calibration traces
    (seeds 11, 12, 13) bit for bit with the algorithm of the spec sheet.
    """
    if kind in PUBLIC:
        kind, pub_seed = PUBLIC[kind]
        seed = pub_seed if pub_seed is not None else seed
    if kind not in KINDS:
        raise TraceError(f"unknown trace kind {kind!r}; allowed: {', '.join(KINDS + tuple(PUBLIC))}")
    if n < 1:
        raise TraceError(f"n must be >= 1, got {n}")
    if not 0.0 <= write_fraction <= 1.0:
        raise TraceError(f"write_fraction must be in [0, 1], got {write_fraction}")
    is_write = np.zeros(n, dtype=bool)
    if kind == "stream":
        lines = np.arange(n, dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        if kind == "random":
            lines = rng.integers(0, NLINES, size=n)
        elif kind == "rw":
            lines = rng.integers(0, NLINES, size=n)
            is_write = rng.random(n) < write_fraction
        else:
            lines = _mixed_lines(rng, n)
    return Trace(np.arange(n, dtype=np.int64), is_write, lines.astype(np.int64) * LINE_BYTES,
                 name=f"{kind}" + ("" if kind == "stream" else f"-s{seed}"))


def _mixed_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    runs, total, k = [], 0, 0
    while total < n:
        length = int(rng.integers(50, 301))
        if k % 2 == 0:
            start = rng.integers(0, NLINES)
            run = (start + np.arange(length)) % NLINES
        else:
            run = rng.integers(0, NLINES, size=length)
        runs.append(run)
        total += length
        k += 1
    return np.concatenate(runs)[:n]


def resolve_trace(trace: str | Path | Trace, n: int = 10_000, seed: int | None = None) -> Trace:
    """A Trace from a kind name (``stream``, ``pub_random``, ...), a ``.stl`` path or a Trace."""
    if isinstance(trace, Trace):
        return trace
    name = str(trace)
    if name in PUBLIC:
        return generate_trace(name, n, seed)
    if name in KINDS:
        return generate_trace(name, n, 0 if seed is None else seed)
    if Path(name).suffix == ".stl" or Path(name).exists():
        return read_trace(name)
    raise TraceError(f"unknown trace {name!r}; give a kind ({', '.join(KINDS + tuple(PUBLIC))}) "
                     "or an existing .stl file")
