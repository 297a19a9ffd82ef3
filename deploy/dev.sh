#!/usr/bin/env bash
# One command to set up a Debian / Raspberry Pi OS machine for Roshni and run it:
#   deploy/dev.sh demo [roshni demo options]   broker, InfluxDB, hub and simulated nodes
#   deploy/dev.sh test [pytest options]        lint and the whole test suite
# Installs what is missing (Debian packages with apt-get, Python packages into .venv) and
# nothing else; the services it needs are started on free ports by the demo and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 demo|test [args…]" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1; shift
case "$what" in demo|test) ;; *) usage ;; esac

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

packages=()
have mosquitto || packages+=(mosquitto)
have influxd || packages+=(influxdb)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
if [ "$what" = test ]; then
  have victoria-metrics || packages+=(victoria-metrics)
  # the clustered broker's test starts three RabbitMQ nodes (its MQTT plugin is included)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || packages+=(rabbitmq-server)
  # deploy tests: install scripts run in a debootstrap chroot, units checked by
  # systemd-analyze (no running systemd needed), scripts by shellcheck, InfluxDB set up
  # over HTTP with curl
  have debootstrap || packages+=(debootstrap)
  have systemd-analyze || packages+=(systemd)
  have shellcheck || packages+=(shellcheck)
  have curl || packages+=(curl)
  # the state tests run against SQLite and a PostgreSQL server they start themselves
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)
  # browser tests: Debian's Chromium, and a font with Urdu's letters for its screenshots
  have chromium || packages+=(chromium)
  [ -e /usr/share/fonts/truetype/noto/NotoNaskhArabicUI-Regular.ttf ] || packages+=(fonts-noto-ui-core)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${packages[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    "${packages[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
# Reinstall only when the dependencies changed.
stamp=.venv/.roshni-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi

case "$what" in
  demo)
    exec .venv/bin/roshni demo "$@"
    ;;
  test)
    echo "==> ruff"
    .venv/bin/ruff check .
    echo "==> pytest"
    # Test modules in parallel (each module's tests on one worker, so they share its
    # services); ROSHNI_TEST_WORKERS=0 runs them one after another.
    workers=${ROSHNI_TEST_WORKERS:-3}
    parallel=()
    [ "$workers" = 0 ] || parallel=(-n "$workers" --dist loadscope)
    exec .venv/bin/pytest -q -p no:cacheprovider "${parallel[@]}" "$@"
    ;;
esac
