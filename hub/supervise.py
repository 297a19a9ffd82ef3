"""Run Mosquitto, a RabbitMQ cluster, InfluxDB 1.x, VictoriaMetrics and PostgreSQL as child
processes on free ports.

The demo supervises the first two when no URL is configured (DESIGN.md §8), and the test
suite and benchmarks start their own the same way, so nothing depends on a system service.
"""

from __future__ import annotations

import getpass
import glob
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

# The hub's persistent session must never lose a reading while the hub is down or InfluxDB
# is slow: Mosquitto's default of 1000 queued messages per client drops silently even at
# QoS 1. 0 means no limit; production sizes it in deploy/mosquitto/roshni.conf.
BROKER_QUEUE_SETTINGS = """\
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 1000
"""


def free_port(exclude: frozenset[int] | set[int] = frozenset()) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in exclude:
            return port


def _binary(name: str, *candidates: str) -> str:
    for c in (*candidates, name):
        found = shutil.which(c) or (c if os.path.isfile(c) else None)
        if found:
            return found
    raise FileNotFoundError(f"{name} is not installed (apt-get install {name})")


def _wait_port(host: str, port: int, deadline: float, proc: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{proc.args[0]} did not open {host}:{port}")


def _kill_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL a service's whole process group and wait until none of it runs: the
    leader's children are not ours to wait for, and until they have died a restart can
    find them (PostgreSQL: "pre-existing shared memory block is still in use")."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(proc.pid):
        time.sleep(0.02)


def _group_alive(pgid: int) -> bool:
    """A process of the group still runs (zombies do not: they hold nothing but a pid)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":  # state, ppid, pgrp, …
            return True
    return False


def _wait_mqtt_accepts(host: str, port: int, deadline: float, svc: Service) -> None:
    """Until an anonymous MQTT 3.1.1 client is accepted (CONNACK "Success")."""
    import paho.mqtt.client as mqtt  # only for brokers that need it; the hub's own dependency

    answer = "no answer"
    while time.monotonic() < deadline:
        if not svc.running:
            raise RuntimeError(f"{svc.name} exited while starting; see {svc.workdir}")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311,
                             client_id=f"roshni-ready-{os.getpid()}")
        connacks: list[str] = []
        client.on_connect = lambda _c, _u, _f, rc, _p, to=connacks: to.append(str(rc))
        try:
            client.connect(host, port, keepalive=10)
            until = time.monotonic() + 5
            while not connacks and time.monotonic() < until:
                client.loop(timeout=0.2)
        except OSError as err:
            connacks.append(str(err))
        finally:
            client.disconnect()
            client.loop(timeout=0.1)  # sends the DISCONNECT and closes the socket
        answer = connacks[0] if connacks else "no answer"
        if answer == "Success":
            return
        time.sleep(1)
    raise TimeoutError(f"{svc.name} did not accept an MQTT client on {host}:{port}: {answer}")


class Service:
    """A child process with a data directory that outlives restarts of the process."""

    name = "service"
    # The signal that asks the child to stop cleanly.
    stop_signal = signal.SIGTERM

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port() if port is None else port
        # A port we picked can be taken by someone else before the child binds it; such a
        # first start is retried on fresh ports. A restart keeps its port (clients need it).
        self._may_repick = port is None
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_options(self) -> dict[str, object]:
        """Extra keyword arguments for the child's Popen (e.g. the user it runs as)."""
        return {}

    def ready(self, deadline: float) -> None:
        assert self.proc is not None
        _wait_port(self.host, self.port, deadline, self.proc)

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            return
        for attempt in range(3):
            self.spawn()
            assert self.proc is not None
            try:
                self.ready(time.monotonic() + timeout)
                break
            except RuntimeError:
                if not (self._may_repick and attempt < 2 and self.proc.poll() is not None):
                    raise
                log.warning("%s could not start on port %d; trying other ports",
                            self.name, self.port)
                self.repick_ports()
        self._may_repick = False
        log.info("%s listening on %s:%d", self.name, self.host, self.port)

    def spawn(self) -> None:
        """Start the child without waiting for it to be ready (see `start`)."""
        self.proc = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, **self.popen_options(),
        )

    def repick_ports(self) -> None:
        self.port = free_port({self.port})

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash the system has to survive."""
        if self.proc and self.running:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc and self.running:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        self._log.close()

    def __enter__(self) -> Service:
        try:
            self.start()
        except BaseException:
            self.close()  # `with` does not call __exit__ when __enter__ raises
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Mosquitto(Service):
    name = "mosquitto"

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        super().__init__(workdir, port)
        self.extra_conf = extra_conf
        self.conf = self.workdir / "mosquitto.conf"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def command(self) -> list[str]:
        (self.workdir / "db").mkdir(exist_ok=True)
        self.conf.write_text(
            f"listener {self.port} {self.host}\n"
            # Started as root, mosquitto would switch to user `mosquitto` and then be unable
            # to write its persistence file into our (private) work directory.
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir / 'db'}/\n"
            "autosave_interval 1\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{BROKER_QUEUE_SETTINGS}{self.extra_conf}"
        )
        return [_binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(self.conf)]


class Epmd(Service):
    """Erlang's port mapper, private to one RabbitMQ cluster (the system one is left alone),
    so the cluster's node names cannot clash with anybody else's."""

    name = "epmd"

    def command(self) -> list[str]:
        return [_binary("epmd", "/usr/bin/epmd", "/usr/lib/erlang/bin/epmd"),
                "-port", str(self.port), "-address", self.host]


class RabbitNode(Service):
    """One node of a `RabbitCluster` (Debian's `rabbitmq-server` with its MQTT plugin): AMQP
    on `port`, MQTT 3.1.1 on `mqtt_port`, anonymous clients allowed (tests and benchmarks)."""

    name = "rabbitmq"

    def __init__(self, workdir: Path, *, nodename: str, peers: list[str], epmd_port: int,
                 home: Path, extra_conf: str = "") -> None:
        super().__init__(workdir)
        self.nodename = nodename
        self.peers = peers
        self.epmd_port = epmd_port
        self.home = home
        self.extra_conf = extra_conf
        self.mqtt_port = free_port({self.port})
        self.dist_port = free_port({self.port, self.mqtt_port})
        self._may_repick = False  # the cluster starts its nodes together, without retries
        self.conf = self.workdir / "rabbitmq.conf"

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.port}/%2F"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{self.host}:{self.mqtt_port}"

    def command(self) -> list[str]:
        peers = "".join(f"cluster_formation.classic_config.nodes.{i} = {name}\n"
                        for i, name in enumerate(self.peers, 1))
        self.conf.write_text(
            f"listeners.tcp.1 = {self.host}:{self.port}\n"
            f"mqtt.listeners.tcp.1 = {self.host}:{self.mqtt_port}\n"
            "mqtt.allow_anonymous = true\n"
            "loopback_users = none\n"
            "cluster_formation.peer_discovery_backend = classic_config\n"
            f"{peers}"
            "log.console = true\nlog.file = false\n"
            f"{self.extra_conf}"
        )
        # Debian's /usr/sbin/rabbitmq-server would switch to the `rabbitmq` user and its
        # /var/lib/rabbitmq; the script under /usr/lib runs as us, with our directories.
        return [_binary("rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")]

    def popen_options(self) -> dict[str, object]:
        d = self.workdir
        return {"env": {
            **os.environ,
            "HOME": str(self.home),  # .erlang.cookie, shared by the cluster
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.conf),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(d / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS": "rabbitmq_mqtt",
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(d / "plugins-expand"),
        }}

    def rabbitmqctl(self) -> Path:
        """A `rabbitmqctl` bound to this node (its cookie, port mapper and name), for
        scripts that take one in $RABBITMQCTL (deploy/rabbitmq/add-node.sh)."""
        script = self.workdir / "rabbitmqctl"
        script.write_text(
            "#!/bin/sh\n"
            f"HOME='{self.home}' ERL_EPMD_PORT={self.epmd_port} exec "
            f"{_binary('rabbitmqctl', '/usr/lib/rabbitmq/bin/rabbitmqctl')} "
            f'-n {self.nodename} "$@"\n')
        script.chmod(0o755)
        return script

    def ready(self, deadline: float) -> None:
        # A node opens its listeners, MQTT's last, only once it has joined the cluster; but
        # it answers "Server unavailable" to every MQTT client until its share of the
        # cluster's client-id registry (a Raft group of its own) has found a leader, which
        # under load took more than a minute after the port opened.
        assert self.proc is not None
        _wait_port(self.host, self.mqtt_port, deadline, self.proc)
        _wait_mqtt_accepts(self.host, self.mqtt_port, deadline, self)

    def kill(self) -> None:
        """SIGKILL the node's whole process group: the shell script, the Erlang VM and its
        helpers (the VM is the script's child, not exec'd)."""
        if self.proc and self.running:
            _kill_group(self.proc)


class RabbitCluster:
    """A RabbitMQ cluster of `size` nodes on 127.0.0.1 (README "A broker that clusters"):
    nodes find each other through their names in every node's config (classic_config) and a
    port mapper of their own. The first starts alone, the others once it accepts MQTT
    clients (`start`); the cluster is ready in ~20-25 s here."""

    def __init__(self, workdir: Path, size: int = 3, extra_conf: str = "") -> None:
        self.workdir = Path(workdir)
        self.epmd = Epmd(self.workdir / "epmd")
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(os.urandom(16).hex())
            cookie.chmod(0o400)
        names = [f"rabbit{i}@localhost" for i in range(1, size + 1)]
        self.nodes = [RabbitNode(self.workdir / f"rabbit{i}", nodename=name, peers=names,
                                 epmd_port=self.epmd.port, home=home, extra_conf=extra_conf)
                      for i, name in enumerate(names, 1)]

    @property
    def amqp_url(self) -> str:
        """Every node's AMQP URL, comma-separated: the hub's `[mqtt] amqp_url`."""
        return ",".join(n.amqp_url for n in self.nodes)

    def start(self, timeout: float = 240.0) -> None:
        self.epmd.start()
        deadline = time.monotonic() + timeout
        # The first member forms the cluster and its MQTT client-id registry, then the
        # others join both. Started all at once, a member now and then never joined the
        # registry (RabbitMQ 3.10: every MQTT client "Server unavailable" for minutes).
        first, *others = self.nodes
        if not first.running:
            first.spawn()
        first.ready(deadline)
        for node in others:
            if not node.running:
                node.spawn()
        for node in others:
            node.ready(deadline)

    def close(self) -> None:
        # Asked together, the nodes stop in parallel; a node stopping alone waits for peers.
        for node in self.nodes:
            if node.proc and node.running:
                os.killpg(node.proc.pid, signal.SIGTERM)
        for node in self.nodes:
            node.close()
        self.epmd.close()

    def __enter__(self) -> RabbitCluster:
        try:
            self.start()
        except BaseException:
            self.close()  # or its members outlive the test run (seen: three Erlang VMs)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Influxd(Service):
    """InfluxDB 1.x (Debian's `influxdb`), HTTP API with /write and /query."""

    name = "influxd"

    def __init__(self, workdir: Path, port: int | None = None, data_conf: str = "") -> None:
        super().__init__(workdir, port)
        self.rpc_port = free_port({self.port})
        self.conf = self.workdir / "influxdb.conf"
        # More `[data]` settings, one per line (bench/city.py: a city's cache sizes).
        self.data_conf = data_conf

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def repick_ports(self) -> None:
        super().repick_ports()
        self.rpc_port = free_port({self.port, self.rpc_port})

    def command(self) -> list[str]:
        d = self.workdir
        data_conf = "".join(f"  {line.strip()}\n" for line in self.data_conf.splitlines()
                            if line.strip())
        self.conf.write_text(
            "reporting-enabled = false\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d / "meta"}"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{d / "data"}"\n  wal-dir = "{d / "wal"}"\n'
            "  query-log-enabled = false\n  index-version = \"tsi1\"\n"
            f"{data_conf}"
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "  max-body-size = 0\n"
            "[continuous_queries]\n  enabled = false\n"
        )
        return [_binary("influxd", "/usr/bin/influxd"), "-config", str(self.conf)]

    def ready(self, deadline: float) -> None:
        super().ready(deadline)
        _wait_http(f"{self.url}/ping", deadline, self)


class VictoriaMetrics(Service):
    """Accepts InfluxDB line protocol on /write and /api/v2/write; read back via export."""

    name = "victoria-metrics"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [
            _binary("victoria-metrics", "/usr/bin/victoria-metrics"),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'vmdata'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-selfScrapeInterval=0",
        ]

    def ready(self, deadline: float) -> None:
        super().ready(deadline)
        _wait_http(f"{self.url}/health", deadline, self)


class Postgres(Service):
    """A throwaway PostgreSQL cluster (Debian's `postgresql`) for tests and benchmarks of the
    state on PostgreSQL (DESIGN.md §8): initdb into a fresh data directory, trust
    authentication, TCP on 127.0.0.1 only (no unix socket). Without fsync: a commit survives
    the server being killed (crash tests), not the machine losing power. Nothing here is fit
    to keep data in."""

    name = "postgres"
    superuser = "roshni"
    # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to leave (a
    # test's pooled connections never do); SIGINT ends their sessions and shuts down cleanly.
    stop_signal = signal.SIGINT

    def __init__(self, workdir: Path, port: int | None = None,
                 settings: dict[str, str] | None = None) -> None:
        """`settings`: server settings over the small defaults for tests (a benchmark
        gives a city's `shared_buffers`)."""
        super().__init__(workdir, port)
        self.settings = {"max_connections": "200", "shared_buffers": "32MB", "fsync": "off",
                         "full_page_writes": "off", **(settings or {})}
        self._owner = _postgres_user()
        if self._owner is None:
            self.datadir = self.workdir / "pgdata"
            self.datadir.mkdir(mode=0o700, exist_ok=True)  # initdb takes an empty one
            self._own_datadir = False
        else:
            # Run as `postgres` (the server refuses root), which cannot enter a private
            # (0700) work directory such as pytest's: the data lives in a directory of its
            # own, removed again by close().
            self.datadir = Path(tempfile.mkdtemp(prefix="roshni-pg-"))
            os.chown(self.datadir, *self._owner)
            self._own_datadir = True

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        self._client("createdb", name)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the sessions still connected to it."""
        self._client("dropdb", "--force", "--if-exists", name)

    def popen_options(self) -> dict[str, object]:
        opts: dict[str, object] = {"cwd": str(self.datadir)}
        if self._owner is not None:
            uid, gid = self._owner
            opts.update(user=uid, group=gid, extra_groups=[])
        return opts

    def command(self) -> list[str]:
        if not (self.datadir / "PG_VERSION").exists():
            self._initdb()
        return [_postgres_bin("postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-c", f"listen_addresses={self.host}", "-c", "unix_socket_directories=",
                *(arg for k, v in self.settings.items() for arg in ("-c", f"{k}={v}"))]

    def _initdb(self) -> None:
        done = subprocess.run(
            [_postgres_bin("initdb"), "-D", str(self.datadir), "-U", self.superuser,
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            timeout=120, **self.popen_options())  # type: ignore[call-overload]
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}); see {self._log.name}")

    def ready(self, deadline: float) -> None:
        super().ready(deadline)
        # The port opens before the server accepts sessions (it is still starting up).
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited while starting; see {self._log.name}")
            probe = subprocess.run([_postgres_bin("pg_isready"), "-q", "-h", self.host,
                                    "-p", str(self.port)], timeout=10)
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not accept connections on port {self.port}")

    def kill(self) -> None:
        """SIGKILL the whole server, backends too: orphaned backends would keep the shared
        memory that a restart needs."""
        if self.proc and self.running:
            _kill_group(self.proc)

    def close(self) -> None:
        super().close()
        if self._own_datadir:
            shutil.rmtree(self.datadir, ignore_errors=True)

    def _client(self, tool: str, *args: str) -> None:
        done = subprocess.run([_postgres_bin(tool), "-h", self.host, "-p", str(self.port),
                               "-U", self.superuser, *args],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {done.stderr.strip()}")


def _postgres_bin(name: str) -> str:
    """A PostgreSQL program. Debian keeps the server's per major version, off the PATH
    (/usr/lib/postgresql/15/bin); the newest installed wins."""
    def major(path: str) -> tuple[int, ...]:
        version = Path(path).parent.name
        return tuple(int(p) for p in version.split(".") if p.isdigit())

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True):
        candidate = os.path.join(bindir, name)
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"PostgreSQL's {name} is not installed "
                            "(apt-get install postgresql)")


def _postgres_user() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("PostgreSQL refuses to run as root and there is no 'postgres' "
                           "user to run it as (apt-get install postgresql creates it)") from None
    return pw.pw_uid, pw.pw_gid


def _wait_http(url: str, deadline: float, svc: Service) -> None:
    while time.monotonic() < deadline:
        if not svc.running:
            raise RuntimeError(f"{svc.name} exited while starting; see {svc.workdir}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 300:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{svc.name} did not answer {url}")


def _roshni() -> list[str]:
    """The `roshni` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("roshni")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "roshni_cli"]


class RoshniProcess(Service):
    """A `roshni …` child process configured through ROSHNI_* environment variables."""

    args: tuple[str, ...] = ()

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.env = {**os.environ, "ROSHNI_DATA_DIR": str(self.workdir / "data"), **env}

    def command(self) -> list[str]:
        return [*_roshni(), *self.args]

    def popen_options(self) -> dict[str, object]:
        return {"env": self.env}

    def start(self, timeout: float = 60.0) -> None:
        super().start(timeout)


class HubProcess(RoshniProcess):
    name = "hub"
    args = ("hub", "run")

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None, *,
                 roles: str | None = None) -> None:
        super().__init__(workdir, env, port)
        self.env["ROSHNI_HTTP__PORT"] = str(self.port)
        self.env.setdefault("ROSHNI_HTTP__HOST", self.host)
        self.roles = roles

    def command(self) -> list[str]:
        roles = ["--role", self.roles] if self.roles else []
        return [*super().command(), *roles]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def repick_ports(self) -> None:
        super().repick_ports()
        self.env["ROSHNI_HTTP__PORT"] = str(self.port)

    def ready(self, deadline: float) -> None:
        _wait_http(f"{self.url}/healthz", deadline, self)


class NodeProcess(RoshniProcess):
    """`roshni node run --simulate SCENARIO`: ready as soon as it runs (it spools offline)."""

    name = "node"

    def __init__(self, workdir: Path, env: dict[str, str], scenario: str = "default",
                 config: Path | None = None) -> None:
        super().__init__(workdir, env, port=0)
        self.scenario = scenario
        self.config = config

    def command(self) -> list[str]:
        config = ["--config", str(self.config)] if self.config else []
        return [*_roshni(), "node", "run", *config, "--simulate", self.scenario]

    def ready(self, deadline: float) -> None:
        time.sleep(0.2)
        if not self.running:
            assert self.proc is not None
            raise RuntimeError(f"node exited with {self.proc.returncode}; see {self.workdir}")
