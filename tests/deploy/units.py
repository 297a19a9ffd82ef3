"""Read systemd unit files, and start a service as its unit says where systemd cannot run.

Only what decides *what* runs is followed: ExecStartPre, ExecStart, User, Group,
SupplementaryGroups, Environment, EnvironmentFile and WorkingDirectory, with the unit's
drop-ins (`NAME.service.d/*.conf`). Sandboxing (ProtectSystem=, DeviceAllow=, …) needs
systemd itself; `systemd-analyze verify` checks those directives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

UNIT_DIRS = ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system")


@dataclass
class Unit:
    name: str
    sections: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def get(self, section: str, key: str) -> list[str]:
        return self.sections.get(section, {}).get(key, [])

    def one(self, section: str, key: str, default: str | None = None) -> str | None:
        values = self.get(section, key)
        return values[-1] if values else default

    def words(self, section: str, key: str) -> list[str]:
        """A list setting (SupplementaryGroups=, DeviceAllow= …): every word of every line."""
        return [w for v in self.get(section, key) for w in v.split()]


def parse(text: str, unit: Unit | None = None, name: str = "") -> Unit:
    """systemd's syntax: [Section], Key=Value, repeated keys accumulate, an empty value
    resets the list, backslash continues a line, # and ; start comments."""
    unit = unit or Unit(name)
    section = ""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if buf:
            buf += " " + line.lstrip()
        else:
            buf = line
        if buf.endswith("\\"):
            buf = buf[:-1]
            continue
        logical.append(buf)
        buf = ""
    for line in logical:
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            unit.sections.setdefault(section, {})
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise ValueError(f"{unit.name}: not a setting: {line!r}")
        values = unit.sections.setdefault(section, {}).setdefault(key.strip(), [])
        value = value.strip()
        if value:
            values.append(value)
        else:
            values.clear()
    return unit


def load(root: Path, name: str) -> Unit:
    """The unit `name` as systemd would load it below `root`: the first file found in the
    search path, then its drop-ins in name order."""
    for d in UNIT_DIRS:
        path = root / d / name
        if path.is_file():
            unit = parse(path.read_text(), name=name)
            break
    else:
        raise FileNotFoundError(f"no unit {name} below {root}")
    dropins = sorted(p for d in UNIT_DIRS for p in (root / d / f"{name}.d").glob("*.conf"))
    for p in dropins:
        parse(p.read_text(), unit)
    return unit


def _environment_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if sep:
            env[key.strip()] = " ".join(shlex.split(value)) if value.strip() else ""
    return env


def environment(root: Path, unit: Unit) -> dict[str, str]:
    env: dict[str, str] = {}
    for spec in unit.get("Service", "EnvironmentFile"):
        optional = spec.startswith("-")
        path = root / spec.lstrip("-").lstrip("/")
        if path.is_file():
            env.update(_environment_file(path))
        elif not optional:
            raise FileNotFoundError(f"{unit.name}: EnvironmentFile {spec} is missing")
    for line in unit.get("Service", "Environment"):
        for assignment in shlex.split(line):
            key, _, value = assignment.partition("=")
            env[key] = value
    return env


def expand(command: str, env: dict[str, str]) -> list[str]:
    """An Exec line's words: prefixes (-, @, +, !) dropped, `${VAR}` one word and `$VAR`
    split into words, as systemd does."""
    command = command.lstrip("-@+!:")
    words: list[str] = []
    for word in shlex.split(command):
        m = re.fullmatch(r"\$(\w+)", word)
        if m:
            words.extend(env.get(m.group(1), "").split())
            continue
        words.append(re.sub(r"\$\{(\w+)\}", lambda g: env.get(g.group(1), ""), word))
    return words


@dataclass(frozen=True)
class Plan:
    """How to run a unit's service by hand: commands, as whom, where, with what."""

    pre: list[list[str]]
    start: list[str]
    env: dict[str, str]
    cwd: str


def plan(root: Path, name: str) -> Plan:
    unit = load(root, name)
    env = environment(root, unit)
    user = unit.one("Service", "User")
    group = unit.one("Service", "Group")
    extra = unit.words("Service", "SupplementaryGroups")
    switch: list[str] = []
    if user:
        switch = ["setpriv", f"--reuid={user}", f"--regid={group or user}"]
        switch += [f"--groups={','.join(extra)}"] if extra else ["--init-groups"]
        switch += ["--"]
    starts = unit.get("Service", "ExecStart")
    if len(starts) != 1:
        raise ValueError(f"{name}: expected one ExecStart, found {starts}")
    # A "+" command runs with full privileges, the others as the unit's user.
    pre = [expand(c, env) if c.startswith("+") else [*switch, *expand(c, env)]
           for c in unit.get("Service", "ExecStartPre")]
    return Plan(pre=pre, start=[*switch, *expand(starts[0], env)], env=env,
                cwd=unit.one("Service", "WorkingDirectory", "/") or "/")
