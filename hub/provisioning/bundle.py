"""A node's bundle: the files a technician copies onto the Pi.

    <bundle_dir>/<node id>/node.toml   settings with the node's own broker password (0600)
                           ca.crt      the broker's CA, so the node can check it is talking to us
                           label.svg   printable label with a QR code of the node id
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from hub.provisioning.label import label_svg
from hub.provisioning.spec import NodeSpec

NODE_CONFIG_DIR = "/etc/roshni"  # where the bundle's files go on the Pi
NODE_DATA_DIR = "/var/lib/roshni"
DEFAULT_PROFILE = "pi-zero-2w"


def _toml(value: object) -> str:
    # JSON strings and numbers are valid TOML basic strings and numbers.
    return json.dumps(value, ensure_ascii=False)


def node_url(base_url: str, node_id: str, password: str) -> str:
    parts = urlsplit(base_url)
    netloc = f"{quote(node_id, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def node_toml(spec: NodeSpec, *, url: str, ca: bool, area_name: str) -> str:
    today = dt.date.today().isoformat()
    lines = [
        f"# Roshni node {spec.id}: {area_name} ({spec.district})"
        + (f", pole {spec.pole}" if spec.pole else ""),
        f"# Made by `roshni provision` on {today}. It holds the node's broker password:",
        f"# on the Pi it goes to {NODE_CONFIG_DIR}/node.toml, readable by the agent only",
        "# (deploy/install-node.sh BUNDLE_DIR puts it there: owner root, group roshni, 0640).",
        "",
        f"data_dir = {_toml(NODE_DATA_DIR)}",
        "",
        "[node]",
        f"id = {_toml(spec.id)}",
        f"profile = {_toml(spec.profile or DEFAULT_PROFILE)}",
        "interval_s = 60",
        f"lat = {spec.lat!r}",
        f"lon = {spec.lon!r}",
        "",
        "[mqtt]",
        f"url = {_toml(url)}",
    ]
    if ca:
        lines.append(f"ca_file = {_toml(NODE_CONFIG_DIR + '/ca.crt')}")
    return "\n".join(lines) + "\n"


def write_bundle(directory: Path, spec: NodeSpec, *, area_name: str,
                 config: str | None, ca_file: Path | None) -> list[str]:
    """Write the bundle's files; `config` None keeps the node.toml already there (the
    node's password is not known any more). Returns the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    written = []
    if config is not None:
        path = directory / "node.toml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config)
        written.append(path.name)
    if ca_file is not None:
        shutil.copyfile(ca_file, directory / "ca.crt")
        written.append("ca.crt")
    (directory / "label.svg").write_text(
        label_svg(spec.id, pole=spec.pole, area=area_name, district=spec.district))
    written.append("label.svg")
    return written


def remove_bundle(directory: Path) -> bool:
    if directory.is_dir():
        shutil.rmtree(directory)
        return True
    return False
