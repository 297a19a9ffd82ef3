"""The `roshni` console script (DESIGN.md §10).

Each top-level command belongs to one package; only that package is imported, so a Pi
with ``roshni[node]`` runs `roshni node …` without FastAPI or InfluxDB libraries present.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

OWNERS = {
    "protocol": "protocol.cli",
    "node": "node.cli",
    "hub": "hub.cli",
    "demo": "hub.cli",
    "provision": "hub.cli",
    "user": "hub.cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=os.environ.get("ROSHNI_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parser = argparse.ArgumentParser(prog="roshni", description="Roshni street-light monitoring")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = argv[0] if argv else None
    modules = [OWNERS[wanted]] if wanted in OWNERS else sorted(set(OWNERS.values()))
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            if wanted in OWNERS:
                extra = name.split(".")[0]
                parser.exit(2, f"roshni {wanted}: missing dependency ({err.name}); "
                               f"install with: pip install 'roshni[{extra}]'\n")
            continue
        module.add_commands(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
