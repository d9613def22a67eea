"""Importers of GPPerf's data into the GEMM schema.

* :func:`read_gpperf_cutlass`: the raw CUTLASS-profiler archive
  ``cutlass_profiling_20241111_195357.tar.gz`` read directly (no extraction), its sha256
  verified. Quirks handled: the header has no trailing newline (the first record starts
  right after ``TFLOPS``); each record spans several physical lines (device-query fields
  hold newlines); power is ``[N/A]`` in most records; the ``TFLOPS`` column is GFLOP/s.
  The layout and block-size labels of the sweep do not change the kernel (each CUTLASS
  kernel has a fixed tile); they are kept as ``label_*`` columns, the real tile is parsed
  from the kernel name.
* :func:`read_gpperf_tiled`: the tiled-kernel CSVs (``M,N,K,Tile Size,Execution Time``
  in ms, and ``M,N,K,Tile Size,Average Power Usage (W)``), joined on shape and tile.

Malformed input raises :class:`ImportError_` naming the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from archlab.gemm import schema

GPPERF_SHA256 = "9818ea96b2dea8be4e3ac5d650cf8df4fea14b7ab1779ad3db9034abdc360e0a"
GPPERF_COMMIT = "55468e195c3f89120a56ddb17555683bdee79358"
GPPERF_URL = "https://github.com/pavlyhalim/GPPerf"

_TS = re.compile(r"\d{9,11},")
_KERNEL = re.compile(r"cutlass_(?P<op>\w+?)_(?P<t>[shd])gemm_(?P<tm>\d+)x(?P<tn>\d+)_(?P<tk>\d+)x(?P<st>\d+)"
                     r"_(?P<lay>[nt]{2})_align\d+")
_DTYPES = {"s": "float32", "h": "float16", "d": "float64"}
_BYTES = {"float32": 4, "float16": 2, "float64": 8}
N_FIRST = 35  # fields on a record's first physical line
TILED_TIME = ["M", "N", "K", "Tile Size", "Execution Time"]
TILED_POWER = ["M", "N", "K", "Tile Size", "Average Power Usage (W)"]


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """Malformed input file (the message names file and line)."""


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_gpperf_cutlass(path: str | Path, expected_sha256: str | None = GPPERF_SHA256) -> pd.DataFrame:
    """GPPerf's CUTLASS archive (``.tar.gz``, or an extracted ``results.csv``) as a schema table."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (GPPerf archive; see README: {GPPERF_URL}, "
                                f"commit {GPPERF_COMMIT})")
    if path.name.endswith((".tar.gz", ".tgz")):
        if expected_sha256 is not None:
            got = sha256(path)
            if got != expected_sha256:
                raise ImportError_(f"{path}: sha256 {got} does not match the expected {expected_sha256}")
        try:
            with tarfile.open(path, "r:gz") as tar:
                members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith("/results.csv")]
                if not members:
                    raise ImportError_(f"{path}: archive holds no */results.csv")
                member = min(members, key=lambda m: m.name.count("/"))
                text = tar.extractfile(member).read().decode("utf-8")
                where = f"{path}:{member.name}"
        except (tarfile.TarError, EOFError, OSError) as e:
            raise ImportError_(f"{path}: not a readable tar.gz archive: {e}") from None
    else:
        text, where = path.read_text(encoding="utf-8"), str(path)
    return parse_cutlass_results(text, where)


def gpperf_busy_tail(df: pd.DataFrame, busy_pct: float = 50.0, frac: float = 0.9) -> np.ndarray:
    """Rows of the sweep's tail in which the GPU was persistently busy at the power sample
    (first-edition rule, tail only; the study now uses the symmetric
    :func:`archlab.gemm.contamination.busy_window`).

    A row is *busy* when the utilisation read after its kernel had finished exceeds
    ``busy_pct``; the tail starts at the earliest time from which at least ``frac`` of all
    later rows are busy. In GPPerf's CUTLASS sweep this is the last ~3 h (from 2024-11-14
    19:33 UTC, M = 128256 and N = 2048): runtimes about twice the same shapes' trend and
    115-190 W read after the kernel ended, the signature of other work sharing the GPU.
    The study reports results with and without these rows.
    """
    t = pd.to_datetime(df["timestamp"]).to_numpy()
    order = np.argsort(t, kind="stable")
    busy = df["util_at_sample_pct"].astype("Float64").fillna(0).to_numpy(float)[order] > busy_pct
    suffix = np.cumsum(busy[::-1])[::-1] / np.arange(len(busy), 0, -1)
    hits = np.flatnonzero(suffix >= frac)
    mask = np.zeros(len(df), bool)
    if hits.size:
        mask[order[hits[0]:]] = True
    return mask


