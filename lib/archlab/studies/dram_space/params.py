"""params.yaml section ``dram_space``: per-knob sensitivity of the DRAM design space."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.core.params import Section

TraceName = Literal["stream", "random", "mixed", "rw", "pub_stream", "pub_random", "pub_mixed", "pub_rw"]


class DramSpaceParams(Section):
    """Sensitivity of makespan and energy to each knob, on each trace, plus fidelity."""

    traces: list[TraceName] = Field(["pub_stream", "pub_random", "pub_mixed", "pub_rw"], min_length=1,
                                    description="traces analysed (pub_* reproduce the calibration traces)")
    spec: Literal["DDR3-1600", "DDR4-2400"] = "DDR3-1600"
    n_requests: int = Field(10_000, ge=100, le=1_000_000, description="requests per generated trace")
    contexts: int = Field(64, ge=1, le=10_000,
                          description="random base configurations per trace; each knob is swept over all "
                                      "its values in every context")
    fidelity: bool = Field(True, description="compare against the 280 DRAMSys calibration runs")
