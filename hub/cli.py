"""`roshni hub run`, `roshni provision`, `roshni user add`, `roshni demo` (DESIGN.md §10)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from protocol.settings import ConfigError
from protocol.topics import TopicError, check_node_id

log = logging.getLogger(__name__)


def add_commands(sub: argparse._SubParsersAction) -> None:
    hub = sub.add_parser("hub", help="the hub: ingest, rules, API, dashboard")
    hsub = hub.add_subparsers(dest="hub_cmd", required=True)
    run = hsub.add_parser("run", help="run ingest + API in one process")
    run.add_argument("--config", type=Path, help="hub.toml (default: environment only)")
    run.set_defaults(func=_run)

    dl = hsub.add_parser("dead-letters", help="show messages the hub refused, newest first")
    dl.add_argument("--config", type=Path)
    dl.add_argument("--reason", help="only this reason, e.g. not_json")
    dl.add_argument("--node", help="only this node id")
    dl.add_argument("--limit", type=int, default=50)
    dl.add_argument("--json", action="store_true", help="one JSON object per line")
    dl.set_defaults(func=_dead_letters)

    inc = hsub.add_parser(
        "import-incidents", help="import incident data (CSV) that weighs the unsafe-spot score",
        description="Import a CSV with columns timestamp (ISO 8601, local time unless it has "
                    "an offset, or epoch seconds), lat, lon, category. Bad rows are reported "
                    "with their line numbers and left out; rows already imported are "
                    "duplicates. Exit status: 0 all rows good, 1 some rows left out, 2 the "
                    "file could not be read.")
    inc.add_argument("file", type=Path, metavar="FILE.csv")
    inc.add_argument("--source", help="where the data comes from (default: the file name)")
    inc.add_argument("--config", type=Path)
    inc.set_defaults(func=_import_incidents)

    prov = sub.add_parser("provision", help="register a node in the hub's database")
    prov.add_argument("node_id")
    prov.add_argument("--district", required=True, help="district id, e.g. korangi")
    prov.add_argument("--area", required=True, help="neighbourhood name; created on first use")
    prov.add_argument("--lat", type=float, required=True)
    prov.add_argument("--lon", type=float, required=True)
    prov.add_argument("--rated-w", type=float, help="the lamp's rated power in watts")
    prov.add_argument("--profile", help="hardware profile name (firmware-config/profiles)")
    prov.add_argument("--pole", help="pole number painted on the lamp post")
    prov.add_argument("--feeder", help="electricity feeder the lamp is on, e.g. KE-Korangi-12: "
                                       "its lamps going dark together are one power cut")
    prov.add_argument("--config", type=Path)
    prov.set_defaults(func=_provision)

    user = sub.add_parser("user", help="people who use the hub's API and dashboard")
    usub = user.add_subparsers(dest="user_cmd", required=True)
    uadd = usub.add_parser(
        "add", help="create a user with a role and scope",
        description="Roles: admin and technician see everything; committee sees its areas "
                    "(--area, repeatable; --district creates areas not yet known); crew "
                    "sees exactly one district (--district). The password is read from "
                    "standard input (--password-stdin) or asked for on a terminal.")
    uadd.add_argument("name")
    uadd.add_argument("--role", required=True, choices=("admin", "technician", "committee",
                                                        "crew"))
    uadd.add_argument("--district", help="district id, e.g. korangi")
    uadd.add_argument("--area", action="append", default=[], help="area name or id")
    uadd.add_argument("--language", default="en", choices=("en", "ur"))
    uadd.add_argument("--password-stdin", action="store_true",
                      help="read the password from the first line of standard input")
    uadd.add_argument("--config", type=Path)
    uadd.set_defaults(func=_user_add)

    demo = sub.add_parser("demo", help="Mosquitto, InfluxDB, the hub and simulated nodes")
    demo.add_argument("--nodes", type=int, default=6, help="simulated nodes (default 6)")
    demo.add_argument("--port", type=int, default=8080, help="dashboard port (default 8080)")
    demo.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    demo.add_argument("--duration", type=float, default=0,
                      help="stop after this many seconds (default: until Ctrl-C)")
    demo.set_defaults(func=_demo)


def _settings(path: Path | None):  # type: ignore[no-untyped-def]
    from hub.config import HubSettings

    try:
        return HubSettings.load(path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        raise SystemExit(2) from None


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app

    settings = _settings(args.config)
    app = create_app(settings)
    uvicorn.run(app, host=settings.http.host, port=settings.http.port, log_level="info",
                access_log=False)
    return 0


def _provision(args: argparse.Namespace) -> int:
    from hub.db import make_engine, migrate
    from hub.registry import provision

    try:
        check_node_id(args.node_id)
    except TopicError as err:
        print(f"roshni provision: {err}", file=sys.stderr)
        return 2
    if not (-90 <= args.lat <= 90 and -180 <= args.lon <= 180):
        print("roshni provision: --lat/--lon are not a place on Earth", file=sys.stderr)
        return 2
    settings = _settings(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        provision(engine, args.node_id, district=args.district, area=args.area, lat=args.lat,
                  lon=args.lon, rated_w=args.rated_w, profile=args.profile, pole=args.pole,
                  feeder=args.feeder)
    except ValueError as err:
        print(f"roshni provision: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"provisioned {args.node_id} in {args.district} / {args.area}")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    import getpass

    from hub import audit
    from hub.auth import UserError, create_user
    from hub.db import make_engine, migrate, writing

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("roshni user add: the passwords differ", file=sys.stderr)
            return 2
    else:
        print("roshni user add: give --password-stdin to read the password from standard "
              "input", file=sys.stderr)
        return 2
    settings = _settings(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)

    def add():  # type: ignore[no-untyped-def]
        with writing(engine) as conn:  # the hub may be writing meanwhile
            user = create_user(conn, args.name, role=args.role, password=password,
                               district=args.district, areas=args.area,
                               language=args.language)
            audit.record(conn, actor=f"cli:{getpass.getuser()}", action="user.add",
                         target=f"user:{user.id}",
                         detail={"name": user.name, "role": user.role,
                                 "district": user.district, "areas": list(user.areas),
                                 "language": user.language})
            return user

    try:
        user = add()
    except UserError as err:
        print(f"roshni user add: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    scope = (f" in {user.district}" if user.district else
             f" for {', '.join(user.areas)}" if user.areas else "")
    print(f"added {user.role} {user.name}{scope}")
    return 0


def _dead_letters(args: argparse.Namespace) -> int:
    import json

    from sqlalchemy import select

    from hub.db import make_engine, migrate
    from hub.models import DeadLetter

    settings = _settings(args.config)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    q = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(args.limit)
    if args.reason:
        q = q.where(DeadLetter.reason == args.reason)
    if args.node:
        q = q.where(DeadLetter.node_id == args.node)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    engine.dispose()
    for r in rows:
        payload = r["payload"].decode("utf-8", errors="replace")
        if args.json:
            print(json.dumps({k: r[k] for k in ("id", "received_at", "topic", "node_id",
                                                "reason", "detail")} | {"payload": payload}))
        else:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["received_at"]))
            print(f"{when}Z  {r['reason']:<20} {r['topic']}\n    {r['detail']}\n"
                  f"    payload: {payload[:200]!r}")
    if not rows and not args.json:
        print("no dead letters")
    return 0


def _import_incidents(args: argparse.Namespace) -> int:
    from hub.db import make_engine, migrate
    from hub.incidents import ImportFileError, import_incidents

    settings = _settings(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        result = import_incidents(engine, args.file, settings.spots, source=args.source)
    except ImportFileError as err:
        print(f"roshni hub import-incidents: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for line, reason in result.bad:
        print(f"{args.file}:{line}: {reason}", file=sys.stderr)
    print(f"{args.file}: {result.summary()}")
    return 1 if result.bad else 0


def _demo(args: argparse.Namespace) -> int:
    from hub.demo import run_demo

    return run_demo(nodes=args.nodes, port=args.port, data_dir=args.data_dir,
                    duration=args.duration)
