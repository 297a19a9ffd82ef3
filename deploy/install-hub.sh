#!/usr/bin/env bash
# Install a Roshni hub on Debian 12 or Raspberry Pi OS (bookworm), as root, unattended:
# Mosquitto (TLS, password file, ACL), InfluxDB 1.x (database, retention policy, accounts,
# authentication on), the hub in /opt/roshni/venv running as the system user `roshni`, and
# the systemd units. Safe to run again: it keeps /etc/roshni/hub.toml, the certificates
# and every password, and upgrades the hub to the source given.
#
#   deploy/install-hub.sh [--source DIR|WHEEL] [--hostname NAME]… [--ip ADDR]…
#                         [--influx-port PORT] [--influx-rpc-port PORT] [--retention DUR]
#
#   --source      the Roshni to install: a checkout or a wheel (default: the checkout this
#                 script is in)
#   --hostname    the name(s) nodes use to reach the broker, in its certificate and in
#                 each node's bundle (default: `hostname -f`); --ip adds an address
#   --influx-port, --influx-rpc-port
#                 InfluxDB's HTTP and backup ports on 127.0.0.1 (default 8086, 8088;
#                 an existing hub.toml keeps its [influx] url)
#   --retention   how long InfluxDB keeps readings (default 104w; INF keeps them forever)
#
# Where systemd is not running (a chroot, a container) the units are enabled, not started,
# and InfluxDB is started just long enough to be set up.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$here/lib/common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

source_spec=$(dirname "$here")
hostnames=()
ips=()
influx_port=8086
influx_rpc_port=8088
retention=104w
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_spec=${2:?}; shift 2 ;;
    --hostname) hostnames+=("${2:?}"); shift 2 ;;
    --ip) ips+=("${2:?}"); shift 2 ;;
    --influx-port) influx_port=${2:?}; shift 2 ;;
    --influx-rpc-port) influx_rpc_port=${2:?}; shift 2 ;;
    --retention) retention=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "install-hub.sh: unknown argument $1" >&2; usage ;;
  esac
