"""Memory specs (DDR3-1600, DDR4-2400) as data, with their address mappings.

Timings are in memory-clock cycles; currents in mA, voltages in V (spec sheet
``specs/dram.md``: Micron 1Gb x8 DDR3-1600 and JEDEC 4Gb x8 DDR4-2400 as shipped with
DRAMSys). Add a spec by adding a :class:`MemSpec` to :data:`SPECS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class MemSpec:
    """One memory device type on a 64-bit DIMM of ``devices`` x8 chips."""

    name: str
    clk_mhz: float
    timing: dict[str, int]
    currents_ma: dict[str, float]
    vdd: float
    banks: int
    bank_groups: int
    rows: int
    columns: int
    burst_length: int
    devices: int
    # address mapping: (lowest bit, number of bits) of the byte address
    bank_bits: tuple[int, int]
    row_bits: tuple[int, int]
    column_bits: tuple[int, int]
    bankgroup_bits: tuple[int, int] | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def tck_ns(self) -> float:
        return 1000.0 / self.clk_mhz

    def decode(self, address: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bank, row, column) of byte addresses; bank counts across bank groups."""
        a = np.asarray(address, dtype=np.int64)

        def field_of(bits: tuple[int, int]) -> np.ndarray:
            lo, n = bits
            return (a >> lo) & ((1 << n) - 1)

        bank = field_of(self.bank_bits)
        if self.bankgroup_bits is not None:
            bank = field_of(self.bankgroup_bits) * (self.banks // self.bank_groups) + bank
        return bank.astype(np.int32), field_of(self.row_bits).astype(np.int32), field_of(self.column_bits)

    def timing_vector(self) -> np.ndarray:
        """Timings in the order :data:`TIMING_FIELDS` (the kernel's input)."""
        t = self.timing
        return np.array([t[k] for k in TIMING_FIELDS], dtype=np.int64)


# kernel order; *_L apply within a bank group, *_S across groups (equal for DDR3)
TIMING_FIELDS = ("CL", "RCD", "RP", "RAS", "RC", "RFC", "REFI", "WL", "WR", "RTP",
                 "CCD_L", "CCD_S", "RRD_L", "RRD_S", "FAW", "WTR_L", "WTR_S", "BL2")

DDR3_1600 = MemSpec(
    name="DDR3-1600", clk_mhz=800.0,
    timing=dict(CL=10, RCD=10, RP=10, RAS=28, RC=38, RFC=88, REFI=6240, WL=8, WR=12, RTP=6,
                CCD_L=4, CCD_S=4, RRD_L=5, RRD_S=5, FAW=24, WTR_L=6, WTR_S=6, BL2=4,
                XP=6, XS=96, CKE=3, RTRS=1),
    currents_ma=dict(IDD0=70, IDD2N=45, IDD2P0=12, IDD2P1=30, IDD3N=45, IDD3P=35, IDD4R=140,
                     IDD4W=145, IDD5=170, IDD6=8),
    vdd=1.5, banks=8, bank_groups=1, rows=16384, columns=1024, burst_length=8, devices=8,
    column_bits=(3, 10), bank_bits=(13, 3), row_bits=(16, 14),
)

DDR4_2400 = MemSpec(
    name="DDR4-2400", clk_mhz=1200.0,
    timing=dict(CL=16, RCD=16, RP=16, RAS=39, RC=55, RFC=312, REFI=9360, WL=16, WR=18, RTP=12,
                CCD_L=6, CCD_S=4, RRD_L=6, RRD_S=4, FAW=26, WTR_L=9, WTR_S=3, BL2=4,
                XP=8, XS=324, CKE=6),
    currents_ma=dict(IDD0=60.75, IDD2N=38.25, IDD2P=17, IDD3N=44, IDD3P=22.5, IDD4R=184.5,
                     IDD4W=168.75, IDD5=118, IDD6=20.25),
    vdd=1.2, banks=16, bank_groups=4, rows=32768, columns=1024, burst_length=8, devices=8,
    column_bits=(3, 10), row_bits=(13, 15), bankgroup_bits=(28, 2), bank_bits=(30, 2),
    extra=dict(VPP=2.5, IDD02=4.05, IDD62=2.6),
)

SPECS: dict[str, MemSpec] = {s.name: s for s in (DDR3_1600, DDR4_2400)}


def get_spec(spec: str | MemSpec) -> MemSpec:
    """Look up a spec by name (error lists the known ones)."""
    if isinstance(spec, MemSpec):
        return spec
    try:
        return SPECS[spec]
    except KeyError:
        raise ValueError(f"unknown memory spec {spec!r}; allowed: {', '.join(SPECS)}") from None