def _strip_header(lines: list[str], where: str) -> tuple[list[str], int]:
    """Remove the header (glued to the first record, or on its own line)."""
    if not lines:
        raise ImportError_(f"{where}: empty file")
    first = lines[0]
    if _TS.match(first):
        return lines, 0
    m = re.search(r"TFLOPS(?=\d)", first)
    if m:  # the known quirk: header without newline, record glued to it
        return [first[m.end():], *lines[1:]], 0
    if re.fullmatch(r"[A-Za-z_][\w ,()%/.-]*", first.strip()):
        return lines[1:], 1  # a proper header line
    raise ImportError_(f"{where}: line 1: expected a header or a record starting with a unix timestamp, "
                       f"got {first[:60]!r}")


def _num(value: str, where: str, line: int, field: str) -> float:
    v = value.strip()
    if v in ("[N/A]", "N/A", ""):
        return np.nan
    try:
        return float(v)
    except ValueError:
        raise ImportError_(f"{where}: line {line}: field {field!r}: not a number: {value!r}") from None


def parse_cutlass_results(text: str, where: str = "results.csv") -> pd.DataFrame:
    """Parse the text of GPPerf's ``results.csv`` (see the module docstring for its quirks)."""
    lines, offset = _strip_header(text.splitlines(), where)
    starts = [i for i, ln in enumerate(lines) if _TS.match(ln)]
    if not starts or starts[0] != 0:
        bad = 0 if not starts else starts[0]
        raise ImportError_(f"{where}: line {offset + 1}: expected a record starting with a unix timestamp, "
                           f"got {lines[bad - 1 if bad else 0][:60]!r}")
    records = []
    for j, s in enumerate(starts):
        e = starts[j + 1] if j + 1 < len(starts) else len(lines)
        block = [ln for ln in lines[s:e]]
        while block and not block[-1].strip():
            block.pop()
        records.append(_parse_record(block, where, offset + s + 1))
    return schema.from_records(records)


