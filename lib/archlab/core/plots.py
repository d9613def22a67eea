"""One plotting style and deterministic figure output."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

DPI = 110
PALETTE = "colorblind"


def use_style() -> None:
    """The workbook's one seaborn style (call at the top of every notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update({
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "savefig.bbox": "tight",
        "figure.autolayout": False,
        "svg.hashsalt": "archlab",  # stable SVG ids
        "axes.titleweight": "bold",
    })


def save_fig(fig: plt.Figure, path: str | Path, *, dpi: int = DPI, close: bool = True) -> Path:
    """Save ``fig`` as a deterministic PNG (no timestamp or software metadata).

    The same figure content always gives the same bytes, so DVC sees no change when
    nothing changed. The figure is closed (``close=True``), so a study that builds figures
    inside a library call does not also leave them for Jupyter to print; notebooks show the
    written file (:func:`archlab.workbook.display.figure`). Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower() or ".png"
    if suffix == ".png":
        meta = {"Software": None}
    elif suffix == ".pdf":
        meta = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    else:
        meta = {"Date": None, "Creator": None}
    fig.savefig(path, dpi=dpi, metadata=meta)
    if close:
        plt.close(fig)
    return path
