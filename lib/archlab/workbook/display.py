"""What a thin study notebook calls: set up, save the result, show figures and tables.

A notebook is the parameters cell, then::

    from archlab.workbook import display as wd
    from archlab.studies import lottery
    P, C = wd.setup(section, smoke)
    R = lottery.run(P, C)
    wd.save(R)
    wd.claims(R)            # the claims table with verdicts
    wd.figure(R, "curves")  # inline, from the deterministic PNG the study wrote
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pandas as pd

from archlab.analysis.claims import Result
from archlab.core import params, plots


def setup(section: str, smoke: bool = False) -> tuple[Any, Any]:
    """Validated params of ``section`` and ``common``; the plotting style; quiet reports."""
    P = params.load_section(section, smoke=smoke)
    C = params.load_section("common")
    plots.use_style()
    quiet()
    pd.set_option("display.width", 140, "display.max_columns", 30, "display.precision", 3)
    return P, C


def quiet() -> None:
    """No warnings or progress bars in a report (their text is noise to a reader)."""
    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")


def save(R: Result) -> None:
    """Write ``metrics/<study>.json`` (metrics plus claim records)."""
    R.write_metrics()


def figure(R: Result, name: str, optional: bool = False) -> Any:
    """The study's figure ``name`` as an inline image (embedded in the notebook and HTML).

    With ``optional``, a missing figure (a part of the study that could not run, e.g. without
    its reference data) shows a one-line note instead of raising."""
    from IPython.display import Image, Markdown

    if name not in R.figures:
        if optional:
            return Markdown(f"*(figure `{name}` not produced in this run)*")
        raise KeyError(f"{R.study} has no figure {name!r}; it has: {', '.join(R.figures)}")
    return Image(filename=str(R.figures[name]))


def table(R: Result, name: str, optional: bool = False) -> Any:
    """The study's table ``name`` (``optional``: a note instead of an error when absent)."""
    if name not in R.tables:
        if optional:
            from IPython.display import Markdown

            return Markdown(f"*(table `{name}` not produced in this run)*")
        raise KeyError(f"{R.study} has no table {name!r}; it has: {', '.join(R.tables)}")
    return R.tables[name]


def claims_frame(R: Result) -> pd.DataFrame:
    """The claims as a DataFrame: the paper's number, ours (value, 95% CI, n), verdict, rule."""
    from archlab.workbook.report import fmt_num

    rows = []
    for c in R.claims:
        ci = "" if c.ci is None else f"[{fmt_num(c.ci[0])}, {fmt_num(c.ci[1])}]"
        value = fmt_num(c.value) + (f" {c.unit}" if c.unit and c.value is not None else "")
        rows.append({"claim": c.claim, "paper": c.paper, "ours": value, "95% CI": ci,
                     "n": "" if c.n is None else c.n, "verdict": c.verdict, "rule": c.rule})
    return pd.DataFrame(rows, columns=["claim", "paper", "ours", "95% CI", "n", "verdict", "rule"])


def claims(R: Result) -> Any:
    """The claims table as shown in a notebook: full text (no truncation), verdicts coloured."""
    from archlab.workbook.report import VERDICT_COLOURS

    def colour(v: str) -> str:
        c = VERDICT_COLOURS.get(v)
        return f"background-color:{c};color:white;font-weight:600" if c else ""

    return (claims_frame(R).style.set_uuid("claims").hide(axis="index")
            .map(colour, subset=["verdict"])
            .set_properties(**{"text-align": "left", "white-space": "normal", "vertical-align": "top"})
            .set_properties(subset=["rule"], **{"font-size": "85%"}))