done
require_root
[ -e "$source_spec" ] || die "--source $source_spec does not exist"
source_spec=$(realpath "$source_spec")
if [ ${#hostnames[@]} -eq 0 ]; then
  hostnames=("$(hostname -f 2>/dev/null || hostname)")
fi

HUB_TOML=$ROSHNI_ETC/hub.toml
CERTS=/etc/mosquitto/certs
PASSWD=/etc/mosquitto/roshni.passwd
INFLUX_DEFAULTS=/etc/default/influxdb
INFLUX_ADMIN=$ROSHNI_ETC/influxdb-admin.env
influx_url=http://127.0.0.1:$influx_port
toml() { /usr/bin/python3 "$here/lib/toml.py" "$@"; }

# --- packages, user, the hub itself ---------------------------------------------------
packages=(mosquitto influxdb python3 python3-venv curl openssl ca-certificates)
command -v systemctl >/dev/null || packages+=(systemd)
apt_install "${packages[@]}"
ensure_user
install_venv "$source_spec" hub "$(dirname "$here")/firmware-config"

# --- /etc/roshni/hub.toml: made once, then only read ------------------------------------
if [ -f "$HUB_TOML" ]; then
  say "keeping $HUB_TOML"
else
  say "writing $HUB_TOML"
  tmp=$(mktemp)
  toml set "$here/hub.example.toml" "$tmp" \
    --str "mqtt.url=mqtt://roshni-hub:$(random_secret 24)@127.0.0.1:1883" \
    --str "influx.url=$influx_url" \
    --str influx.username=roshni-hub \
    --str "influx.password=$(random_secret 24)" \
    --raw influx.create_database=false \
    --str "auth.secret_key=$(random_secret 48)" \
    --str broker.password_file=$PASSWD \
    --str broker.pid_file=/run/mosquitto/mosquitto.pid \
    --str "broker.node_url=mqtts://${hostnames[0]}:8883" \
    --str broker.ca_file=$CERTS/ca.crt \
    --str broker.bundle_dir=$ROSHNI_HOME/bundles
  install -m 0640 -o root -g "$ROSHNI_USER" "$tmp" "$HUB_TOML"
  rm -f "$tmp"
fi
chown root:"$ROSHNI_USER" "$HUB_TOML"
chmod 0640 "$HUB_TOML"
"$ROSHNI_VENV/bin/python" - "$HUB_TOML" <<'EOF' || die "$HUB_TOML is not valid"
import sys
from hub.config import HubSettings
from protocol.settings import ConfigError
try:
    HubSettings.load(sys.argv[1])
except ConfigError as err:
    sys.exit(str(err))
EOF
mqtt_password=$(toml get "$HUB_TOML" mqtt.url | sed -n 's|^mqtts\{0,1\}://roshni-hub:\([^@]*\)@.*|\1|p')
configured_url=$(toml get "$HUB_TOML" influx.url) || configured_url=http://127.0.0.1:8086
if [ "$configured_url" != "$influx_url" ]; then
  warn "$HUB_TOML has [influx] url = $configured_url, not $influx_url: set it there"
fi
influx_user=$(toml get "$HUB_TOML" influx.username) || influx_user=
influx_password=$(toml get "$HUB_TOML" influx.password) || influx_password=
install -d -o "$ROSHNI_USER" -g "$ROSHNI_USER" -m 0750 "$ROSHNI_HOME/bundles"
# The database, made (or migrated) by the user the hub runs as, so that it owns the file
# even when an operator's first command is a `roshni provision` run as root.
setpriv --reuid="$ROSHNI_USER" --regid="$ROSHNI_USER" --init-groups \
  env -C "$ROSHNI_HOME" ROSHNI_DATA_DIR="$ROSHNI_HOME" "$ROSHNI_VENV/bin/python" - "$HUB_TOML" <<'EOF'
import sys
from hub.config import HubSettings
from hub.db import migrate
settings = HubSettings.load(sys.argv[1])
settings.data_dir.mkdir(parents=True, exist_ok=True)
migrate(settings.db_url)
EOF

# --- Mosquitto: certificates, configuration, ACL, password file ----------------------------
say "broker certificates in $CERTS"
cert_args=()
for h in "${hostnames[@]}"; do cert_args+=(--hostname "$h"); done
for a in "${ips[@]}"; do cert_args+=(--ip "$a"); done
install -d -m 0755 "$CERTS"
certs_sum() { cat "$CERTS"/*.crt 2>/dev/null | md5sum || true; }
before=$(certs_sum)
"$ROSHNI_VENV/bin/roshni" hub make-certs --dir "$CERTS" "${cert_args[@]}"
# The broker reads its key after dropping to user mosquitto; the CA's key stays root's.
chgrp mosquitto "$CERTS/broker.key"
chmod 0640 "$CERTS/broker.key"
chmod 0600 "$CERTS/ca.key"
chmod 0644 "$CERTS/ca.crt" "$CERTS/broker.crt"
broker_changed=0
[ "$before" = "$(certs_sum)" ] || broker_changed=1

say "broker configuration"
install_file "$here/mosquitto/roshni.conf" /etc/mosquitto/conf.d/roshni.conf 0644 root:root &&
  broker_changed=1
install_file "$here/mosquitto/roshni.acl" /etc/mosquitto/roshni.acl 0644 root:root &&
  broker_changed=1
if [ ! -f "$PASSWD" ]; then
  install -m 0640 -o root -g mosquitto /dev/null "$PASSWD"
  note "created $PASSWD (empty)"
fi
# Node accounts are added by `roshni provision`; the hub's own accounts are made here: the
# broker makes a client's id its account, so each hub connection (the receiver roshni-hub,
# the command sender roshni-hub-cmd) has its own, with the password in mqtt.url.
for account in roshni-hub roshni-hub-cmd; do
  if ! grep -q "^$account:" "$PASSWD"; then
    [ -n "$mqtt_password" ] || die "no roshni-hub password in the mqtt.url of $HUB_TOML"
    printf '%s\n%s\n' "$mqtt_password" "$mqtt_password" |
      mosquitto_passwd "$PASSWD" "$account" >/dev/null
    note "added the hub's broker account $account"
    broker_changed=1
  fi
done
chown root:mosquitto "$PASSWD"
chmod 0640 "$PASSWD"

# --- InfluxDB: loopback only, authentication on, then the database and accounts ------------
say "InfluxDB"
defaults=$(mktemp)
cat >"$defaults" <<EOF
# Written by Roshni's deploy/install-hub.sh, which rewrites it on every run; remove this
# line to keep your own version. Read by influxdb.service (EnvironmentFile).
INFLUXDB_HTTP_AUTH_ENABLED=true
INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:$influx_port
INFLUXDB_BIND_ADDRESS=127.0.0.1:$influx_rpc_port
INFLUXDB_REPORTING_DISABLED=true
EOF
influx_changed=0
if [ ! -f "$INFLUX_DEFAULTS" ] || head -1 "$INFLUX_DEFAULTS" | grep -q "deploy/install-hub.sh"; then
  install_file "$defaults" "$INFLUX_DEFAULTS" 0644 root:root && influx_changed=1
else
  warn "$INFLUX_DEFAULTS is not Roshni's: kept as it is; InfluxDB must listen on $influx_url"
fi
rm -f "$defaults"
if [ ! -f "$INFLUX_ADMIN" ]; then
  (umask 077; printf 'INFLUX_ADMIN_USER=admin\nINFLUX_ADMIN_PASSWORD=%s\n' \
    "$(random_secret 24)" >"$INFLUX_ADMIN")
  note "InfluxDB's admin account is kept in $INFLUX_ADMIN (root only)"
fi
chmod 0600 "$INFLUX_ADMIN"
chown root:root "$INFLUX_ADMIN"

temporary_influxd=
stop_temporary_influxd() {
  if [ -n "$temporary_influxd" ]; then
    kill "$temporary_influxd" 2>/dev/null || true
    wait "$temporary_influxd" 2>/dev/null || true
    temporary_influxd=
  fi
}
trap stop_temporary_influxd EXIT
enable influxdb
if systemd_running; then
  if [ $influx_changed = 1 ]; then systemctl restart influxdb; else systemctl start influxdb; fi
elif ! curl -fsS -o /dev/null "$influx_url/ping" 2>/dev/null; then
  # As influxdb.service would run it, for as long as the setup takes.
  note "starting influxd for the setup only"
  (
    set -a
    # shellcheck source=/dev/null
    . "$INFLUX_DEFAULTS"
    set +a
    exec setpriv --reuid=influxdb --regid=influxdb --init-groups \
      /usr/bin/influxd -config /etc/influxdb/influxdb.conf
  ) >>/var/log/influxdb/roshni-install.log 2>&1 &
  temporary_influxd=$!
fi
if [ -n "$influx_user" ] && [ -n "$influx_password" ]; then
  (
    set -a
    # shellcheck source=/dev/null
    . "$INFLUX_ADMIN"
    set +a
    ROSHNI_INFLUX_PASSWORD=$influx_password "$here/influxdb/setup-v1.sh" --url "$influx_url" \
      --database "$(toml get "$HUB_TOML" influx.database || echo roshni)" \
      --user "$influx_user" --retention "$retention" --wait 60
  )
else
  warn "$HUB_TOML has no [influx] username and password: InfluxDB accounts not set up"
fi
stop_temporary_influxd
activate start influxdb

# --- systemd ----------------------------------------------------------------------------
say "systemd units"
install_unit "$here/systemd/roshni-hub.service" || true
# further workers on this machine, enabled by hand (README: Scaling out)
install_unit "$here/systemd/roshni-hub@.service" || true
enable mosquitto roshni-hub
if [ $broker_changed = 1 ]; then activate restart mosquitto; else activate reload-or-restart mosquitto; fi
activate restart roshni-hub

if systemd_running; then
  port=$(toml get "$HUB_TOML" http.port) || port=8080
  say "waiting for the hub on http://127.0.0.1:$port/healthz"
  for _ in $(seq 60); do
    if health=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null); then
      note "$health"
      break
    fi
    sleep 1
  done
  [ -n "${health:-}" ] || warn "the hub does not answer yet: journalctl -u roshni-hub"
fi
not_started

say "done"
note "settings: $HUB_TOML (mode 0640, group $ROSHNI_USER); state: $ROSHNI_HOME"
note "as root, with --config $HUB_TOML:"
note "  register a node: roshni provision NODE_ID --district D --area A --lat LAT --lon LON"
note "    (its bundle for deploy/install-node.sh goes to $ROSHNI_HOME/bundles/NODE_ID)"
note "  add a person:    roshni user add NAME --role admin --password-stdin"
