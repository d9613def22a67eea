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
    # decision rules (stated before the run; see the notebook and docs/studies/dram_space.md)
    max_median_rel_err: float = Field(0.01, gt=0, le=1,
                                      description="fidelity holds if the CI of the median |rel. error| is below")
    min_spearman: float = Field(0.95, gt=0, le=1, description="rank fidelity holds if the CI of rho is above")
    matters_threshold: float = Field(0.05, gt=0, description="a knob 'matters' at this median makespan spread")
    max_knobs_that_matter: int = Field(4, ge=1, le=10, description="'a few knobs' means at most this many")
    ci: float = Field(0.95, gt=0.5, lt=1, description="confidence level of every interval")
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000, description="bootstrap resamples per CI")
