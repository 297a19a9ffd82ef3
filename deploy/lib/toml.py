"""Read and set keys of a TOML settings file for the installers, keeping its comments.

    toml.py get FILE SECTION.KEY           print the value (nothing, exit 1, if absent)
    toml.py set IN OUT [--str K=V]… [--raw K=V]…
        copy IN to OUT with each key set: --str quotes V as a TOML string, --raw writes V
        as it is (a number, true/false). A key commented out in IN (`# key = …`) is set in
        its place; a missing key goes first in its section; a missing section at the end.
        Keys of the top level are given without a section ("data_dir=/srv").

Standard library only: it runs with the system's python3 before any venv exists.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def set_key(text: str, dotted: str, value: str) -> str:
    section, _, key = dotted.rpartition(".")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    headers = [i for i, ln in enumerate(lines) if _HEADER.match(ln)]
    if section:
        start = next((i + 1 for i in headers if _HEADER.match(lines[i]).group(1) == section),
                     None)
        if start is None:
            return "".join(lines) + f"\n[{section}]\n{key} = {value}\n"
    else:
        start = 0
    end = next((i for i in headers if i >= start), len(lines))
    pattern = re.compile(rf"^\s*#?\s*{re.escape(key)}\s*=")
    for i in range(start, end):
        if pattern.match(lines[i]):
            lines[i] = f"{key} = {value}\n"
            return "".join(lines)
    at = start if section else end
    lines.insert(at, f"{key} = {value}\n")
    return "".join(lines)


def get_key(path: Path, dotted: str) -> object | None:
    node: object = tomllib.loads(path.read_text())
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "get":
        value = get_key(Path(argv[1]), argv[2])
        if value is None:
            return 1
        print(value if isinstance(value, str) else json.dumps(value))
        return 0
    if len(argv) >= 3 and argv[0] == "set":
        text = Path(argv[1]).read_text()
        rest = argv[3:]
        if len(rest) % 2:
            raise SystemExit("toml.py set: each --str/--raw needs KEY=VALUE")
        for flag, pair in zip(rest[::2], rest[1::2], strict=True):
            key, sep, value = pair.partition("=")
            if flag not in ("--str", "--raw") or not sep:
                raise SystemExit(f"toml.py set: bad argument {flag} {pair!r}")
            text = set_key(text, key, _toml_string(value) if flag == "--str" else value)
        tomllib.loads(text)  # never write a file that is not TOML
        Path(argv[2]).write_text(text)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
