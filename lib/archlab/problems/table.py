"""Tabulated problems: every distinct configuration simulated once, answered by lookup.

A *table* is a parquet file with one row per **distinct** configuration of a declared
design space (distinct up to the simulator's canonicalizer, e.g.
:func:`archlab.problems.dram.config.canonical_key`):

* knob columns (the space's knob names, canonical values),
* metric columns (units in the names: ``makespan_ns``, ``energy_pJ``, ...), exactly as the
  simulator's ``evaluate`` returns them,
* ``weight``: how many raw points of the declared space map to the row, so a uniform draw
  from the raw space lands on row ``r`` with probability ``weight[r] / sum(weight)``.

Its metadata (JSON in the parquet schema under ``archlab.table``, mirrored in a
``<name>.json`` sidecar for people) records ``space`` and ``canonicalizer`` (``"module:attr"``
references; a callable ``space`` reference is called), ``objectives`` (the problem family's
``parse_objective``), the simulator's version/settings, the trace or spec, the row count,
the raw space size and the command that wrote it.

Names: a workload ``"<kind>/<name>"`` (``dram/cloud-1``, ``accel/resnet18-conv2``) resolves
to ``data/<kind>_tables/<name>.parquet`` below :func:`archlab.core.paths.out_root` (then
below the project root, where committed tables live); a path to a ``.parquet`` file also
works. :class:`TableProblem` (registered as ``table``) is a Problem answered from a table,
with the simulator's metrics, so every searcher and sweep runs on it unchanged.

Exact difficulty (all shares are exact integer weight ratios over the raw space):

* ``optimum(objective)``: the best row's objective metrics.
* ``tail_share(target)``: weighted share of raw points meeting ``target`` (every objective
  metric ``<=`` its threshold; ties at the threshold count as meeting it, as in
  :func:`archlab.core.problem.target_reward`).
* ``hit_probability(target, budget) = 1 - (1 - s)^budget``: uniform random search with
  replacement over the raw space meets the target within ``budget`` evaluations.
* ``target_for(p0, budget)``: among the candidate targets (the distinct values of the
  objective; see below), the hardest one whose hit probability is ``>= p0``, i.e. the
  closest to ``p0`` from above. Because ties count as meeting, the share of a candidate
  includes every row equal to it, so the stated probability is exact, never rounded down.
* ``rank(value)``: 1 + number of distinct rows strictly better (1 = the optimum).
* ``regret(value)``: ``value / optimum - 1`` for one objective.

Joint objectives (``latency+energy``): rows are ordered by their *quantile level*
``u = max_i F_i(v_i)``, where ``F_i`` is the exact weighted CDF of metric ``i`` over the raw
space (a Chebyshev scalarization in quantile space). The candidate target at level ``u*``
sets each metric's threshold to its largest value with ``F_i <= u*``; a row meets it exactly
when its ``u <= u*``, so tail shares stay exact and monotone. For one objective ``u = F(v)``
and everything reduces to plain thresholds. A joint ``regret`` is the excess quantile level
``(u(value) - u_opt)`` as a share of the raw space. The lowest level is at least the largest
optimum plateau of any single metric (e.g. 18% of the raw points share the best makespan on the
whole pub_stream trace), so the hardest joint candidate can be easier than the joint optimum's
own thresholds; ``target_for`` then returns that lowest level.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import itertools
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archlab.core import paths
from archlab.core.problem import BaseProblem, Metrics
from archlab.core.space import Config, Space

META_KEY = b"archlab.table"
WEIGHT = "weight"
KINDS = ("dram", "accel")
MEMO_LIMIT = 1_000_000


class TableError(KeyError):
    """An unknown table name or a configuration the table does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; print it plainly
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------- references

def resolve_ref(ref: str) -> Any:
    """``"package.module:attr"`` -> the attribute."""
    module, sep, attr = str(ref).partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"reference {ref!r}: expected 'package.module:attr'")
    try:
        obj = importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"reference {ref!r}: cannot import {module!r} ({e})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"reference {ref!r}: {module} has no attribute {attr!r}") from None
    return obj


