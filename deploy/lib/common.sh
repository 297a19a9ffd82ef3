# Shell functions shared by deploy/install-hub.sh and deploy/install-node.sh (sourced).
# Every step checks before it changes anything, so the installers can run again safely.

# shellcheck shell=bash

ROSHNI_USER=roshni
ROSHNI_HOME=/var/lib/roshni
ROSHNI_ETC=/etc/roshni
ROSHNI_OPT=/opt/roshni
ROSHNI_VENV=$ROSHNI_OPT/venv
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 …)"
}

# systemd is PID 1 here (not a chroot, not a container without it).
systemd_running() { [ -d /run/systemd/system ]; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

# apt_install PACKAGE…: install the ones that are missing; `apt-get update` only then.
apt_install() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
}

# The system user the services run as; home is its state directory.
ensure_user() {
  if ! getent passwd "$ROSHNI_USER" >/dev/null; then
    say "creating system user $ROSHNI_USER"
    useradd --system --user-group --home-dir "$ROSHNI_HOME" --no-create-home \
      --shell /usr/sbin/nologin --comment "Roshni street-light monitoring" "$ROSHNI_USER"
  fi
  install -d -o "$ROSHNI_USER" -g "$ROSHNI_USER" -m 0750 "$ROSHNI_HOME"
  install -d -o root -g "$ROSHNI_USER" -m 0750 "$ROSHNI_ETC"
}

# install_file SRC DEST MODE OWNER:GROUP — copy when the content differs; always fix the
# mode and owner. Returns 0 when it copied, 1 when DEST was already the same.
install_file() {
  local src=$1 dest=$2 mode=$3 owner=$4
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"; chown "$owner" "$dest"
    return 1
  fi
  install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
  note "installed $dest"
  return 0
}

# random_secret [BYTES]: URL-safe, no padding (fits in a URL, TOML and InfluxQL unquoted).
random_secret() {
  /usr/bin/python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "${1:-32}"
}

# install_venv SOURCE EXTRA FIRMWARE_CONFIG [--system-site-packages]: the Python package
# and its `roshni` command. SOURCE is a checkout or a wheel; EXTRA "hub" or "node". A
# checkout is copied first (without .git, .venv and data) so that the build leaves nothing
# in it. pip reinstalls a local package on every run, so running again upgrades to what
# SOURCE holds; dependencies that are already there stay.
install_venv() {
  local src=$1 extra=$2 firmware=$3 system_site=${4:-} build=""
  if [ ! -x "$ROSHNI_VENV/bin/python" ]; then
    say "creating $ROSHNI_VENV"
    install -d -m 0755 "$ROSHNI_OPT"
    /usr/bin/python3 -m venv ${system_site:+"$system_site"} "$ROSHNI_VENV"
  elif [ -n "$system_site" ]; then
    sed -i 's/^include-system-site-packages = false$/include-system-site-packages = true/' \
      "$ROSHNI_VENV/pyvenv.cfg"
  fi
  say "installing roshni[$extra] from $src into $ROSHNI_VENV"
  if [ -d "$src" ]; then
    build=$(mktemp -d)
    tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./data --exclude=./build \
      --exclude='*.egg-info' --exclude=__pycache__ --exclude=node_modules -cf - . |
      tar -C "$build" -xf -
    src=$build
  fi
  "$ROSHNI_VENV/bin/pip" install -q --disable-pip-version-check --no-warn-script-location \
    "${src}[$extra]"
  if [ -n "$build" ]; then rm -rf "$build"; fi
  # Hardware profiles: the wheel does not carry firmware-config/ (ROSHNI_FIRMWARE_CONFIG).
  if [ -d "$firmware" ]; then
    rm -rf "$ROSHNI_OPT/firmware-config.new"
    cp -r "$firmware" "$ROSHNI_OPT/firmware-config.new"
    rm -rf "$ROSHNI_OPT/firmware-config"
    mv "$ROSHNI_OPT/firmware-config.new" "$ROSHNI_OPT/firmware-config"
  fi
  # `roshni …` for the operator, with the same profiles as the services.
  local wrapper
  wrapper=$(mktemp)
  cat >"$wrapper" <<WRAPPER
#!/bin/sh
# Installed by Roshni's deploy/install-*.sh.
: "\${ROSHNI_FIRMWARE_CONFIG:=$ROSHNI_OPT/firmware-config}"
: "\${ROSHNI_CONFIG:=/etc/roshni/$extra.toml}"
export ROSHNI_FIRMWARE_CONFIG ROSHNI_CONFIG
exec $ROSHNI_VENV/bin/roshni "\$@"
WRAPPER
  install_file "$wrapper" /usr/local/bin/roshni 0755 root:root || true
  rm -f "$wrapper"
}

# install_unit FILE: into /etc/systemd/system; returns 0 when it changed.
install_unit() {
  install_file "$1" "/etc/systemd/system/${1##*/}" 0644 root:root
}

# enable UNIT…: enabled at boot; works offline too (in a chroot, with systemd not running).
enable() {
  if systemd_running; then systemctl daemon-reload; fi
  systemctl enable --quiet "$@"
}

# activate ACTION UNIT…: where systemd runs, `systemctl ACTION` (start, restart,
# reload-or-restart); elsewhere remember the unit for not_started.
NOT_STARTED=()
activate() {
  local action=$1; shift
  if systemd_running; then
    systemctl "$action" "$@"
  else
    NOT_STARTED+=("$@")
  fi
}

# not_started: after the install, say what is enabled but was not started.
not_started() {
  [ ${#NOT_STARTED[@]} -gt 0 ] || return 0
  say "systemd is not running here (a chroot or a container): enabled, not started:"
  note "${NOT_STARTED[*]}"
  note "They start at the next boot, or now with: systemctl start ${NOT_STARTED[*]}"
}
