"""`roshni node selftest`: run the checklist in the order a technician can act on it and
print each item as soon as it is known (a slow network must not look like a hang)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from node.clock import RealClock
from node.config import NodeSettings
from node.hardware import Hardware
from node.lock import AgentLock, AgentRunning
from node.selftest.checks import FAIL, PASS, SKIP, Check, failed, passed, skipped
from node.selftest.hub import BrokerSession, selftest_event
from node.selftest.output import output_switches
from node.selftest.sensors import lamp_responds, sensor_checks
from node.selftest.system import clock_check, open_spool_check, spool_check
from node.selftest.timesync import kernel_clock_synchronised
from node.spool import Spool
from protocol.loading import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass
class Options:
    config: Path | None = None
    simulate: str | None = None  # a scenario: simulated sensors and a simulated technician
    interactive: bool = True  # ask the technician to cover the lamp sensor
    wait_s: float = 30.0  # for the technician, the broker and the hub


class TerminalTechnician:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def ask(self, instruction: str) -> None:
        print(f"\n  >>> {instruction}\n", file=self.out, flush=True)


class Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.checks: list[Check] = []
        self.width = min(100, shutil.get_terminal_size((100, 20)).columns)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        mark = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}[check.status]
        print(f"  {mark}  {check.title:<34} {check.detail}", file=self.out, flush=True)
        if check.remedy:
            for line in textwrap.wrap(check.remedy, self.width - 10):
                print(f"        {line}", file=self.out)
            print(file=self.out, flush=True)
        return check

    def summary(self) -> int:
        counts = {s: sum(c.status == s for c in self.checks) for s in (PASS, FAIL, SKIP)}
        text = f"{counts[PASS]} passed, {counts[FAIL]} failed"
        if counts[SKIP]:
            text += f", {counts[SKIP]} skipped"
        verdict = "NODE IS READY" if not counts[FAIL] else "NOT READY: fix the FAIL items"
        print(f"\n{text} — {verdict}", file=self.out, flush=True)
        return EXIT_FAILED if counts[FAIL] else EXIT_OK


def run_selftest(options: Options, out: TextIO = sys.stdout) -> int:
    report = Report(out)
    try:
        settings = NodeSettings.load(options.config)
    except ConfigError as err:
        report.add(failed("settings", "settings", "cannot be used", str(err)))
        report.summary()
        return EXIT_CONFIG
    from node.profile import ProfileError, load_profile

    print(f"Roshni self-test of node {settings.node.id}", file=out, flush=True)
    try:
        profile = load_profile(settings.node.profile)
    except ProfileError as err:
        report.add(failed("profile", "hardware profile", settings.node.profile, str(err)))
        report.summary()
        return EXIT_CONFIG
    report.add(passed("profile", "hardware profile", f"{profile.name} ({profile.board})"))
    lock = AgentLock(settings.data_dir, settings.node.id)
    try:
        lock.acquire()
    except AgentRunning as err:
        report.add(failed("agent", "node agent is stopped", str(err), "The agent holds the "
                          "sensors: `sudo systemctl stop roshni-node`, run the self-test, then "
                          "`sudo systemctl start roshni-node`."))
        return report.summary()
    try:
        _run_checks(settings, profile, options, report, out)
    finally:
        lock.release()
    return report.summary()


def _run_checks(settings: NodeSettings, profile, options: Options,  # type: ignore[no-untyped-def]
                report: Report, out: TextIO) -> None:
    problem, spool = open_spool_check(settings)
    if problem is not None:
        report.add(problem)
    hardware = _open_hardware(settings, profile, options, report)
    try:
        if spool is not None:
            report.add(spool_check(settings, spool))
        if hardware is not None:
            for check in sensor_checks(hardware, lat=settings.node.lat, lon=settings.node.lon):
                report.add(check)
            if options.interactive:
                technician = (hardware.simulation.technician if hardware.simulation
                              else TerminalTechnician(out))
                report.add(lamp_responds(hardware, technician, wait_s=options.wait_s))
            else:
                report.add(skipped("lamp_responds", "lamp sensor responds",
                                   "not asked for (--no-interactive)"))
            if (output := output_switches(hardware, wait_s=options.wait_s)) is not None:
                report.add(output)
        synchronised = (hardware.simulation.clock_synchronised()
                        if hardware is not None and hardware.simulation
                        else kernel_clock_synchronised())
        _hub_checks(settings, spool, synchronised, options, report)
    finally:
        if hardware is not None:
            hardware.close()
        if spool is not None:
            spool.close()


def _open_hardware(settings: NodeSettings, profile, options: Options,  # type: ignore[no-untyped-def]
                   report: Report) -> Hardware | None:
    try:
        if options.simulate:
            from node.sim import open_simulated_hardware, simulated_position

            lat, lon = simulated_position(settings.node.lat, settings.node.lon)
            return open_simulated_hardware(profile, options.simulate, clock=RealClock(),
                                           lat=lat, lon=lon)
        from node.hardware import open_hardware

        return open_hardware(profile, clock=RealClock())
    except Exception as err:  # noqa: BLE001 - the checklist reports it and goes on
        report.add(failed("hardware", "sensors can be opened", str(err),
                          "Check that SPI and the UART are enabled (firmware-config/README.md) "
                          "and that the user is in the gpio, spi and dialout groups."))
        return None


def _hub_checks(settings: NodeSettings, spool: Spool | None, synchronised: bool | None,
                options: Options, report: Report) -> None:
    session = BrokerSession(settings)
    try:
        broker = report.add(session.connect(options.wait_s))
        if (plain := session.encryption()) is not None:
            report.add(plain)
        offset = None
        if broker.status == PASS and spool is not None:
            preliminary = [*report.checks, clock_check(synchronised, None)]
            event = selftest_event(settings.node.id, spool.next_event_seq(), preliminary)
            check, answer = session.round_trip(event, options.wait_s)
            report.add(check)
            offset = answer.offset_s if answer is not None else None
        elif broker.status == PASS:
            report.add(failed("hub", "hub acknowledges the self-test", "not tried: without a "
                              "spool there is no event number", "Fix the spool first."))
        report.add(clock_check(synchronised, offset))
    finally:
        session.close()


def quick_checks(hardware: Hardware, spool: Spool, settings: NodeSettings) -> list[Check]:
    """What the agent can check by itself when the hub asks (`selftest` command): nobody is
    at the pole, and the agent is connected, so the broker is not in question."""
    checks = sensor_checks(hardware, lat=settings.node.lat, lon=settings.node.lon)
    checks.append(spool_check(settings, spool))
    synchronised = (hardware.simulation.clock_synchronised() if hardware.simulation
                    else kernel_clock_synchronised())
    checks.append(clock_check(synchronised, None))
    return checks
