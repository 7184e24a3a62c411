"""The core (src/revcycle, the composition root aside) imports no prefect, paramiko, great_expectations, edges."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import revcycle

CORE = Path(revcycle.__file__).resolve().parent
FORBIDDEN = ("prefect", "paramiko", "great_expectations", "connectors", "flows", "tasks", "expectations")
# The revcycle command: cli.py and the module of its one-shot run commands.
COMPOSITION_ROOT = (CORE / "cli.py", CORE / "cli_run.py")


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_a_forbidden_package() -> None:
    modules = [p for p in CORE.rglob("*.py") if p not in COMPOSITION_ROOT]
    assert len(modules) > 20
    offenders = {
        str(p.relative_to(CORE)): sorted(_imported_roots(p) & set(FORBIDDEN))
        for p in modules
        if _imported_roots(p) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom prefect import flow\nimport paramiko.client\n")
    assert _imported_roots(sample) & set(FORBIDDEN) == {"prefect", "paramiko"}


def test_importing_every_core_module_loads_none_of_them() -> None:
    names = sorted(
        "revcycle." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p not in COMPOSITION_ROOT and p.name != "__init__.py" and "migrations" not in p.parts
    )
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"loaded = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_help_does_not_import_prefect_or_great_expectations() -> None:
    code = (
        "import sys\nfrom revcycle.cli import build_parser\nbuild_parser().format_help()\n"
        "print(','.join(m for m in ('prefect', 'great_expectations', 'paramiko') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_loading_the_flows_imports_neither_great_expectations_nor_dask() -> None:
    """A flow run process (and ``prefect deploy``) loads its entrypoint's module first.

    Great Expectations costs about 7 s of import on a 2-core machine and Dask about 1 s; a pickup with
    nothing waiting, or a Retry that only uploads what is staged, needs neither. They are imported where a
    task validates (an export, a written 837, a loaded 835) or where the Dask runner is chosen.
    """
    entrypoints = ("flows.nightly", "flows.ingest", "flows.submit", "flows.intake", "flows.eligibility")
    code = (
        "import importlib, sys\n"
        f"for name in {entrypoints!r}: importlib.import_module(name)\n"
        # With nothing staged and no 835 loaded, the checks that need GX have nothing to check.
        "from tasks.submit import _written_claim_problems\n"
        "from tasks.collect import report_remittance_checks\n"
        "assert _written_claim_problems([]) == {} and report_remittance_checks({}) == []\n"
        "print(','.join(m for m in ('great_expectations', 'distributed', 'prefect_dask') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
