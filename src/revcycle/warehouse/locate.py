"""Which warehouse a command reads: the configured one, else the default workdir's, else the demo's.

``make demo`` (``revcycle demo``) keeps its warehouse in ``./demo``, while the default workdir of every
other command is ``./revcycle-data``. A command run right after the demo, with nothing configured, would
otherwise create and report on an empty warehouse; here it finds the demo's and says so, or says exactly
where it looked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from revcycle.errors import ConfigurationError
from revcycle.settings import Settings

DEMO_WORKDIR = Path("demo")
WAREHOUSE_FILE = "warehouse.db"


@dataclass(frozen=True)
class WarehouseLocation:
    """The warehouse URL to use, and a note for the operator when it is not the configured one."""

    url: str
    note: str | None = None


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file ``path`` (absolute)."""
    return f"sqlite:///{path.resolve()}"


def locate_warehouse(settings: Settings, demo_workdir: Path = DEMO_WORKDIR) -> WarehouseLocation:
    """The warehouse of ``settings``; without REVCYCLE_WAREHOUSE_URL or REVCYCLE_WORKDIR, the demo's if only it exists.

    An explicit REVCYCLE_WORKDIR must be an existing folder (a warehouse is created in it when it has none);
    the default workdir is used when it holds a warehouse. Raises ConfigurationError naming the places looked
    at and the variables to set when there is no warehouse to use.
    """
    if settings.warehouse_url:
        return WarehouseLocation(settings.warehouse_url)
    workdir = settings.workdir
    if "workdir" in settings.model_fields_set:
        if not workdir.is_dir():
            raise ConfigurationError(
                f"REVCYCLE_WORKDIR {str(workdir)!r} is not a folder: create it, or set REVCYCLE_WORKDIR to the "
                "folder of your runs (`make demo` uses ./demo)"
            )
        return WarehouseLocation(sqlite_url(workdir / WAREHOUSE_FILE))
    default = workdir / WAREHOUSE_FILE
    if default.is_file():
        return WarehouseLocation(sqlite_url(default))
    demo = demo_workdir / WAREHOUSE_FILE
    if demo.is_file():
        return WarehouseLocation(
            sqlite_url(demo),
            note=f"using the demo's warehouse {demo} (there is none in {default}); "
            "set REVCYCLE_WORKDIR or REVCYCLE_WAREHOUSE_URL to choose another",
        )
    raise ConfigurationError(
        f"no warehouse found: looked for {default} (the default REVCYCLE_WORKDIR) and {demo} (made by "
        "`make demo`); run `make demo` first, or set REVCYCLE_WORKDIR (or REVCYCLE_WAREHOUSE_URL) to your warehouse"
    )
