"""What a technician gives to register one node, checked in one place for the command
line and for CSV batches."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from protocol.topics import TopicError, check_node_id


class SpecError(ValueError):
    """A node description that cannot be registered; the message says which value and why."""


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    district: str
    area: str = Field(min_length=1, max_length=100)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    rated_w: float | None = Field(default=None, gt=0, le=2000)
    profile: str | None = Field(default=None, max_length=128)
    pole: str | None = Field(default=None, max_length=32)
    lamp_model: str | None = Field(default=None, max_length=64)
    feeder: str | None = Field(default=None, max_length=64)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        try:
            return check_node_id(value)
        except TopicError as err:
            raise ValueError(str(err)) from None

    @field_validator("district")
    @classmethod
    def _district(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a number")
        return value

    @classmethod
    def parse(cls, values: dict[str, Any]) -> NodeSpec:
        """Validate; empty optional values count as not given."""
        cleaned = {k: v for k, v in values.items() if v not in (None, "")}
        try:
            return cls.model_validate(cleaned)
        except ValidationError as err:
            parts = []
            for e in err.errors(include_url=False):
                key = ".".join(str(p) for p in e["loc"]) or "row"
                msg = e["msg"].removeprefix("Value error, ")
                parts.append(f"{key}: {msg}")
            raise SpecError("; ".join(parts)) from None
