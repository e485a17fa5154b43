"""Run every benchmark module in this package that defines ``main()``."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def run_all() -> None:
    """Import each bench.* module and call its ``main()``."""
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        main = getattr(module, "main", None)
        if callable(main):
            print(f"== bench.{info.name}", flush=True)
            main()


if __name__ == "__main__":
    run_all()
