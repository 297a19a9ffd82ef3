"""The one place MQTT topics are built and parsed (DESIGN.md §4).

Topic root is ``roshni/v1/<node_id>/``. A node id is also the node's MQTT username,
so the broker's ACL is a single pattern line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "roshni/v1"
NODE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
SHARED_GROUP_DEFAULT = "roshni"


class Kind(StrEnum):
    READING = "reading"
    EVENT = "event"
    STATUS = "status"
    CMD = "cmd"
    CMD_RESULT = "cmd/result"
    # Retained, hub -> node: the node's lighting program (DESIGN.md §11).
    CONFIG = "config"


class TopicError(ValueError):
    """A topic or node id that is not part of the contract."""


def valid_node_id(node_id: object) -> bool:
    return isinstance(node_id, str) and NODE_ID_RE.fullmatch(node_id) is not None


def check_node_id(node_id: str) -> str:
    if not valid_node_id(node_id):
        raise TopicError(
            f"invalid node id {node_id!r}: expected lower-case letters, digits and '-', "
            "3 to 63 characters, starting with a letter or digit"
        )
    return node_id


def topic(node_id: str, kind: Kind) -> str:
    """Topic a message of `kind` for `node_id` is published on. Never a wildcard."""
    return f"{ROOT}/{check_node_id(node_id)}/{kind.value}"


def subscription(kind: Kind, shared_group: str | None = None) -> str:
    """Subscription for `kind` from every node, optionally as a shared subscription so
    several hub workers split the load (DESIGN.md §9)."""
    pattern = f"{ROOT}/+/{kind.value}"
    return f"$share/{shared_group}/{pattern}" if shared_group else pattern


def subscription_all(shared_group: str | None = None) -> str:
    """Everything under the root, so a message on a topic outside the contract is seen
    (and dead-lettered) rather than silently never delivered."""
    pattern = f"{ROOT}/#"
    return f"$share/{shared_group}/{pattern}" if shared_group else pattern


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    node_id: str
    kind: Kind


_KINDS = {k.value: k for k in Kind}


def parse(topic_name: str) -> ParsedTopic:
    """Split a received topic into node id and kind, or raise TopicError."""
    if not topic_name.startswith(ROOT + "/"):
        raise TopicError(f"topic {topic_name!r} is not under {ROOT}/")
    rest = topic_name[len(ROOT) + 1 :]
    node_id, _, kind = rest.partition("/")
    if kind not in _KINDS:
        raise TopicError(f"topic {topic_name!r}: unknown message kind {kind!r}")
    if not valid_node_id(node_id):
        raise TopicError(f"topic {topic_name!r}: invalid node id {node_id!r}")
    return ParsedTopic(node_id, _KINDS[kind])
