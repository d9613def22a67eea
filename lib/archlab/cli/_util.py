"""Helpers shared by the command groups."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` to stderr and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