def _parse_record(block: list[str], where: str, line: int) -> dict:
    head = next(csv.reader([block[0]]))
    if len(head) != N_FIRST:
        raise ImportError_(f"{where}: line {line}: expected {N_FIRST} fields on a record's first line, "
                           f"got {len(head)}")
    tail = block[-1].split(",")
    if len(block) < 2 or tail[0] != "problem_size_k" or len(tail) != 5:
        raise ImportError_(f"{where}: line {line + len(block) - 1}: record does not end with "
                           f"'problem_size_k,K,energy,gflops_per_watt,gflops' (truncated record?)")
    kname = head[4].strip()
    km = _KERNEL.fullmatch(kname)
    if not km:
        raise ImportError_(f"{where}: line {line}: unrecognised CUTLASS kernel name {kname!r}")
    dtype = _DTYPES[km["t"]]
    tm, tn, tk, st = (int(km[g]) for g in ("tm", "tn", "tk", "st"))
    M, N, K = (_num(head[i], where, line, f) for i, f in ((1, "M"), (2, "N"), (3, "K")))
    if not all(np.isfinite([M, N, K])) or min(M, N, K) <= 0:
        raise ImportError_(f"{where}: line {line}: M, N, K must be positive integers, got {head[1:4]}")
    runtime = _num(head[13], where, line, "runtime")
    if not np.isfinite(runtime) or runtime <= 0:
        raise ImportError_(f"{where}: line {line}: runtime must be a positive number of ms, got {head[13]!r}")
    power = _num(head[15], where, line, "power")
    ts = int(head[0])
    return {
        "source": "gpperf-cutlass", "host": "gpperf", "device": head[21].strip(), "backend": "cuda",
        "kernel": kname, "dtype": dtype, "layout": km["lay"], "M": int(M), "N": int(N), "K": int(K),
        "tile_m": tm, "tile_n": tn, "tile_k": tk, "stages": st,
        # CUTLASS SIMT kernels use 32x64 warp tiles: 128x128 -> 8 warps (256 threads)
        "warps": max(1, tm * tn // 2048),
        "smem_bytes": st * (tm + tn) * tk * _BYTES[dtype],
        "alpha": _num(head[11], where, line, "alpha"), "beta": _num(head[12], where, line, "beta"),
        "label_block_m": int(_num(head[6], where, line, "block1")),
        "label_block_n": int(_num(head[7], where, line, "block2")),
        "label_block_k": int(_num(head[8], where, line, "block3")),
        "label_layout": head[5].strip(), "repeats": pd.NA,
        "runtime_ms": runtime, "runtime_spread": pd.NA,
        "gflops": 2.0 * M * N * K / (runtime * 1e6),
        "power_w": power, "idle_power_w": pd.NA,
        "energy_j": power * runtime / 1000.0 if np.isfinite(power) else np.nan,
        "sm_clock_mhz": _num(head[16], where, line, "sm_clock"),
        "util_at_sample_pct": _num(head[19], where, line, "gpu_util"),
        "sensor": "nvidia-smi" if np.isfinite(power) else "none",
        "power_method": "nvidia-smi-after-kernel" if np.isfinite(power) else "none",
        "timestamp": datetime.fromtimestamp(ts, UTC).isoformat(),
    }


def _read_tiled_csv(path: Path, header: list[str]) -> pd.DataFrame:
    """One GPPerf tiled CSV with strict header and per-line checks."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ImportError_(f"{path}: empty file")
    got = [c.strip() for c in rows[0]]
    if got != header:
        raise ImportError_(f"{path}: line 1: expected header {','.join(header)!r}, got {','.join(got)!r}")
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ImportError_(f"{path}: line {i}: expected {len(header)} fields, got {len(row)}")
        vals = [_num(c, str(path), i, h) for c, h in zip(row, header, strict=True)]
        if any(not np.isfinite(v) or v <= 0 for v in vals):
            raise ImportError_(f"{path}: line {i}: all fields must be positive numbers, got {row}")
        if any(v != int(v) for v in vals[:4]):
            raise ImportError_(f"{path}: line {i}: M, N, K and Tile Size must be integers, got {row[:4]}")
        out.append(vals)
    df = pd.DataFrame(out, columns=header)
    key = ["M", "N", "K", "Tile Size"]
    df[key] = df[key].astype(int)
    dup = df.duplicated(key)
    if dup.any():
        raise ImportError_(f"{path}: duplicate configuration {df.loc[dup, key].iloc[0].tolist()}")
    return df


def read_gpperf_tiled(time_csv: str | Path | None = None, power_csv: str | Path | None = None) -> pd.DataFrame:
    """GPPerf's tiled-kernel runtime and/or power CSVs as one schema table (outer join)."""
    if time_csv is None and power_csv is None:
        raise ValueError("give the execution-time CSV, the power CSV, or both")
    key = ["M", "N", "K", "Tile Size"]
    parts = []
    if time_csv is not None:
        parts.append(_read_tiled_csv(Path(time_csv), TILED_TIME))
    if power_csv is not None:
        parts.append(_read_tiled_csv(Path(power_csv), TILED_POWER))
    df = parts[0] if len(parts) == 1 else parts[0].merge(parts[1], on=key, how="outer")
    df = df.sort_values(key).reset_index(drop=True)
    t = df["Tile Size"].to_numpy(int)
    runtime = df["Execution Time"].to_numpy(float) if "Execution Time" in df else np.full(len(df), np.nan)
    power = (df["Average Power Usage (W)"].to_numpy(float) if "Average Power Usage (W)" in df
             else np.full(len(df), np.nan))
    fl = 2.0 * df["M"].to_numpy(float) * df["N"].to_numpy(float) * df["K"].to_numpy(float)
    has_p = np.isfinite(power)
    return schema.from_records({
        "source": "gpperf-tiled", "host": "gpperf", "device": "NVIDIA GeForce RTX 4070", "backend": "cuda",
        "kernel": "gpperf-tiled-smem", "dtype": "float32", "layout": "nn",
        "M": int(df["M"][i]), "N": int(df["N"][i]), "K": int(df["K"][i]),
        "tile_m": int(t[i]), "tile_n": int(t[i]), "tile_k": int(t[i]), "stages": 1,
        "warps": -(-int(t[i]) ** 2 // 32), "smem_bytes": 2 * int(t[i]) ** 2 * 4,
        "repeats": 1, "runtime_ms": runtime[i], "gflops": fl[i] / (runtime[i] * 1e6),
        "power_w": power[i], "energy_j": power[i] * runtime[i] / 1000.0,
        "sensor": "nvidia-smi" if has_p[i] else "none",
        # GPPerf's tiled runs: one launch timed with CUDA events; power averaged by a separate run
        "power_method": "nvidia-smi-separate-run" if has_p[i] else "none",
    } for i in range(len(df)))
