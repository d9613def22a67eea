"""The ten controller knobs with DRAMSys ``mcconfig`` names and values.

Defaults are DRAMSys' ``policy.json`` (Open, Fifo, Bankwise, 1, Fifo, NoRefresh, 1, 1,
Simple, 1); ``CmdMux: Oldest`` and ``PowerDownPolicy: NoPowerDown`` are held fixed as in
ArchGym.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Categorical, Config, Integer, Ordinal, Space

KNOBS = Space([
    Categorical("PagePolicy", choices=("Open", "OpenAdaptive", "Closed", "ClosedAdaptive"), default="Open"),
    Categorical("Scheduler", choices=("Fifo", "FrFcfs", "FrFcfsGrp"), default="Fifo"),
    Categorical("SchedulerBuffer", choices=("Bankwise", "ReadWrite", "Shared"), default="Bankwise"),
    Integer("RequestBufferSize", low=1, high=8, default=1),
    Categorical("RespQueue", choices=("Fifo", "Reorder"), default="Fifo"),
    Categorical("RefreshPolicy", choices=("NoRefresh", "AllBank"), default="NoRefresh"),
    Integer("RefreshMaxPostponed", low=1, high=8, default=1),
    Integer("RefreshMaxPulledin", low=1, high=8, default=1),
    Categorical("Arbiter", choices=("Simple", "Fifo", "Reorder"), default="Simple"),
    Ordinal("MaxActiveTransactions", levels=(1, 2, 4, 8, 16, 32, 64, 128), default=1),
])
"""The design space (archlab :class:`~archlab.core.space.Space`)."""

DEFAULT_CONFIG: Config = KNOBS.default()
N_KNOBS = len(KNOBS)


def validate_config(config: Mapping[str, Any] | None = None) -> Config:
    """Defaults overlaid with ``config``; unknown knobs or values raise ``SpaceError``
    listing the allowed ones."""
    return KNOBS.with_defaults(dict(config or {}))


def _encode(c: Mapping[str, Any]) -> list[int]:
    return [
        KNOBS["PagePolicy"].index_of(c["PagePolicy"]),
        KNOBS["Scheduler"].index_of(c["Scheduler"]),
        KNOBS["SchedulerBuffer"].index_of(c["SchedulerBuffer"]),
        c["RequestBufferSize"],
        KNOBS["RespQueue"].index_of(c["RespQueue"]),
        KNOBS["RefreshPolicy"].index_of(c["RefreshPolicy"]),
        c["RefreshMaxPostponed"],
        c["RefreshMaxPulledin"],
        KNOBS["Arbiter"].index_of(c["Arbiter"]),
        c["MaxActiveTransactions"],
    ]


# Fast path of encode_config: knob -> (position, {canonical value: code}), filled by
# encoding each value of each knob the slow way; defaults' codes as the starting vector.
_DEFAULT_CODES = _encode(DEFAULT_CONFIG)
_CODES: dict[str, tuple[int, dict[Any, int]]] = {}
for _pos, _dim in enumerate(KNOBS.dims):
    _CODES[_dim.name] = (_pos, {v: _encode({**DEFAULT_CONFIG, _dim.name: v})[_pos] for v in _dim.values})


def encode_config(config: Mapping[str, Any]) -> np.ndarray:
    """Kernel encoding: category indices, buffer size, refresh bounds and MAT as ints."""
    codes = list(_DEFAULT_CODES)
    for name, value in config.items():
        hit = _CODES.get(name)
        # exact str/int canonical values only (no bools, numpy scalars, ...): else validate
        if hit is None or type(value) not in (str, int) or value not in hit[1]:
            return np.array(_encode(validate_config(config)), dtype=np.int64)
        codes[hit[0]] = hit[1][value]
    return np.array(codes, dtype=np.int64)


def canonical_key(config: Mapping[str, Any]) -> tuple:
    """Key shared by configurations the simulator cannot tell apart: the refresh bounds do
    nothing without refresh, and ``MaxActiveTransactions`` does nothing with the ``Simple``
    arbiter (DRAMSys applies it in the Fifo and Reorder arbiters only)."""
    c = validate_config(config)
    if c["RefreshPolicy"] == "NoRefresh":
        c["RefreshMaxPostponed"] = c["RefreshMaxPulledin"] = 1
    if c["Arbiter"] == "Simple":
        c["MaxActiveTransactions"] = 1
    return KNOBS.key(c)
