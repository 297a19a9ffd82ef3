#!/usr/bin/env bash
# Install the Roshni node agent on a Raspberry Pi (Raspberry Pi OS bookworm; plain Debian 12
# works too), as root, unattended: roshni[node] in /opt/roshni/venv (never the hub's
# FastAPI or InfluxDB libraries), the system user `roshni` in the groups gpio, spi and
# dialout only, the node's settings from its bundle, the UART and SPI switched on in the
# firmware's config.txt, and the systemd unit. Safe to run again.
#
#   deploy/install-node.sh --bundle DIR [--source DIR|WHEEL]
#
#   --bundle   what `roshni provision` wrote for this node on the hub (node.toml, ca.crt):
#              installed as /etc/roshni/node.toml and /etc/roshni/ca.crt. Needed the first
#              time; later runs keep the installed one unless a bundle is given.
#   --source   the Roshni to install: a checkout or a wheel (default: the checkout this
#              script is in)
#
# Where systemd is not running (a chroot, an image being built) the unit is enabled, not
# started. A change to config.txt takes effect at the next boot.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$here/lib/common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

source_spec=$(dirname "$here")
bundle=
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=${2:?}; shift 2 ;;
    --source) source_spec=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "install-node.sh: unknown argument $1" >&2; usage ;;
  esac
done
require_root
[ -e "$source_spec" ] || die "--source $source_spec does not exist"
source_spec=$(realpath "$source_spec")
NODE_TOML=$ROSHNI_ETC/node.toml
if [ -n "$bundle" ]; then
  [ -f "$bundle/node.toml" ] || die "$bundle/node.toml is missing: give the directory \`roshni provision\` made for this node"
elif [ ! -f "$NODE_TOML" ]; then
  die "give --bundle DIR (the node's bundle from \`roshni provision\` on the hub)"
fi
NODE_GROUPS=(gpio spi dialout)
CONFIG_TXT=/boot/firmware/config.txt

# --- packages ---------------------------------------------------------------------------
# gpiozero drives the pins through lgpio on Raspberry Pi OS (python3-lgpio; on PyPI only as
# source needing the C library) and hardware SPI through spidev: both come from apt, and
# the venv sees them (--system-site-packages). Plain Debian has no python3-lgpio.
packages=(python3 python3-venv ca-certificates python3-spidev)
if apt-cache show python3-lgpio >/dev/null 2>&1; then packages+=(python3-lgpio); fi
command -v systemctl >/dev/null || packages+=(systemd)
apt_install "${packages[@]}"

# --- the user: only the groups of the sensors -----------------------------------------------
for g in "${NODE_GROUPS[@]}"; do
  if ! getent group "$g" >/dev/null; then
    groupadd --system "$g"
    note "created group $g (Raspberry Pi OS has it; udev gives it the devices)"
  fi
done
ensure_user
usermod --append --groups "$(IFS=,; echo "${NODE_GROUPS[*]}")" "$ROSHNI_USER"

install_venv "$source_spec" node "$(dirname "$here")/firmware-config" --system-site-packages
if "$ROSHNI_VENV/bin/python" -c 'import fastapi' 2>/dev/null; then
  warn "$ROSHNI_VENV also has the hub's packages (a hub on this machine?)"
fi

# --- the node's settings from its bundle ------------------------------------------------------
if [ -n "$bundle" ]; then
  say "settings from $bundle"
  if [ -f "$NODE_TOML" ] && ! cmp -s "$bundle/node.toml" "$NODE_TOML"; then
    cp -p "$NODE_TOML" "$NODE_TOML.old"
    note "replacing $NODE_TOML (the previous one is $NODE_TOML.old)"
  fi
  # It holds the node's broker password: readable by the agent, writable by root only.
  install_file "$bundle/node.toml" "$NODE_TOML" 0640 root:"$ROSHNI_USER" || true
  if [ -f "$bundle/ca.crt" ]; then
    install_file "$bundle/ca.crt" "$ROSHNI_ETC/ca.crt" 0644 root:root || true
  fi
