"""Mosquitto running the production configuration of deploy/mosquitto/, on free ports.

The files are used as they ship; only what must differ on a test machine is rewritten:
/etc/mosquitto/ becomes a temporary directory, and the listeners' ports become free ports
on 127.0.0.1. Authentication, the ACL, TLS, persistence and the queue settings are the
real ones, so a test that passes here passes against the deployed broker.
"""

from __future__ import annotations

import getpass
import re
import shutil
from pathlib import Path

from hub.broker.certs import make_certs
from hub.broker.passwords import PasswordFile, hash_password
from hub.supervise import Mosquitto, _binary, free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
HUB_USER = "roshni-hub"
HUB_PASSWORD = "hub-password-for-tests"
HUB_ACCOUNTS = (HUB_USER, f"{HUB_USER}-cmd")


class DeployedBroker(Mosquitto):
    name = "mosquitto"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.tls_port = free_port({self.port})
        self.etc = self.workdir / "etc"
        self.etc.mkdir(exist_ok=True)
        shutil.copy(DEPLOY / "roshni.acl", self.etc / "roshni.acl")
        self.certs, _ = make_certs(self.etc / "certs", ["localhost"], ["127.0.0.1"])
        self.passwd = PasswordFile(self.etc / "roshni.passwd")
        with self.passwd.editing() as entries:
            # One account per hub connection: the receiver and the command sender.
            for account in HUB_ACCOUNTS:
                entries[account] = hash_password(HUB_PASSWORD)
        self.pid_file = self.workdir / "mosquitto.pid"

    def repick_ports(self) -> None:
        super().repick_ports()
        self.tls_port = free_port({self.port, self.tls_port})

    @property
    def hub_url(self) -> str:
        """The hub's own connection: plain MQTT on loopback, as deployed."""
        return f"mqtt://{HUB_USER}:{HUB_PASSWORD}@{self.host}:{self.port}"

    @property
    def node_url(self) -> str:
        return f"mqtts://localhost:{self.tls_port}"

    def command(self) -> list[str]:
        (self.workdir / "db").mkdir(exist_ok=True)
        conf = (DEPLOY / "roshni.conf").read_text()
        conf = conf.replace("/etc/mosquitto/", f"{self.etc}/")
        conf, n_tls = re.subn(r"^listener 8883$", f"listener {self.tls_port} {self.host}",
                              conf, flags=re.M)
        conf, n_plain = re.subn(r"^listener 1883 127\.0\.0\.1$",
                                f"listener {self.port} {self.host}", conf, flags=re.M)
        assert n_tls == 1 and n_plain == 1, "deploy/mosquitto/roshni.conf's listeners changed"
        # What Debian's /etc/mosquitto/mosquitto.conf sets around the included file.
        main = (f"pid_file {self.pid_file}\n"
                f"persistence_location {self.workdir / 'db'}/\n"
                f"user {getpass.getuser()}\n"
                "log_dest stdout\nlog_type error\nlog_type warning\nlog_type notice\n"
                "log_type information\n")
        self.conf.write_text(main + conf)
        return [_binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(self.conf)]
