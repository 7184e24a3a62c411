"""Plain-text tables for the terminal (no dependencies, so the CLI starts fast)."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right_align_from: int = 1) -> str:
    """A boxed text table; columns from ``right_align_from`` on are right-aligned (numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i >= right_align_from else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ]
        return "│ " + " │ ".join(parts) + " │"

    rule = "─┼─".join("─" * w for w in widths)
    top = "┌─" + "─┬─".join("─" * w for w in widths) + "─┐"
    bottom = "└─" + "─┴─".join("─" * w for w in widths) + "─┘"
    return "\n".join([top, line(headers), "├─" + rule + "─┤", *(line(r) for r in rows), bottom])
