"""Design space of the DNN accelerator and its translation into ZigZag inputs.

The template follows ZigZag's bundled ``tpu_like`` accelerator: a 2-D MAC array with a
per-PE weight register file, a per-PE output (partial-sum) register file, an optional
per-PE input register file, one global buffer (inputs and outputs, optionally weights)
and DRAM. Every point of :func:`accel_space` maps to a ZigZag hardware + mapping
description that ZigZag's own validator accepts (checked in :func:`check`); the space's
default point *is* ``tpu_like``.

Cost model (documented in the README): per-access energies are ``tpu_like``'s, scaled
linearly with the port width and with the square root of the capacity (a CACTI-like
trend); area is not modelled by ZigZag for digital arrays, so ``area_mm2`` comes from
two CACTI-7 22 nm SRAM points shipped with ZigZag plus an assumed MAC area.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from archlab.core.space import Categorical, Config, Ordinal, Space, SpaceError

#: bump when the translation or cost model changes (part of every cache key)
MODEL_VERSION = "accel-1"

# (first, second) layer dimension unrolled over the array's (rows D1, columns D2)
DATAFLOWS: dict[str, tuple[str, str]] = {
    "K-C": ("K", "C"),     # weight stationary, as TPU v1
    "K-OX": ("K", "OX"),   # output stationary over output columns (ShiDianNao-like)
    "C-OX": ("C", "OX"),   # input-channel x output-column
    "OX-OY": ("OX", "OY"),  # output-pixel parallel (2-D image tiling)
}

# tpu_like reference per-access energies (pJ) and their (size bits, word bits)
REF = {
    "rf_w": (0.095, 0.095, 1024, 8),        # rf_128B
    "rf_i": (0.095, 0.095, 1024, 8),        # same macro as rf_128B
    "rf_o": (0.021, 0.021, 16, 16),         # rf_2B
    "gb": (416.16, 378.4, 16777216, 2048),  # sram_2MB
    "dram": (700.0, 750.0, None, 64),       # per 64-bit word, capacity-independent
}
MAC_ENERGY_PJ = 0.04          # tpu_like unit_energy
# area: CACTI-7, 22 nm entries of zigzag/cacti/cacti_master/example_mem_pool.yaml
RF_MM2_PER_BIT = 0.000309137 / 1024       # 1 Kibit, 8-bit bus, 1R1W
SRAM_MM2_PER_BIT = 3.66505 / 16777216     # 2 MiB, 256-bit bus, 1R1W
MAC_MM2 = 100e-6   # assumption: one 8-bit MAC incl. pipeline registers ~ 100 um^2 at 22 nm
DRAM_SIZE_BITS = 10_000_000_000


def accel_space() -> Space:
    """The accelerator design space; its default point is ZigZag's ``tpu_like``."""
    p2 = (4, 8, 16, 32, 64)
    return Space([
        Ordinal("pe_rows", levels=p2, default=32),
        Ordinal("pe_cols", levels=p2, default=32),
        Categorical("dataflow", choices=tuple(DATAFLOWS), default="K-C"),
        Categorical("systolic", choices=(True, False), default=True),
        Ordinal("rf_w_bytes", levels=(16, 32, 64, 128, 256, 512), default=128),
        Ordinal("rf_i_bytes", levels=(0, 8, 16, 32, 64), default=0),
        Ordinal("rf_o_bytes", levels=(2, 4, 8, 16, 32, 64), default=2),
        Ordinal("gb_kib", levels=(32, 64, 128, 256, 512, 1024, 2048, 4096), default=2048),
        Ordinal("gb_bw_bits", levels=(256, 512, 1024, 2048, 4096), default=2048),
        Categorical("weights_in_gb", choices=(False, True), default=False),
        Ordinal("dram_bw_bits", levels=(32, 64, 128, 256), default=64),
    ])


KNOB_HELP = {
    "pe_rows": "MAC-array rows (ZigZag dimension D1)",
    "pe_cols": "MAC-array columns (ZigZag dimension D2)",
    "dataflow": "layer dimensions unrolled over rows-columns (spatial mapping)",
    "systolic": "operands move one PE per cycle along both array dimensions (systolic drain cost)",
    "rf_w_bytes": "per-PE weight register file",
    "rf_i_bytes": "per-PE input register file (0: inputs come straight from the global buffer)",
    "rf_o_bytes": "per-PE output/partial-sum register file (>= one 16-bit partial sum)",
    "gb_kib": "global buffer capacity (holds inputs and outputs, and weights if weights_in_gb)",
    "gb_bw_bits": "global buffer read/write port width per cycle (max; min 64)",
    "weights_in_gb": "weights staged in the global buffer (else DRAM feeds the weight RFs, as tpu_like)",
    "dram_bw_bits": "DRAM bits per cycle",
}


class InvalidAccelConfig(SpaceError):
    """A point that cannot be expressed as a valid ZigZag accelerator (the message says why)."""


def _scaled(kind: str, size_bits: int, word_bits: int) -> tuple[float, float]:
    r, w, ref_size, ref_word = REF[kind]
    f = word_bits / ref_word
    if ref_size is not None:
        f *= math.sqrt(size_bits / ref_size)
    return r * f, w * f


def _mem(kind: str, size_bits: int, operands: list[str], ports: list[dict], served: list[str],
         mm2_per_bit: float, word_bits: int) -> dict[str, Any]:
    r, w = _scaled(kind, size_bits, word_bits)
    return {"size": int(size_bits), "r_cost": float(r), "w_cost": float(w),
            "area": float(size_bits * mm2_per_bit), "latency": 1, "operands": operands,
            "ports": ports, "served_dimensions": served}