fi
chown root:"$ROSHNI_USER" "$NODE_TOML"
chmod 0640 "$NODE_TOML"
# Checks the settings and prints the config.txt lines the node's profile needs, one a line
# (firmware-config/README.md, "Raspberry Pi OS settings"): the UART and SPI always; the
# PL011 UART on the GPIO pins (ttyAMA0) for a meter there; UART3 (ttyAMA1, Pi 4) for a
# radar there.
firmware_lines=$(ROSHNI_FIRMWARE_CONFIG=$ROSHNI_OPT/firmware-config "$ROSHNI_VENV/bin/python" - "$NODE_TOML" <<'EOF'
import sys
from node.config import NodeSettings
from node.profile import load_profile
from protocol.settings import ConfigError
try:
    settings = NodeSettings.load(sys.argv[1])
    ca = settings.mqtt.ca_file
    if ca is not None and not ca.is_file():
        sys.exit(f"{sys.argv[1]}: mqtt.ca_file {ca} does not exist")
    profile = load_profile(settings.node.profile)
except (ConfigError, ValueError) as err:
    sys.exit(str(err))
end = settings.mqtt.endpoint()
print(f"    node {settings.node.id}, profile {settings.node.profile}, broker "
      f"{end.host}:{end.port}", file=sys.stderr)
ports = {part.port for part in (profile.pzem, profile.radar) if part is not None}
print("enable_uart=1\ndtparam=spi=on")
if "/dev/ttyAMA0" in ports:
    print("dtoverlay=disable-bt")
if "/dev/ttyAMA1" in ports:
    print("dtoverlay=uart3")
EOF
) || die "$NODE_TOML cannot be used"

# --- Raspberry Pi OS: UARTs (energy meter, radar) and SPI (MCP3008), written once ------------
if [ -f "$CONFIG_TXT" ]; then
  wanted=()
  while read -r setting; do
    grep -qx "$setting" "$CONFIG_TXT" || wanted+=("$setting")
  done <<<"$firmware_lines"
  if grep -q '^# Roshni node' "$CONFIG_TXT"; then
    if [ ${#wanted[@]} -gt 0 ]; then
      warn "$CONFIG_TXT has Roshni's settings from an earlier install, but this profile" \
        "also needs: ${wanted[*]} (not edited twice: add them under [all] by hand)"
    else
      note "$CONFIG_TXT: Roshni's settings are there already"
    fi
  elif [ ${#wanted[@]} -gt 0 ]; then
    cp -p "$CONFIG_TXT" "$CONFIG_TXT.roshni-backup"
    {
      echo ""
      echo "# Roshni node (deploy/install-node.sh): the UARTs and SPI its sensors are on"
      echo "[all]"
      printf '%s\n' "${wanted[@]}"
    } >>"$CONFIG_TXT"
    note "$CONFIG_TXT: added ${wanted[*]} (the old file is $CONFIG_TXT.roshni-backup); reboot to apply"
  fi
  cmdline=/boot/firmware/cmdline.txt
  if [ -f "$cmdline" ] && grep -Eq 'console=(serial0|ttyAMA0|ttyS0)' "$cmdline"; then
    warn "the kernel's console is on the UART ($cmdline): turn it off (raspi-config →" \
      "Interface Options → Serial Port: login shell No, hardware Yes), or it talks over the meter"
  fi
else
  note "no $CONFIG_TXT (not Raspberry Pi OS): firmware settings left alone"
fi

# --- systemd ----------------------------------------------------------------------------------
say "systemd unit"
install_unit "$here/systemd/roshni-node.service" || true
enable roshni-node
# Restarted even when nothing changed: the code was reinstalled. A clean stop hands the
# spooled readings over first; the spool keeps the rest.
activate restart roshni-node
not_started

say "done"
note "settings: $NODE_TOML; spool: $ROSHNI_HOME; logs: journalctl -u roshni-node"
note "commission it: sudo -u $ROSHNI_USER roshni node selftest --config $NODE_TOML"
