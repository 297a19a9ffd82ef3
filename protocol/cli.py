"""`roshni protocol …`: the contract, printable for other firmware."""

from __future__ import annotations

import argparse
import json

from protocol.payloads import json_schema


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="the MQTT contract (DESIGN.md §4)")
    psub = p.add_subparsers(dest="protocol_cmd", required=True)
    s = psub.add_parser("schema", help="print the JSON Schema of every v1 payload")
    s.set_defaults(func=_schema)


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0
