"""Run the benchmarks: ``python -m benchmarks [--scale S] [--lines N] [NAME ...]`` (NAME matches bench_NAME.py).

``python -m benchmarks nightly --lines 100000`` runs the real nightly flow on 100,000 synthetic charge lines.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import sys
from dataclasses import asdict
from pathlib import Path

import benchmarks
from revcycle.tables import render_table


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default), print a table, and save the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink (0.1) or grow the workloads")
    parser.add_argument(
        "--lines", type=int, help="charge lines, for the benchmarks sized in lines (nightly); overrides --scale"
    )
    args = parser.parse_args(argv)
    found = sorted(
        m.name[len("bench_") :] for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    chosen = args.names or found
    unknown = sorted(set(chosen) - set(found))
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)} (known: {', '.join(found)})", file=sys.stderr)
        return 2
    modules = {name: importlib.import_module(f"benchmarks.bench_{name}") for name in chosen}
    sized_in_lines = sorted(
        name for name, module in modules.items() if "lines" in inspect.signature(module.run).parameters
    )
    if args.lines is not None and not sized_in_lines:
        print(f"--lines applies to: nightly; not to {', '.join(chosen)}", file=sys.stderr)
        return 2
    results = []
    for name in chosen:
        print(f"running {name} ...", flush=True)
        module = modules[name]
        if args.lines is not None and name in sized_in_lines:
            results.extend(module.run(args.scale, lines=args.lines))
        else:
            results.extend(module.run(args.scale))
    rows = [
        (m.name, f"{m.seconds:.2f}", f"{m.work:,.0f} {m.unit}", f"{m.rate:,.1f} {m.unit}/s", f"{m.peak_rss_mb:,.0f}")
        for m in results
    ]
    print(render_table(("benchmark", "seconds", "work", "rate", "peak RSS MB"), rows))
    out = Path(benchmarks.__file__).parent / "results"
    out.mkdir(exist_ok=True)
    latest = out / "latest.json"
    # Merge by name so running one benchmark keeps the others' last figures.
    kept = {entry["name"]: entry for entry in (json.loads(latest.read_text()) if latest.exists() else [])}
    kept.update({m.name: asdict(m) | {"rate": m.rate} for m in results})
    latest.write_text(json.dumps(list(kept.values()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