def _rw_ports(bw: int, ops: list[str], bw_min: int | None = None) -> list[dict]:
    lo = bw if bw_min is None else bw_min
    rd = [f"{o}, tl" for o in ops] + [f"{o}, th" for o in ops if o == "O"]
    wr = [f"{o}, fh" for o in ops] + [f"{o}, fl" for o in ops if o == "O"]
    return [{"name": "r_port_1", "type": "read", "bandwidth_min": lo, "bandwidth_max": bw, "allocation": rd},
            {"name": "w_port_1", "type": "write", "bandwidth_min": lo, "bandwidth_max": bw, "allocation": wr}]


def _rf_o_ports() -> list[dict]:
    """tpu_like's partial-sum RF: two read and two write ports (to low / to high)."""
    return [{"name": n, "type": t, "bandwidth_min": 16, "bandwidth_max": 16, "allocation": [f"O, {d}"]}
            for n, t, d in (("r_port_1", "read", "tl"), ("r_port_2", "read", "th"),
                            ("w_port_1", "write", "fh"), ("w_port_2", "write", "fl"))]


def hardware_description(config: Config) -> dict[str, Any]:
    """ZigZag accelerator description (the dict form of its hardware YAML)."""
    c = config
    mems: dict[str, Any] = {
        "rf_w": _mem("rf_w", c["rf_w_bytes"] * 8, ["I2"], _rw_ports(8, ["I2"]), [], RF_MM2_PER_BIT, 8),
    }
    if c["rf_i_bytes"]:
        mems["rf_i"] = _mem("rf_i", c["rf_i_bytes"] * 8, ["I1"], _rw_ports(8, ["I1"]), [],
                            RF_MM2_PER_BIT, 8)
    mems["rf_o"] = _mem("rf_o", c["rf_o_bytes"] * 8, ["O"], _rf_o_ports(), [], RF_MM2_PER_BIT, 16)
    gb_ops = ["I1", "I2", "O"] if c["weights_in_gb"] else ["I1", "O"]
    mems["gb"] = _mem("gb", c["gb_kib"] * 8192, gb_ops, _rw_ports(c["gb_bw_bits"], gb_ops, 64),
                      ["D1", "D2"], SRAM_MM2_PER_BIT, c["gb_bw_bits"])
    dram_alloc = [f"{o}, {d}" for o in ("I1", "I2") for d in ("fh", "tl")] + [
        f"O, {d}" for d in ("fh", "tl", "fl", "th")]
    mems["dram"] = _mem("dram", DRAM_SIZE_BITS, ["I1", "I2", "O"],
                        [{"name": "rw_port_1", "type": "read_write", "bandwidth_min": c["dram_bw_bits"],
                          "bandwidth_max": c["dram_bw_bits"], "allocation": dram_alloc}],
                        ["D1", "D2"], 0.0, c["dram_bw_bits"])
    return {
        "name": "archlab_accel",
        "memories": mems,
        "operational_array": {
            "unit_energy": MAC_ENERGY_PJ, "unit_area": MAC_MM2, "dimensions": ["D1", "D2"],
            "sizes": [int(c["pe_rows"]), int(c["pe_cols"])],
            "systolic_dimensions": ["D1", "D2"] if c["systolic"] else [],
        },
    }


def mapping_description(config: Config) -> list[dict[str, Any]]:
    """ZigZag mapping: the dataflow's spatial unrolling for convolutions and GEMMs; element-wise
    and pooling layers unroll their group dimension over the rows (as ``tpu_like``)."""
    d1, d2 = DATAFLOWS[config["dataflow"]]
    links = {"O": "O", "W": "I2", "I": "I1"}
    rows, cols = int(config["pe_rows"]), int(config["pe_cols"])
    out = [{"name": "default", "spatial_mapping": {"D1": [f"{d1}, {rows}"], "D2": [f"{d2}, {cols}"]},
            "memory_operand_links": links}]
    for op in ("Add", "Pooling"):
        out.append({"name": op, "spatial_mapping": {"D1": [f"G, {rows}"], "D2": ["C, 1"]},
                    "memory_operand_links": links})
    return out


def area_mm2(config: Config) -> float:
    """On-chip area: MAC array + per-PE register files + global buffer (DRAM excluded)."""
    hw = hardware_description(config)
    n_pe = config["pe_rows"] * config["pe_cols"]
    per_pe = sum(m["area"] for name, m in hw["memories"].items() if name.startswith("rf_"))
    return float(n_pe * (MAC_MM2 + per_pe) + hw["memories"]["gb"]["area"])


def check(config: Config) -> Config:
    """Canonical config, or :class:`InvalidAccelConfig`/``SpaceError`` naming the reason.

    Besides the space's own checks, the generated description must pass ZigZag's
    ``AcceleratorValidator`` (schema, ports, served dimensions).
    """
    config = accel_space().validate(config)
    reasons = _zigzag_reasons(tuple(config.items()))
    if reasons:
        raise InvalidAccelConfig(f"ZigZag rejects the hardware of {config}: {'; '.join(reasons)}")
    return config


@functools.lru_cache(maxsize=4096)
def _zigzag_reasons(items: tuple) -> tuple[str, ...]:
    """Why ZigZag's ``AcceleratorValidator`` rejects the description (empty when valid)."""
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    class _Collecting(AcceleratorValidator):
        def invalidate(self, extra_msg: str) -> None:  # keep ZigZag's reasons instead of logging them
            self.is_valid = False
            reasons.append(extra_msg)

    reasons: list[str] = []
    _Collecting(hardware_description(dict(items))).validate()
    return tuple(reasons)
