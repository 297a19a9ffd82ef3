"""`roshni hub run`, `roshni provision`, `roshni user add`, `roshni demo` (DESIGN.md §10)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from protocol.settings import ConfigError

log = logging.getLogger(__name__)


def add_commands(sub: argparse._SubParsersAction) -> None:
    hub = sub.add_parser("hub", help="the hub: ingest, rules, API, dashboard")
    hsub = hub.add_subparsers(dest="hub_cmd", required=True)
    run = hsub.add_parser("run", help="run a hub worker (all roles in one process by default)")
    run.add_argument("--config", type=Path, help="hub.toml (default: environment only)")
    run.add_argument("--role", default="ingest,rules,api,notify",
                     help="comma-separated roles of this worker: ingest, rules, api, notify "
                          "(default: all). Several workers share a city (README: Scaling out)")
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

    from hub.backup import add_commands as add_backup_commands

    add_backup_commands(hsub)  # backup, restore

    certs = hsub.add_parser(
        "make-certs", help="a CA and the broker's TLS certificate (for Mosquitto's listener)",
        description="Create DIR/ca.crt, ca.key, broker.crt and broker.key where missing. The "
                    "CA is never replaced once made (every node trusts it); --renew makes a "
                    "new broker certificate for the given names.")
    certs.add_argument("--dir", type=Path, required=True)
    certs.add_argument("--hostname", action="append", default=[],
                       help="a name nodes connect to (repeatable)")
    certs.add_argument("--ip", action="append", default=[], help="an address (repeatable)")
    certs.add_argument("--days", type=int, default=3650)
    certs.add_argument("--renew", action="store_true")
    certs.set_defaults(func=_make_certs)

    prov = sub.add_parser(
        "provision", help="register a node, make its broker credentials and bundle",
        description="Register a node in the hub's database (areas are created on first "
                    "use), write its MQTT password into Mosquitto's password file and "
                    "reload the broker ([broker] password_file, pid_file), and write its "
                    "bundle (node.toml with the password, the CA certificate, a label with "
                    "a QR code) under [broker] bundle_dir. Running it again for a node "
                    "keeps its password unless --new-password. --csv provisions many "
                    "nodes; --revoke takes a node's credentials away.")
    prov.add_argument("node_id", nargs="?", help="e.g. khi-kor-0042")
    prov.add_argument("--district", help="district id, e.g. korangi")
    prov.add_argument("--area", help="neighbourhood name; created on first use")
    prov.add_argument("--lat", type=float)
    prov.add_argument("--lon", type=float)
    prov.add_argument("--rated-w", type=float, help="the lamp's rated power in watts")
    prov.add_argument("--profile", help="hardware profile name (firmware-config/profiles)")
    prov.add_argument("--pole", help="pole number painted on the lamp post")
    prov.add_argument("--lamp-model", help="the lamp's make and model, e.g. 'Philips BRP131'")
    prov.add_argument("--feeder", help="electricity feeder the lamp is on, e.g. KE-Korangi-12: "
                                       "its lamps going dark together are one power cut")
    prov.add_argument("--csv", type=Path, metavar="FILE.csv",
                      help="provision every node in a CSV file (columns id, district, area, "
                           "lat, lon; optional rated_w, profile, pole, lamp_model, feeder)")
    prov.add_argument("--new-password", action="store_true",
                      help="issue a new broker password even if the node has one")
    prov.add_argument("--revoke", action="store_true",
                      help="remove the node's broker credentials; it can no longer connect")
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
    ulist = usub.add_parser("list", help="every user with role, scope and whether disabled")
    ulist.add_argument("--role", choices=("admin", "technician", "committee", "crew"))
    ulist.add_argument("--config", type=Path)
    ulist.set_defaults(func=_user_list)
    upass = usub.add_parser(
        "passwd", help="set a user's password; their tokens stop working",
        description="The password is read from standard input (--password-stdin) or asked "
                    "for on a terminal, and must pass the same policy as for user add.")
    upass.add_argument("name")
    upass.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    upass.add_argument("--config", type=Path)
    upass.set_defaults(func=_user_passwd)
    for verb, helptext in (("disable", "lock a user out at once: no login, tokens stop "
                                       "working"),
                           ("enable", "let a disabled user log in again")):
        p = usub.add_parser(verb, help=helptext)
        p.add_argument("name")
        p.add_argument("--config", type=Path)
        p.set_defaults(func=_user_disable, disable=verb == "disable")

    demo = sub.add_parser("demo", help="Mosquitto, InfluxDB, the hub and simulated nodes")
    demo.add_argument("--nodes", type=int, default=10, help="simulated posts (default 10)")
    demo.add_argument("--speed", type=float, default=60.0,
                      help="how much faster than real time the demo's night plays (default "
                           "60: a minute is an hour); 1: real time from now")
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

    from hub.app import create_app, parse_roles

    try:
        roles = parse_roles(args.role)
    except ValueError as err:
        print(f"roshni hub run --role: {err}", file=sys.stderr)
        return 2
    settings = _settings(args.config)
    app = create_app(settings, roles)
    # proxy_headers off: uvicorn would trust X-Forwarded-For from 127.0.0.1; the app trusts
    # only [http] trusted_proxies (hub.app).
    uvicorn.run(app, host=settings.http.host, port=settings.http.port, log_level="info",
                access_log=False, proxy_headers=False)
    return 0


def _provision(args: argparse.Namespace) -> int:
    from hub.db import make_engine, migrate
    from hub.provisioning import NodeSpec, Provisioner, ProvisionError, SpecError
    from hub.provisioning.batch import CsvFileError, provision_csv

    def fail(message: str) -> int:
        print(f"roshni provision: {message}", file=sys.stderr)
        return 2

    single = ("district", "area", "lat", "lon", "rated_w", "profile", "pole", "lamp_model",
              "feeder")
    given = [f"--{k.replace('_', '-')}" for k in single if getattr(args, k) is not None]
    if args.csv and (args.node_id or given or args.revoke):
        return fail("--csv provisions the nodes of the file: give no NODE_ID, "
                    f"{', '.join(given) or '--revoke'} with it")
    if not args.csv and not args.node_id:
        return fail("give a NODE_ID, or --csv FILE")
    if args.revoke and (given or args.new_password):
        return fail(f"--revoke takes only the node id (not {', '.join(given) or '--new-password'})")
    spec = None
    if not args.csv and not args.revoke:
        missing = [f"--{k}" for k in ("district", "area", "lat", "lon") if getattr(args, k) is None]
        if missing:
            return fail(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed "
                        "to register a node")
        try:
            spec = NodeSpec.parse({"id": args.node_id, **{k: getattr(args, k) for k in single}})
        except SpecError as err:
            return fail(str(err))
    settings = _settings(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        provisioner = Provisioner(settings, engine)
        if args.csv:
            result = provision_csv(provisioner, args.csv, rotate=args.new_password)
            for line, reason in result.bad:
                print(f"{args.csv}:{line}: {reason}", file=sys.stderr)
            print(f"{args.csv}: {result.summary()}; bundles in {settings.bundle_dir}")
            status = 1 if result.bad else 0
        elif args.revoke:
            out = provisioner.revoke(args.node_id)
            print(f"revoked {out.node_id}" + "".join(f"; {n}" for n in out.notes))
            status = 0
        else:
            assert spec is not None
            out = provisioner.provision(spec, rotate=args.new_password)
            creds = {"new": "new broker credentials", "kept": "broker credentials kept",
                     "none": "no broker credentials"}[out.credentials]
            print(f"provisioned {spec.id} in {spec.district} / {spec.area}: {creds}; bundle "
                  f"{settings.bundle_dir / spec.id} ({', '.join(out.bundle)})")
            for note in out.notes:
                print(f"  note: {note}")
            status = 0
        broker = provisioner.finish()
    except (ProvisionError, CsvFileError) as err:
        return fail(str(err))
    finally:
        engine.dispose()
    if broker is not None:
        print(broker, file=sys.stderr if broker.startswith("credentials") else sys.stdout)
        if broker.startswith("credentials"):
            status = max(status, 1)
    return status


def _make_certs(args: argparse.Namespace) -> int:
    from hub.broker.certs import make_certs

    try:
        paths, written = make_certs(args.dir, args.hostname, args.ip, days=args.days,
                                    renew=args.renew)
    except ValueError as err:
        print(f"roshni hub make-certs: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"roshni hub make-certs: {args.dir}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"{args.dir}: " + (f"wrote {', '.join(written)}" if written else "nothing to do, "
                             "the certificates exist (--renew for a new broker certificate)"))
    print(f"  Mosquitto: cafile {paths.ca_cert}, certfile {paths.cert}, keyfile {paths.key}")
    return 0


def _read_password(args: argparse.Namespace, command: str) -> str | None:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print(f"roshni user {command}: the passwords differ", file=sys.stderr)
            return None
        return password
    print(f"roshni user {command}: give --password-stdin to read the password from "
          "standard input", file=sys.stderr)
    return None


def _user_engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from hub.db import make_engine, migrate

    settings = _settings(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    return make_engine(settings.db_url)


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _user_add(args: argparse.Namespace) -> int:
    from hub import audit
    from hub.auth import UserError, create_user
    from hub.db import writing

    password = _read_password(args, "add")
    if password is None:
        return 2
    engine = _user_engine(args)

    def add():  # type: ignore[no-untyped-def]
        with writing(engine) as conn:  # the hub may be writing meanwhile
            user = create_user(conn, args.name, role=args.role, password=password,
                               district=args.district, areas=args.area,
                               language=args.language)
            audit.record(conn, actor=_cli_actor(), action="user.add",
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


def _user_list(args: argparse.Namespace) -> int:
    from hub.auth import users as user_store

    engine = _user_engine(args)
    try:
        with engine.connect() as conn:
            found, count = user_store.list_users(conn, role=args.role, limit=1_000_000)
    finally:
        engine.dispose()
    for u in found:
        scope = u.district or ", ".join(u.areas) or "everywhere"
        print(f"{u.name:<24} {u.role:<10} {scope:<30} {u.language}"
              f"{'  DISABLED' if u.disabled else ''}")
    print(f"{count} user{'s' if count != 1 else ''}")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    from hub import audit
    from hub.auth import UserError
    from hub.auth import users as user_store
    from hub.db import writing

    password = _read_password(args, "passwd")
    if password is None:
        return 2
    engine = _user_engine(args)
    try:
        with writing(engine) as conn:
            user = user_store.by_name(conn, args.name)
            if user is None:
                raise UserError(f"no user {args.name!r}")
            user_store.set_password(conn, user, password)
            audit.record(conn, actor=_cli_actor(), action="user.passwd",
                         target=f"user:{user.id}")
    except UserError as err:
        print(f"roshni user passwd: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"new password for {args.name}; their earlier logins have ended")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    from hub import audit
    from hub.auth import users as user_store
    from hub.db import writing

    verb = "disable" if args.disable else "enable"
    engine = _user_engine(args)
    try:
        with writing(engine) as conn:
            user = user_store.by_name(conn, args.name)
            if user is not None:
                user_store.set_disabled(conn, user.id, args.disable)
                audit.record(conn, actor=_cli_actor(), action=f"user.{verb}",
                             target=f"user:{user.id}")
    finally:
        engine.dispose()
    if user is None:
        print(f"roshni user {verb}: no user {args.name!r}", file=sys.stderr)
        return 2
    print(f"{verb}d {args.name}" + ("; their tokens no longer work" if args.disable else ""))
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

    if args.speed <= 0:
        print("roshni demo: --speed must be more than 0", file=sys.stderr)
        return 2
    return run_demo(nodes=args.nodes, port=args.port, data_dir=args.data_dir,
                    duration=args.duration, speed=args.speed)
