"""One checklist item and its outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # stable key, e.g. "lamp_sensor"; the hub stores the list under these
    title: str  # what was checked, for people
    status: str  # pass | fail | skip
    detail: str  # what was seen
    remedy: str = ""  # what to do about a FAIL

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v != ""}


def passed(name: str, title: str, detail: str) -> Check:
    return Check(name, title, PASS, detail)


def failed(name: str, title: str, detail: str, remedy: str) -> Check:
    return Check(name, title, FAIL, detail, remedy)


def skipped(name: str, title: str, detail: str) -> Check:
    return Check(name, title, SKIP, detail)
