"""`roshni node …` (DESIGN.md §10).

Hardware and simulation modules are imported inside the command, so `roshni --help`
works on a machine without gpiozero or pyserial.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from node.clock import Clock, RealClock, SimClock
from node.config import NodeSettings
from protocol.loading import ConfigError

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="the lamp-post node agent")
    nsub = p.add_subparsers(dest="node_cmd", required=True, metavar="NODE_COMMAND")
    run = nsub.add_parser(
        "run", help="sample the sensors and publish to the hub",
        description="Run the node agent until SIGTERM or Ctrl-C. Settings come from "
                    "--config and ROSHNI_* environment variables (the environment wins).",
    )
    run.add_argument("--config", type=Path, metavar="node.toml", help="settings file")
    run.add_argument(
        "--simulate", metavar="SCENARIO",
        help="drive simulated sensors instead of GPIO and serial ports (e.g. 'default')",
    )
    run.set_defaults(func=_run)

    test = nsub.add_parser(
        "selftest", help="commissioning checklist: PASS/FAIL per item with the remedy",
        description="Check every configured sensor, the lamp sensor's response (you will be "
                    "asked to cover it), the spool, the clock, the broker over TLS with this "
                    "node's credentials, and a round trip through the hub. Stop the agent "
                    "first (sudo systemctl stop roshni-node). Exit status 0 only when every "
                    "item passes; 2 when the settings cannot be used.")
    test.add_argument("--config", type=Path, metavar="node.toml", help="settings file")
    test.add_argument("--simulate", metavar="SCENARIO",
                      help="test simulated sensors (and a simulated technician) instead")
    test.add_argument("--no-interactive", dest="interactive", action="store_false",
                      help="skip the step that needs someone to cover the lamp sensor")
    test.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                      help="how long to wait for the sensor, the broker and the hub (30)")
    test.set_defaults(func=_selftest)


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"roshni node run: {message}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        settings = NodeSettings.load(args.config)
    except ConfigError as err:
        return _fail(str(err))
    from node.profile import ProfileError, load_profile

    try:
        profile = load_profile(settings.node.profile)
    except ProfileError as err:
        return _fail(str(err))

    clock: Clock = RealClock()
    position = None
    if args.simulate:
        if not settings.sim.is_real_time:
            clock = SimClock(settings.sim.start_epoch(), settings.sim.speed,
                             wall0=settings.sim.start_wall)
        from node.sim import open_simulated_hardware, simulated_position

        lat, lon = position = simulated_position(settings.node.lat, settings.node.lon)

        try:
            hardware = open_simulated_hardware(
                profile, args.simulate, clock=clock, lat=lat, lon=lon
            )
        except (ValueError, LookupError) as err:
            return _fail(f"cannot simulate {args.simulate!r}: {err}")
    else:
        from node.hardware import open_hardware

        try:
            hardware = open_hardware(profile, clock=clock)
        except Exception as err:  # noqa: BLE001 - the CLI boundary: report, don't trace
            log.debug("opening the hardware failed", exc_info=True)
            return _fail(f"cannot open the hardware of profile {profile.name!r}: {err}", 1)

    from node.agent import (
        InvalidReading,
        NoPosition,
        SpoolUnavailable,
        install_stop_signals,
        run_node,
    )
    from node.lock import AgentRunning

    stop = threading.Event()
    install_stop_signals(stop)
    try:
        run_node(
            settings, hardware, clock=clock, profile=profile.name, stop=stop,
            position=position,
        )
    except NoPosition as err:
        return _fail(str(err))
    except (SpoolUnavailable, AgentRunning) as err:
        return _fail(str(err), 1)
    except InvalidReading as err:
        log.error("%s", err)
        return 1
    log.info("stopped")
    return 0


def _selftest(args: argparse.Namespace) -> int:
    from node.selftest import Options, run_selftest

    if args.wait <= 0:
        print("roshni node selftest: --wait must be positive", file=sys.stderr)
        return EXIT_CONFIG
    return run_selftest(Options(config=args.config, simulate=args.simulate,
                                interactive=args.interactive, wait_s=args.wait))
