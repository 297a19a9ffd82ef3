"""Register a node, give it broker credentials and a bundle; revoke it again.

Order matters for a re-run after a failure: the registry first (idempotent), then the
password file, then the bundle. Each step can be repeated, so running the same command
again finishes what a failed run left half done. The broker is told once, at the end of a
run (`finish`), not once per node of a batch.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from hub import audit
from hub.broker.accounts import is_hub_account
from hub.broker.passwords import PasswordFile, PasswordFileError, hash_password, new_password
from hub.broker.reload import BrokerReloadError, reload_broker
from hub.config import HubSettings
from hub.core.names import slug
from hub.db import writing
from hub.models import Area
from hub.provisioning.bundle import node_toml, node_url, remove_bundle, write_bundle
from hub.provisioning.spec import NodeSpec
from hub.registry import provision, revoke
from hub.service_area import OutsideServiceArea


class ProvisionError(RuntimeError):
    """A node could not be (fully) provisioned or revoked; the message says what is left."""


@dataclass
class Outcome:
    node_id: str
    registered: bool = False
    credentials: str = "none"  # new | kept | none (no password file configured) | removed
    bundle: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Provisioner:
    def __init__(self, settings: HubSettings, engine: Engine, *, actor: str | None = None
                 ) -> None:
        self.settings = settings
        self.engine = engine
        self.actor = actor or f"cli:{getpass.getuser()}"
        broker = settings.broker
        self.passwords = PasswordFile(broker.password_file) if broker.password_file else None
        if broker.ca_file is not None and not broker.ca_file.is_file():
            raise ProvisionError(f"[broker] ca_file {broker.ca_file} does not exist; make it "
                                 "with `roshni hub make-certs` or fix the path")
        self.changed = False

    def provision(self, spec: NodeSpec, *, rotate: bool = False) -> Outcome:
        self._refuse_hub_account(spec.id)
        try:
            self.settings.service_area.check(spec.lat, spec.lon,
                                             swap_hint="--lat {lat} --lon {lon}")
        except OutsideServiceArea as err:
            raise ProvisionError(str(err)) from None
        out = Outcome(spec.id)
        try:
            provision(self.engine, spec.id, district=spec.district, area=spec.area,
                      lat=spec.lat, lon=spec.lon, rated_w=spec.rated_w, profile=spec.profile,
                      pole=spec.pole, lamp_model=spec.lamp_model, feeder=spec.feeder)
        except ValueError as err:  # unknown district, area of another district
            raise ProvisionError(str(err)) from None
        out.registered = True
        area_name = self._area_name(spec)
        config = None
        if self.passwords is None:
            out.notes.append("no broker credentials made: [broker] password_file is not set")
        else:
            password = None
            try:
                with self.passwords.editing() as entries:
                    if rotate or spec.id not in entries:
                        password = new_password()
                        entries[spec.id] = hash_password(password)
            except PasswordFileError as err:
                raise ProvisionError(f"{spec.id} is registered, but {err}") from None
            if password is None:
                out.credentials = "kept"
                bundle_config = self._bundle_dir(spec.id) / "node.toml"
                out.notes.append(
                    "its broker password is unchanged; the bundle's node.toml is the one "
                    "made before" if bundle_config.exists() else
                    "it has a broker password, but its node.toml is gone: give --new-password "
                    "to issue a new one (the node must then get the new node.toml)")
            else:
                out.credentials = "new"
                self.changed = True
                config = node_toml(spec, url=node_url(self.settings.broker.node_url, spec.id,
                                                      password),
                                   ca=self.settings.broker.ca_file is not None,
                                   area_name=area_name)
        out.bundle = write_bundle(self._bundle_dir(spec.id), spec,
                                  area_name=area_name, config=config,
                                  ca_file=self.settings.broker.ca_file)
        self._audit("node.provision", spec.id, {
            **spec.model_dump(exclude={"id"}, exclude_none=True),
            "credentials": out.credentials})
        return out

    def revoke(self, node_id: str) -> Outcome:
        self._refuse_hub_account(node_id)
        out = Outcome(node_id, credentials="removed")
        try:
            was = revoke(self.engine, node_id)
        except LookupError as err:
            raise ProvisionError(str(err)) from None
        if self.passwords is not None:
            try:
                with self.passwords.editing() as entries:
                    if entries.pop(node_id, None) is not None:
                        self.changed = True
                    else:
                        out.notes.append("it had no entry in the password file")
            except PasswordFileError as err:
                raise ProvisionError(f"{node_id} is marked revoked, but {err}") from None
        else:
            out.credentials = "none"
            out.notes.append("[broker] password_file is not set: remove its credentials from "
                             "the broker by hand")
        if remove_bundle(self._bundle_dir(node_id)):
            out.notes.append("its bundle (with the old password) was deleted")
        self._audit("node.revoke", node_id, {"was": was})
        return out

    def finish(self) -> str | None:
        """Tell the broker if credentials changed; a message for the operator if it failed."""
        if not self.changed:
            return None
        try:
            pid = reload_broker(self.settings.broker.pid_file)
        except BrokerReloadError as err:
            return f"credentials are written, but {err}"
        self.changed = False
        return f"broker (pid {pid}) reloaded its passwords"

    def _refuse_hub_account(self, node_id: str) -> None:
        client_id = self.settings.mqtt.client_id
        if is_hub_account(node_id, client_id):
            raise ProvisionError(
                f"{node_id} is the hub's own broker account, not a node: names {client_id}, "
                f"{client_id}-cmd and {client_id}-<anything> are reserved for the hub's "
                f"connections and workers; give the node another id")

    def _bundle_dir(self, node_id: str) -> Path:
        return self.settings.bundle_dir / node_id

    def _area_name(self, spec: NodeSpec) -> str:
        with self.engine.connect() as conn:
            name = conn.execute(select(Area.name).where(Area.id == slug(spec.area))).scalar()
        return name or spec.area

    def _audit(self, action: str, node_id: str, detail: dict) -> None:
        with writing(self.engine) as conn:
            audit.record(conn, actor=self.actor, action=action, target=f"node:{node_id}",
                         detail=detail)
