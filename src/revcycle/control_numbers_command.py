"""``revcycle control-numbers``: show the next interchange control number, or seed it after a move."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_control_numbers_command(commands: Any, warehouse_engine: Callable[[], Any]) -> None:
    """Register ``control-numbers show`` and ``control-numbers seed --isa13 N`` on the command's subparsers."""
    parser = commands.add_parser("control-numbers", help="show or seed the interchange control number (ISA13/GS06)")
    sub = parser.add_subparsers(dest="control_numbers_command", metavar="COMMAND")
    show = sub.add_parser("show", help="the next ISA13/GS06 and the highest already used")
    show.set_defaults(handler=lambda args: _show(warehouse_engine()))
    seed = sub.add_parser("seed", help="make N the next ISA13/GS06 (after moving warehouses); never goes backwards")
    seed.add_argument("--isa13", type=int, required=True, metavar="N", help="the next interchange control number")
    seed.set_defaults(handler=lambda args: _seed(warehouse_engine(), args))
    parser.set_defaults(handler=lambda args: _show(warehouse_engine()))


def _show(engine: Any) -> int:
    from revcycle.warehouse.control_numbers import highest_used, next_isa13

    try:
        with engine.connect() as conn:
            print(f"next ISA13/GS06: {next_isa13(conn):09d} (highest used: {highest_used(conn):09d})")
    finally:
        engine.dispose()
    return 0


def _seed(engine: Any, args: argparse.Namespace) -> int:
    from revcycle.warehouse.control_numbers import highest_used, seed_isa13

    try:
        with engine.begin() as conn:
            before = highest_used(conn)
            seed_isa13(conn, args.isa13)
    finally:
        engine.dispose()
    print(f"next ISA13/GS06: {args.isa13:09d} (highest used before: {before:09d})")
    return 0


def next_numbers_line(url: str) -> str:
    """``Next ISA13/GS06: ...`` for ``revcycle config``: read only, never creates or migrates a warehouse."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from revcycle.warehouse.control_numbers import next_isa13

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        return f"Next ISA13/GS06: 000000001 (no warehouse yet at {parsed.database})"
    from revcycle.warehouse.db import create_warehouse_engine

    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("control_counter"):
                return "Next ISA13/GS06: 000000001 (the warehouse has no tables yet)"
            return f"Next ISA13/GS06: {next_isa13(conn):09d} (seed: revcycle control-numbers seed --isa13 N)"
    except SQLAlchemyError as error:
        return f"Next ISA13/GS06: unknown, the warehouse did not answer ({type(error).__name__})"
    finally:
        engine.dispose()
