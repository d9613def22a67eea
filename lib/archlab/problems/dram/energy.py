"""DRAMPower energy model (per device, times the devices on the DIMM).

E_ACT = (IDD0 - IDD3N) tRAS VDD, E_PRE = (IDD0 - IDD2N) tRP VDD,
E_RD = (IDD4R - IDD3N) BL/2 VDD, E_WR = (IDD4W - IDD3N) BL/2 VDD, E_REF = (IDD5 - IDD3N) tRFC VDD;
background IDD3N VDD while any bank is open, IDD2N VDD while all are precharged.
mA x ns x V = pJ.
"""

from __future__ import annotations

from dataclasses import dataclass

from archlab.problems.dram.specs import MemSpec


@dataclass(frozen=True)
class CommandEnergies:
    """Energy of one command on the whole DIMM, in pJ, and background power in mW."""

    act_pJ: float
    pre_pJ: float
    rd_pJ: float
    wr_pJ: float
    ref_pJ: float
    bg_active_mW: float
    bg_precharged_mW: float


_CACHE: dict[int, tuple[CommandEnergies, MemSpec]] = {}


def command_energies(spec: MemSpec) -> CommandEnergies:
    """Per-command energies of ``spec`` (DRAMPower formulas of the spec sheet)."""
    hit = _CACHE.get(id(spec))
    if hit is not None and hit[1] is spec:  # keyed by identity (MemSpec holds dicts)
        return hit[0]
    e = _command_energies(spec)
    _CACHE[id(spec)] = (e, spec)
    return e


def _command_energies(spec: MemSpec) -> CommandEnergies:
    i, t, v, k, tck = spec.currents_ma, spec.timing, spec.vdd, spec.devices, spec.tck_ns
    burst = spec.burst_length // 2
    return CommandEnergies(
        act_pJ=k * (i["IDD0"] - i["IDD3N"]) * t["RAS"] * tck * v,
        pre_pJ=k * (i["IDD0"] - i["IDD2N"]) * t["RP"] * tck * v,
        rd_pJ=k * (i["IDD4R"] - i["IDD3N"]) * burst * tck * v,
        wr_pJ=k * (i["IDD4W"] - i["IDD3N"]) * burst * tck * v,
        ref_pJ=k * (i["IDD5"] - i["IDD3N"]) * t["RFC"] * tck * v,
        bg_active_mW=k * i["IDD3N"] * v,
        bg_precharged_mW=k * i["IDD2N"] * v,
    )


def total_energy(spec: MemSpec, n_act: float, n_pre: float, n_rd: float, n_wr: float, n_ref: float,
                 window_cycles: float, open_cycles: float) -> float:
    """Total energy in pJ over a window of ``window_cycles`` of which ``open_cycles`` had a bank open."""
    e = command_energies(spec)
    tck = spec.tck_ns
    background = (e.bg_active_mW * open_cycles + e.bg_precharged_mW * (window_cycles - open_cycles)) * tck
    return (n_act * e.act_pJ + n_pre * e.pre_pJ + n_rd * e.rd_pJ + n_wr * e.wr_pJ + n_ref * e.ref_pJ
            + background)
