"""Provisioning many nodes from a CSV file, with a progress bar.

Columns (a header row names them, in any order): `id` (or `node_id`), `district`, `area`,
`lat`, `lon`, and optionally `rated_w`, `profile`, `pole`, `lamp_model`, `feeder`. A bad row is
reported with its line number and left out; the others go ahead.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from hub.provisioning.service import Outcome, Provisioner, ProvisionError
from hub.provisioning.spec import NodeSpec, SpecError

REQUIRED = ("id", "district", "area", "lat", "lon")
OPTIONAL = ("rated_w", "profile", "pole", "lamp_model", "feeder")
ALIASES = {"node_id": "id", "node": "id"}


class CsvFileError(ValueError):
    """The file as a whole cannot be used (missing, not CSV, required columns missing)."""


@dataclass
class BatchResult:
    done: list[Outcome] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    def summary(self) -> str:
        new = sum(1 for o in self.done if o.credentials == "new")
        text = f"{len(self.done)} nodes provisioned ({new} with new credentials)"
        return text + (f", {len(self.bad)} rows left out" if self.bad else "")


def read_csv(path: Path) -> tuple[list[tuple[int, NodeSpec]], list[tuple[int, str]]]:
    """The file's rows as specs with their line numbers, and the rows that are not."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets write a BOM
    except FileNotFoundError:
        raise CsvFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CsvFileError(f"{path}: cannot read: {err}") from None
    reader = csv.DictReader(text.splitlines())
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvFileError(f"{path}: the header row lacks {', '.join(missing)} (it needs "
                           f"{', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})")
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise CsvFileError(f"{path}: unknown columns {', '.join(unknown)} (known: "
                           f"{', '.join(REQUIRED + OPTIONAL)})")
    reader.fieldnames = header
    good, bad = [], []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            bad.append((line, "more values than columns"))
            continue
        try:
            spec = NodeSpec.parse({k: (v or "").strip() for k, v in row.items()})
        except SpecError as err:
            bad.append((line, str(err)))
            continue
        if spec.id in seen:
            bad.append((line, f"node {spec.id} is already on line {seen[spec.id]}"))
            continue
        seen[spec.id] = line
        good.append((line, spec))
    return good, bad


def provision_csv(provisioner: Provisioner, path: Path, *, rotate: bool = False,
                  progress: TextIO | None = sys.stderr) -> BatchResult:
    specs, bad = read_csv(path)
    result = BatchResult(bad=list(bad))
    bar = tqdm(specs, desc="provisioning", unit="node", file=progress,
               disable=progress is None, leave=True)
    for line, spec in bar:
        bar.set_postfix_str(spec.id, refresh=False)
        try:
            result.done.append(provisioner.provision(spec, rotate=rotate))
        except ProvisionError as err:
            result.bad.append((line, f"{spec.id}: {err}"))
    result.bad.sort()
    return result
