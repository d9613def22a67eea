"""Claims as data: what a study returns, and the verdict rules every study shares.

A study's :class:`Result` carries its tables, figures, metrics and :class:`Claim` records.
A claim holds the paper's words and number, ours (value, 95% CI, n), and a verdict computed
by a rule stated before the results (in params and the notebook). The results page,
``docs/results.md`` and the README's headline lines are generated from these records, which
travel in ``metrics/<study>.json`` under the key ``claims``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from archlab.core import paths

Verdict = Literal["supported", "not supported", "inconclusive"]
VERDICTS: tuple[str, ...] = ("supported", "not supported", "inconclusive")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, tested by a study.

    ``value``/``ci``/``n`` are ours; ``rule`` is the decision rule, stated before the run;
    ``figure`` is a repository-relative path (``figures/<study>/<name>.png``).
    """

    id: str
    claim: str
    paper: str
    value: float | None
    ci: tuple[float, float] | None
    n: int | None
    verdict: Verdict
    rule: str
    figure: str | None
    command: str
    unit: str = ""
    source: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.id!r}: verdict {self.verdict!r} not in {VERDICTS}")
        if self.ci is not None:
            lo, hi = self.ci
            if not (lo <= hi):
                raise ValueError(f"claim {self.id!r}: CI {self.ci} has lower > upper")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = None if self.ci is None else [_num(self.ci[0]), _num(self.ci[1])]
        d["value"] = _num(self.value)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Claim:
        ci = d.get("ci")
        return cls(**{**d, "ci": None if ci is None else (float(ci[0]), float(ci[1]))})


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def verdict_at_least(ci: tuple[float, float] | None, threshold: float) -> Verdict:
    """"Quantity ≥ threshold": supported when the whole CI is ≥ threshold, not supported
    when the whole CI is below it, else inconclusive at this n."""
    if ci is None:
        return "inconclusive"
    lo, hi = ci
    if lo >= threshold:
        return "supported"
    if hi < threshold:
        return "not supported"
    return "inconclusive"


def verdict_at_most(ci: tuple[float, float] | None, threshold: float) -> Verdict:
    """"Quantity ≤ threshold": supported when the whole CI is ≤ threshold, not supported
    when the whole CI is above it, else inconclusive at this n."""
    if ci is None:
        return "inconclusive"
    lo, hi = ci
    if hi <= threshold:
        return "supported"
    if lo > threshold:
        return "not supported"
    return "inconclusive"


def verdict_within(ci: tuple[float, float] | None, bound: float) -> Verdict:
    """"|Quantity| ≤ bound" (agreement, equivalence): supported when the whole CI lies inside
    ±bound, not supported when it lies entirely outside, else inconclusive at this n."""
    if ci is None:
        return "inconclusive"
    lo, hi = ci
    if -bound <= lo and hi <= bound:
        return "supported"
    if lo > bound or hi < -bound:
        return "not supported"
    return "inconclusive"


@dataclass
class Result:
    """What ``studies.<name>.run(P, C)`` returns.

    ``figures`` maps a short name to the written file (repository-relative PNG path);
    ``tables`` maps a short name to a DataFrame shown in the report; ``metrics`` is a flat,
    JSON-serialisable dict of results (no timings).
    """

    study: str
    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)

    def metrics_document(self) -> dict[str, Any]:
        """The content of ``metrics/<study>.json``: metrics plus the claim records."""
        return {**self.metrics, "claims": [c.to_dict() for c in self.claims]}

    def write_metrics(self) -> Path:
        """Write :meth:`metrics_document` to ``metrics/<study>.json``."""
        return paths.write_metrics(self.study, self.metrics_document())


def read_claims(path: Path) -> list[Claim]:
    """The claim records of a ``metrics/<study>.json`` (empty when it has none)."""
    doc = json.loads(Path(path).read_text())
    return [Claim.from_dict(c) for c in doc.get("claims", [])]