def resolve_space(ref: str) -> Space:
    obj = resolve_ref(ref)
    if not isinstance(obj, Space) and callable(obj):
        obj = obj()
    if not isinstance(obj, Space):
        raise ValueError(f"space reference {ref!r} gives {type(obj).__name__}, not a Space")
    if not obj.is_discrete:
        raise ValueError(f"space {ref!r} has real dimensions; a table needs a finite space")
    return obj


def canonical_configs(space: Space, canonicalizer: Callable[[Config], Any] | None = None,
                      ) -> tuple[pd.DataFrame, np.ndarray]:
    """Every distinct configuration of ``space`` under ``canonicalizer`` (``None``: every raw
    point is distinct) and its weight (raw points mapping to it), in first-seen order of a
    row-major walk of the raw space. Returns (knob frame, int64 weights)."""
    names = space.names
    counts: dict[tuple, int] = {}
    for combo in itertools.product(*(d.values for d in space.dims)):
        key = combo if canonicalizer is None else _key_tuple(canonicalizer(dict(zip(names, combo))), names)
        counts[key] = counts.get(key, 0) + 1
    frame = pd.DataFrame(list(counts), columns=names)
    weights = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    return frame, weights


def _key_tuple(key: Any, names: Sequence[str]) -> tuple:
    if isinstance(key, Mapping):
        return tuple(key[n] for n in names)
    return tuple(key)


# ---------------------------------------------------------------------------- file I/O

def table_dirs(kind: str) -> list[Path]:
    """Folders searched for ``<kind>`` tables: below the output root, then the project root."""
    sub = Path("data") / f"{kind}_tables"
    dirs = [paths.out_root() / sub, paths.root() / sub]
    return list(dict.fromkeys(dirs))


def available_tables(kind: str | None = None) -> list[str]:
    """Table names ``<kind>/<name>`` found on disk (every kind when ``kind`` is None)."""
    out = set()
    if kind:
        for d in table_dirs(kind):
            out.update(f"{kind}/{p.stem}" for p in d.glob("*.parquet"))
        return sorted(out)
    for base in dict.fromkeys([paths.out_root() / "data", paths.root() / "data"]):
        for p in base.glob("*_tables/*.parquet"):
            out.add(f"{p.parent.name[: -len('_tables')]}/{p.stem}")
    return sorted(out)


def table_path(workload: str | Path) -> Path:
    """The parquet file of ``workload`` (``"dram/cloud-1"`` or a path); raises
    :class:`TableError` listing the available tables when there is none."""
    p = Path(workload)
    if p.suffix == ".parquet":
        if p.is_file():
            return p
        raise TableError(f"table file {str(p)!r} does not exist")
    kind, sep, name = str(workload).partition("/")
    if not sep or not name or "/" in name:
        raise TableError(f"table name {str(workload)!r}: expected '<kind>/<name>' (e.g. {', '.join(KINDS)}) "
                         f"or a .parquet path; available: {', '.join(available_tables()) or 'none'}")
    for d in table_dirs(kind):
        f = d / f"{name}.parquet"
        if f.is_file():
            return f
    have = available_tables(kind) or available_tables()
    where = ", ".join(str(d) for d in table_dirs(kind))
    hint = " (DRAM tables: `archlab dram table --trace T` or `dvc repro dram_tables`)" if kind == "dram" else ""
    raise TableError(f"no table {str(workload)!r} (looked in {where}); available: {', '.join(have) or 'none'}{hint}")


