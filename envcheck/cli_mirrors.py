"""`envcheck mirrors`: command registration (kept apart so the main CLI module stays thin)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `mirrors` command(s) to the main app."""
