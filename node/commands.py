"""Commands from the hub (`roshni/v1/<id>/cmd`, DESIGN.md §4): validated here, carried out
one at a time off paho's network thread, answered on `cmd/result`.

A command the node cannot use (not JSON, unknown, bad arguments) is answered `ok: false`
with the reason whenever it has an id to answer to, so the technician who sent it sees why.
A command delivered twice (QoS 1 after a reconnect) is answered again, not done again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from protocol.structs import Invalid, Record, dump
from protocol.wire import Command, command_args, parse

log = logging.getLogger(__name__)

Action = Callable[[Record], dict[str, Any]]
REMEMBERED = 64


class CommandFailed(Exception):
    """An action could not do what was asked; the message goes back to the hub."""


class CommandHandler:
    def __init__(self, actions: dict[str, Action],
                 answer: Callable[[dict[str, Any]], None]) -> None:
        self.actions = actions
        self.answer = answer
        self._queue: queue.Queue[tuple[Command, dict[str, Any]] | None] = queue.Queue()
        self._done: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._done_lock = threading.Lock()  # refusals are answered from paho's thread
        self._thread = threading.Thread(target=self._run, name="roshni-commands", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def receive(self, raw: dict[str, Any]) -> None:
        """From paho's thread: check it, queue it; never block and never raise."""
        try:
            command = parse(Command, raw)
        except Invalid as err:
            command_id = raw.get("id")
            log.warning("refusing command %r: %s", raw, _errors(err))
            if isinstance(command_id, str) and 0 < len(command_id) <= 64:
                self._reply(command_id, False, {"error": f"not a command: {_errors(err)}"})
            return
        self._queue.put((command, raw))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            command, raw = item
            try:
                self._handle(command, raw)
            except Exception:  # noqa: BLE001 - one bad command must not end the others
                log.exception("command %s failed", command.id)
                self._reply(command.id, False, {"error": "the node failed carrying it out"})

    def _handle(self, command: Command, raw: dict[str, Any]) -> None:
        with self._done_lock:
            earlier = self._done.get(command.id)
        if earlier is not None:
            log.info("command %s came again; answering as before", command.id)
            self.answer(earlier)
            return
        try:
            args = command_args(command, raw)
        except Invalid as err:
            self._reply(command.id, False, {"error": f"{command.cmd}: {_errors(err)}"})
            return
        action = self.actions.get(command.cmd)
        if action is None:
            self._reply(command.id, False, {"error": f"this node does not do {command.cmd}"})
            return
        log.info("command %s: %s %s", command.id, command.cmd, dump(args))
        try:
            detail = action(args)
        except CommandFailed as err:
            self._reply(command.id, False, {"error": str(err)})
            return
        self._reply(command.id, bool(detail.pop("ok", True)), detail)

    def _reply(self, command_id: str, ok: bool, detail: dict[str, Any]) -> None:
        result = {"v": 1, "id": command_id, "ok": ok, "detail": detail}
        with self._done_lock:
            self._done[command_id] = result
            while len(self._done) > REMEMBERED:
                self._done.popitem(last=False)
        self.answer(result)


def _errors(err: Invalid) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}"
                     for e in err.errors)