def write_table(frame: pd.DataFrame, path: str | Path, meta: Mapping[str, Any]) -> Path:
    """Write ``frame`` (knob columns, metric columns, ``weight``) atomically with ``meta``
    in the parquet schema and a ``.json`` sidecar. ``meta`` must name ``space`` (a
    ``module:attr`` reference) and may name ``canonicalizer`` and ``objectives``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if "space" not in meta:
        raise ValueError("table metadata needs 'space' (a 'module:attr' reference)")
    space = resolve_space(meta["space"])
    missing = [n for n in space.names if n not in frame.columns]
    if missing or WEIGHT not in frame.columns:
        raise ValueError(f"table frame lacks column(s) {missing + ([] if WEIGHT in frame else [WEIGHT])}")
    metrics = [c for c in frame.columns if c not in space.names and c != WEIGHT]
    meta = {**dict(meta), "knobs": space.names, "metrics": metrics, "rows": int(len(frame)),
            "raw_size": int(space.size), "weight_total": int(frame[WEIGHT].sum())}
    text = json.dumps(meta, sort_keys=True, default=str)
    frame = frame.reset_index(drop=True).copy()
    for d in space.dims:  # string knobs dictionary-encoded: compact, and read back fast
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d.values):
            frame[d.name] = pd.Categorical(frame[d.name].astype(object), categories=list(d.values))
    tbl = pa.Table.from_pandas(frame, preserve_index=False)
    tbl = tbl.replace_schema_metadata({**(tbl.schema.metadata or {}), META_KEY: text.encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(tbl, tmp)
    os.replace(tmp, path)
    side = path.with_suffix(".json")
    tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, side)
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    md = pq.read_schema(path).metadata or {}
    if META_KEY not in md:
        raise ValueError(f"{path}: not an archlab table (no {META_KEY.decode()!r} metadata)")
    return json.loads(md[META_KEY].decode())


def load_table(workload: str | Path) -> Table:
    """The :class:`Table` of ``workload`` (cached per process while the file is unchanged)."""
    p = table_path(workload).resolve()
    st = p.stat()
    return _load(str(p), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int, size: int) -> Table:
    return Table(pd.read_parquet(path), read_meta(path), source=path)


# ---------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Difficulty:
    """A target with its exact difficulty for uniform random search."""

    target: dict[str, float]
    share: float           # weighted share of raw points meeting the target
    count: int             # raw points meeting it (share = count / raw total)
    rows: int              # distinct table rows meeting it
    hit_probability: float  # 1 - (1 - share) ** budget
    p0: float
    budget: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hit_probability_of_share(share: float, budget: int) -> float:
    """``1 - (1 - share) ** budget`` computed stably."""
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if share >= 1.0:
        return 1.0 if budget > 0 else 0.0
    return float(-math.expm1(budget * math.log1p(-share)))


class Table:
    """One tabulated design space: lookup by configuration and exact difficulty helpers."""

    def __init__(self, frame: pd.DataFrame, meta: Mapping[str, Any], source: str = "") -> None:
        self.meta = dict(meta)
        self.source = source
        self.space = resolve_space(self.meta["space"])
        ref = self.meta.get("canonicalizer")
        self.canonicalizer: Callable[[Config], Any] | None = resolve_ref(ref) if ref else None
        names = self.space.names
        missing = [n for n in names if n not in frame.columns]
        if missing or WEIGHT not in frame.columns:
            raise ValueError(f"table {source or '?'}: missing column(s) "
                             f"{missing + ([] if WEIGHT in frame.columns else [WEIGHT])}")
        self.metrics: tuple[str, ...] = tuple(c for c in frame.columns if c not in names and c != WEIGHT)
        self.frame = frame.reset_index(drop=True)
        self.weights = self.frame[WEIGHT].to_numpy(np.int64)
        self.total = int(self.weights.sum())
        self.complete = self.total == int(self.space.size)
        self._values = self.frame[list(self.metrics)].to_numpy(np.float64)
        self._col = {m: i for i, m in enumerate(self.metrics)}
        # mixed-radix code of each row's canonical configuration, for O(log n) lookup
        self._radix = np.array([d.n for d in self.space.dims], dtype=np.int64)
        self._index_maps = [{v: i for i, v in enumerate(d.values)} for d in self.space.dims]
        idx = np.stack([pd.Categorical(self.frame[d.name], categories=list(d.values)).codes.astype(np.int64)
                        for d in self.space.dims], axis=1)
        if (idx < 0).any():
            bad = [n for j, n in enumerate(names) if (idx[:, j] < 0).any()]
            raise ValueError(f"table {source or '?'}: values outside the space in column(s) {bad}")
        codes = self._codes(idx)
        self.codes = codes  # mixed-radix code of each row's configuration (row order)
        self._order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._order]
        if (np.diff(self._sorted_codes) == 0).any():
            raise ValueError(f"table {source or '?'}: duplicate configurations")
        self._memo: dict[tuple, int] = {}
        self._scores: dict[tuple[str, ...], _Scores] = {}
        self._parse = resolve_ref(self.meta["objectives"]) if self.meta.get("objectives") else None

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Table({self.meta.get('name', self.source)!r}, rows={len(self)}, raw={self.total})"

    @functools.cached_property
    def digest(self) -> str:
        """Content hash of the table file (identifies it in problem descriptions)."""
        if self.source and Path(self.source).is_file():
            return hashlib.sha256(Path(self.source).read_bytes()).hexdigest()[:16]
        return hashlib.sha256(pd.util.hash_pandas_object(self.frame).to_numpy().tobytes()).hexdigest()[:16]

    # -- objectives
    def parse_objective(self, objective: str | Sequence[str]) -> tuple[str, ...]:
        """Objective name (the problem family's names, e.g. ``latency+energy``) or metric
        names -> metric names."""
        if not isinstance(objective, str):
            metrics = tuple(objective)
        elif objective in self._col:
            metrics = (objective,)
        elif self._parse is not None:
            metrics = tuple(self._parse(objective))
        else:
            metrics = tuple(p.strip() for p in objective.split("+"))
        bad = [m for m in metrics if m not in self._col]
        if bad or not metrics:
            raise ValueError(f"objective {objective!r}: metric(s) {bad} not in the table; have {list(self.metrics)}")
        return metrics

    # -- lookup
    def _codes(self, idx: np.ndarray) -> np.ndarray:
        code = np.zeros(len(idx), dtype=np.int64)
        for j, n in enumerate(self._radix):
            code = code * n + idx[:, j]
        return code

    def _canonical_index(self, config: Config) -> list[int]:
        c = self.space.validate(config)
        key = _key_tuple(self.canonicalizer(c), self.space.names) if self.canonicalizer else self.space.key(c)
        return [m[v] for m, v in zip(self._index_maps, key)]

    def rows_of(self, configs: Sequence[Config]) -> np.ndarray:
        """Row index of each configuration (canonicalized first). Raises :class:`TableError`
        for a configuration the table does not hold, ``SpaceError`` for one outside the space."""
        names = self.space.names
        out = np.empty(len(configs), dtype=np.int64)
        memo = self._memo
        miss: list[int] = []
        raw: list[tuple | None] = []
        for i, c in enumerate(configs):
            try:
                k = tuple(c[n] for n in names) if len(c) == len(names) else None
            except (KeyError, TypeError):
                k = None
            r = memo.get(k, -1) if k is not None else -1
            out[i] = r
            raw.append(k)
            if r < 0:
                miss.append(i)
        if miss:
            idx = np.array([self._canonical_index(configs[i]) for i in miss], dtype=np.int64)
            codes = self._codes(idx)
            pos = np.searchsorted(self._sorted_codes, codes)
            pos = np.minimum(pos, len(self._sorted_codes) - 1)
            found = self._sorted_codes[pos] == codes
            if not found.all():
                j = int(np.argmin(found))
                c = self.space.validate(configs[miss[j]])
                raise TableError(f"configuration not in table {self.meta.get('name', self.source)!r}: {c} "
                                 f"(canonical {self.space.from_index(idx[j])}); the table holds "
                                 f"{len(self)} of the space's distinct configurations")
            rows = self._order[pos]
            if len(memo) + len(miss) > MEMO_LIMIT:
                memo.clear()
            for i, r in zip(miss, rows.tolist()):
                out[i] = r
                if raw[i] is not None:
                    memo[raw[i]] = r
        return out

    def metrics_of(self, rows: np.ndarray | Sequence[int]) -> list[Metrics]:
        """Metric dicts (Python floats, like the simulator's) of table rows."""
        vals = self._values[np.asarray(rows, dtype=np.int64)].tolist()
        return [dict(zip(self.metrics, v)) for v in vals]

    def lookup(self, configs: Sequence[Config]) -> list[Metrics]:
        return self.metrics_of(self.rows_of(configs))

    def config_of(self, row: int) -> Config:
        rec = self.frame.iloc[int(row)]
        return {n: _plain(rec[n]) for n in self.space.names}

    def column(self, metric: str) -> np.ndarray:
        return self._values[:, self._col[metric]]

    # -- exact difficulty
    def _sc(self, objective: str | Sequence[str]) -> _Scores:
        metrics = self.parse_objective(objective)
        if metrics not in self._scores:
            self._scores[metrics] = _Scores(self._values[:, [self._col[m] for m in metrics]], self.weights, metrics)
        return self._scores[metrics]

    def _as_vector(self, value: float | Mapping[str, float], metrics: tuple[str, ...]) -> np.ndarray:
        if isinstance(value, Mapping):
            missing = [m for m in metrics if m not in value]
            if missing:
                raise ValueError(f"value lacks objective metric(s) {missing}; objectives {list(metrics)}")
            return np.array([float(value[m]) for m in metrics])
        if len(metrics) != 1:
            raise ValueError(f"a joint objective {list(metrics)} needs a dict metric -> value, got {value!r}")
        return np.array([float(value)])

    def optimum(self, objective: str | Sequence[str]) -> dict[str, float]:
        """The best row's objective metrics (lowest quantile level; ties: lowest first metric)."""
        sc = self._sc(objective)
        return dict(zip(sc.metrics, self._values[sc.best_row, [self._col[m] for m in sc.metrics]].tolist()))

    def optimum_config(self, objective: str | Sequence[str]) -> Config:
        return self.config_of(self._sc(objective).best_row)

    def tail_count(self, target: float | Mapping[str, float], objective: str | Sequence[str]) -> int:
        """Raw points whose every objective metric is ``<=`` its threshold in ``target``."""
        sc = self._sc(objective)
        t = self._as_vector(target, sc.metrics)
        return int(self.weights[(sc.values <= t).all(axis=1)].sum())

    def tail_share(self, target: float | Mapping[str, float], objective: str | Sequence[str]) -> float:
        """Exact weighted share of raw points meeting ``target`` (ties meet it)."""
        return self.tail_count(target, objective) / self.total

    def hit_probability(self, target: float | Mapping[str, float], budget: int,
                        objective: str | Sequence[str]) -> float:
        """Probability that uniform random search (with replacement, over the raw space)
        meets ``target`` within ``budget`` evaluations."""
        return hit_probability_of_share(self.tail_share(target, objective), int(budget))

    def target_for(self, p0: float, budget: int, objective: str | Sequence[str]) -> Difficulty:
        """The hardest candidate target whose random-search hit probability at ``budget`` is
        ``>= p0`` (closest to ``p0`` from above; ties at the threshold meet it)."""
        if not 0.0 < p0 < 1.0:
            raise ValueError(f"p0 must be in (0, 1), got {p0}")
        if int(budget) < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        budget = int(budget)
        sc = self._sc(objective)
        # share needed: 1 - (1 - s)^B >= p0  <=>  s >= 1 - (1 - p0)^(1/B)
        need = -math.expm1(math.log1p(-p0) / budget)
        k = int(np.searchsorted(sc.level_cum, need * self.total * (1 - 1e-12), side="left"))
        k = min(k, len(sc.levels) - 1)
        while k > 0 and hit_probability_of_share(sc.level_cum[k - 1] / self.total, budget) >= p0:
            k -= 1
        while k < len(sc.levels) - 1 and hit_probability_of_share(sc.level_cum[k] / self.total, budget) < p0:
            k += 1
        target = sc.target_at(int(sc.levels[k]))
        count = self.tail_count(target, sc.metrics)
        rows = int((sc.u <= sc.levels[k]).sum())
        return Difficulty(target=target, share=count / self.total, count=count, rows=rows,
                          hit_probability=hit_probability_of_share(count / self.total, budget),
                          p0=float(p0), budget=budget)

    def level(self, value: float | Mapping[str, float], objective: str | Sequence[str]) -> int:
        """Quantile level ``u = max_i F_i(v_i)`` of a metric point, in raw-point counts."""
        sc = self._sc(objective)
        return sc.level_of(self._as_vector(value, sc.metrics))

    def rank(self, value: float | Mapping[str, float], objective: str | Sequence[str]) -> int:
        """1 + the number of distinct rows strictly better than ``value`` (1 = optimal)."""
        sc = self._sc(objective)
        return 1 + int((sc.u < sc.level_of(self._as_vector(value, sc.metrics))).sum())

    def regret(self, value: float | Mapping[str, float], objective: str | Sequence[str]) -> float:
        """One objective: ``value / optimum - 1``; joint: excess quantile level over the
        optimum's, as a share of the raw space."""
        sc = self._sc(objective)
        v = self._as_vector(value, sc.metrics)
        if len(sc.metrics) == 1:
            opt = float(sc.values[sc.best_row, 0])
            return float(v[0] / opt - 1.0) if opt != 0 else float(v[0] - opt)
        return (sc.level_of(v) - int(sc.u[sc.best_row])) / self.total


class _Scores:
    """Per-objective exact order statistics of a table (integer raw-point counts)."""

    def __init__(self, values: np.ndarray, weights: np.ndarray, metrics: tuple[str, ...]) -> None:
        values = np.where(np.isnan(values), np.inf, values)  # a failed evaluation ranks last
        self.values, self.metrics = values, metrics
        self.sorted: list[np.ndarray] = []
        self.cum: list[np.ndarray] = []
        u = np.zeros(len(values), dtype=np.int64)
        for j in range(values.shape[1]):
            v = values[:, j]
            order = np.argsort(v, kind="stable")
            distinct, start = np.unique(v[order], return_index=True)
            cw = np.cumsum(weights[order])
            end = np.append(start[1:], len(v)) - 1
            cum = cw[end]                      # F_j(distinct value) in raw-point counts
            self.sorted.append(distinct)
            self.cum.append(cum)
            u = np.maximum(u, cum[np.searchsorted(distinct, v)])
        self.u = u
        levels, inv = np.unique(u, return_inverse=True)
        self.levels = levels
        self.level_cum = np.cumsum(np.bincount(inv, weights=weights).astype(np.int64))
        lex = np.lexsort(tuple(values[:, j] for j in reversed(range(values.shape[1]))) + (u,))
        self.best_row = int(lex[0])

    def level_of(self, v: np.ndarray) -> int:
        lvl = 0
        for j, x in enumerate(v):
            k = int(np.searchsorted(self.sorted[j], x, side="right")) - 1
            lvl = max(lvl, int(self.cum[j][k]) if k >= 0 else 0)
        return lvl

    def target_at(self, level: int) -> dict[str, float]:
        out = {}
        for j, m in enumerate(self.metrics):
            k = int(np.searchsorted(self.cum[j], level, side="right")) - 1
            out[m] = float(self.sorted[j][max(k, 0)])
        return out


def _plain(v: Any) -> Any:
    v = v.item() if hasattr(v, "item") else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


# ---------------------------------------------------------------------------- the problem

class TableProblem(BaseProblem):
    """A Problem answered from a table: same space, objectives and metrics as the simulator
    that wrote it, at microseconds per evaluation.

    ``workload``: a table name ``<kind>/<name>`` (``dram/cloud-1``) or a ``.parquet`` path.
    ``objective``: the problem family's objective names (DRAM: ``latency``, ``energy``,
    ``power`` or ``+``-joined; accel: ``energy``, ``latency``, ``edp``, ``area``).
    ``target``: a float (one objective), a dict metric -> value, ``{"p0": p, "budget": B}``
    (:meth:`Table.target_for`: random search meets it within ``B`` with probability
    ``>= p``, the closest such), or ``None`` (the family's default fraction of the default
    configuration's value, as the simulator problem does). ``seed`` is ignored (a table is
    deterministic).
    """

    def __init__(self, workload: str | Path = "dram/pub_stream", objective: str = "latency",
                 target: float | Mapping[str, Any] | None = None) -> None:
        self.workload = str(workload)
        self.table = load_table(workload)
        self.space = self.table.space
        self.objective = str(objective)
        self.objectives = self.table.parse_objective(objective)
        self.difficulty: Difficulty | None = None
        self.target = self._resolve_target(target)

    def _resolve_target(self, target: Any) -> dict[str, float]:
        objs = self.objectives
        if target is None:
            frac = self._default_fraction()
            base = self.evaluate(self.space.default())
            return {m: frac * base[m] for m in objs}
        if isinstance(target, Mapping) and set(target) & {"p0", "budget"}:
            extra = sorted(set(target) - {"p0", "budget"})
            if extra or not {"p0", "budget"} <= set(target):
                raise ValueError(f"target {dict(target)}: a difficulty target has exactly the keys p0 and budget")
            self.difficulty = self.table.target_for(float(target["p0"]), int(target["budget"]), objs)
            return dict(self.difficulty.target)
        if isinstance(target, Mapping):
            unknown = sorted(set(target) - set(objs))
            missing = sorted(set(objs) - set(target))
            if unknown or missing:
                raise ValueError(f"target keys must be exactly the objectives {list(objs)}; "
                                 f"unknown {unknown}, missing {missing}")
            out = {m: float(target[m]) for m in objs}
        else:
            if len(objs) != 1:
                raise ValueError(f"objective {self.objective!r} has {len(objs)} metrics; "
                                 "give target as a dict metric -> value")
            out = {objs[0]: float(target)}
        bad = {k: v for k, v in out.items() if not v > 0}
        if bad:
            raise ValueError(f"targets must be > 0, got {bad}")
        return out

    def _default_fraction(self) -> float:
        ref = self.table.meta.get("objectives")
        if ref:
            module = importlib.import_module(ref.split(":")[0])
            frac = getattr(module, "DEFAULT_TARGET_FRACTION", None)
            if frac is not None:
                return float(frac)
        return 1.0

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        return self.evaluate_many([config], seed)[0]

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]:
        if len(configs) == 0:
            return []
        return self.table.lookup(configs)

    # exact difficulty of this problem's objective
    def optimum(self, objective: str | None = None) -> dict[str, float]:
        return self.table.optimum(objective or self.objectives)

    def tail_share(self, target: float | Mapping[str, float] | None = None) -> float:
        return self.table.tail_share(self.target if target is None else target, self.objectives)

    def hit_probability(self, budget: int, target: float | Mapping[str, float] | None = None) -> float:
        return self.table.hit_probability(self.target if target is None else target, budget, self.objectives)

    def target_for(self, p0: float, budget: int) -> Difficulty:
        return self.table.target_for(p0, budget, self.objectives)

    def rank(self, value: float | Mapping[str, float]) -> int:
        return self.table.rank(value, self.objectives)

    def regret(self, value: float | Mapping[str, float]) -> float:
        return self.table.regret(value, self.objectives)

    def describe(self) -> dict[str, Any]:
        meta = {k: self.table.meta.get(k) for k in ("name", "trace", "spec", "n_requests", "simulator")}
        return {**super().describe(), "workload": self.workload, "table_digest": self.table.digest,
                "objective": self.objective, **{k: v for k, v in meta.items() if v is not None}}


__all__ = ["Difficulty", "Table", "TableError", "TableProblem", "available_tables", "canonical_configs",
           "hit_probability_of_share", "load_table", "read_meta", "resolve_ref", "table_path", "write_table"]
