"""The hub's settings are documented where operators look: every key in
deploy/hub.example.toml (set or commented out, with what it does) and every key the
environment can set in README's configuration table. Both are compared with the settings
models themselves, so a key added to a model without its documentation fails here, named."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from hub.config import HubSettings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "hub.example.toml"
README = ROOT / "README.md"


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def settings_keys(model: type[BaseModel] = HubSettings, prefix: str = ""
                  ) -> Iterator[tuple[str, bool, bool]]:
    """(dotted key, is a table of its own, is inside a list of tables) for every key."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        models = _models(field.annotation)
        listed = typing.get_origin(field.annotation) is list
        yield key, bool(models), False
        for m in models:
            for sub, table, inner in settings_keys(m, f"{key}."):
                yield sub, table, listed or inner


def _dicts(model: type[BaseModel] = HubSettings, prefix: str = "") -> set[str]:
    """Keys whose value is a table of free entries (`[rules.sla_hours]`)."""
    out = set()
    for name, field in model.model_fields.items():
        if typing.get_origin(field.annotation) is dict:
            out.add(f"{prefix}{name}")
        for m in _models(field.annotation):
            out |= _dicts(m, f"{prefix}{name}.")
    return out


def example_keys(text: str) -> set[str]:
    """Keys the example shows, set or commented out, and its tables' names."""
    found, table = set(), ""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if m := re.match(r"^\[\[?([\w.]+)\]\]?", line):
            table = m.group(1)
            found.add(table)
        elif m := re.match(r"^(\w+)\s*=", line):
            found.add(f"{table}.{m.group(1)}" if table else m.group(1))
    return found


def readme_variables(text: str) -> set[str]:
    """Variables named in the configuration table; `__KEY` after `ROSHNI_SECTION__X` in a
    cell is short for `ROSHNI_SECTION__KEY`."""
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        prefix = ""
        for token in re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1]):
            if token.startswith("ROSHNI_"):
                names.add(token)
                prefix = token.rpartition("__")[0] + "__" if "__" in token else "ROSHNI_"
            elif token.startswith("__") and prefix:
                names.add(prefix + token[2:])
    return names


def variable(key: str) -> str:
    return "ROSHNI_" + "__".join(part.upper() for part in key.split("."))


def test_the_example_shows_every_key_and_no_key_that_does_not_exist():
    keys = {k for k, _, _ in settings_keys()}
    dicts = _dicts()
    shown = {k for k in example_keys(EXAMPLE.read_text())
             if not any(k.startswith(f"{d}.") for d in dicts)}
    missing, unknown = sorted(keys - shown), sorted(shown - keys)
    assert not missing and not unknown, (
        f"{EXAMPLE.relative_to(ROOT)} is out of step with the settings models:\n"
        f"  missing (add each with a comment saying what it does): {', '.join(missing)}\n"
        f"  not a setting (a typo, or a key that was removed): {', '.join(unknown)}")


def test_the_readme_table_names_every_variable_the_environment_can_set():
    # Lists of tables (subscribers, sites) are written in the file, not the environment.
    wanted = {variable(k) for k, table, listed in settings_keys() if not table and not listed}
    named = readme_variables(README.read_text())
    missing = sorted(wanted - named)
    assert not missing, (
        "README.md's configuration table lacks (add a row, or `__KEY` to a row of its "
        f"section): {', '.join(missing)}")
