#!/usr/bin/env bash
# InfluxDB 2.x for a Roshni hub (DESIGN.md §5, api = "v2"): the organisation, the bucket
# with its retention, a DBRP mapping so that InfluxQL on /query (the hub's charts, Grafana)
# finds the bucket under the database name, and a token for the hub that may read and
# write that bucket only. Idempotent. Uses the `influx` v2 CLI (package influxdb2-cli from
# InfluxData; Debian has none), curl, and python3 to read the CLI's JSON.
#
#   deploy/influxdb/setup-v2.sh [--host URL] [--org ORG] [--bucket NAME]
#                               [--retention DURATION] [--hub-toml FILE]
#
# The CLI's own credentials: INFLUX_TOKEN (an operator or all-access token), or its active
# configuration (`influx config`). A server never set up is set up here (`influx setup`)
# when INFLUX_ADMIN_USER and INFLUX_ADMIN_PASSWORD are given; the CLI then keeps the
# operator token in its configuration (~/.influxdbv2/configs).
#
# The hub's token goes into --hub-toml (default /etc/roshni/hub.toml): [influx] api, url,
# org, bucket and token are set there and the rest of the file is kept. A token already in
# that file that the server still knows is kept.
set -euo pipefail

host=${INFLUX_HOST:-http://127.0.0.1:8086}
org=roshni
bucket=roshni
retention=104w
hub_toml=/etc/roshni/hub.toml
description=roshni-hub
here=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'setup-v2.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=${2:?}; shift 2 ;;
    --org) org=${2:?}; shift 2 ;;
    --bucket) bucket=${2:?}; shift 2 ;;
    --retention) retention=${2:?}; shift 2 ;;
    --hub-toml) hub_toml=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) printf 'setup-v2.sh: unknown argument %s\n' "$1" >&2; usage ;;
  esac
done

command -v influx >/dev/null || die "the influx v2 CLI is not installed (influxdb2-cli)"
influx version 2>/dev/null | grep -q 'Influx CLI 2' ||
  die "'influx' is not the v2 CLI (Debian's influxdb-client is the 1.x one)"
command -v python3 >/dev/null || die "python3 is needed to read the CLI's JSON"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
[ -f "$hub_toml" ] || die "$hub_toml does not exist (give --hub-toml FILE)"
export INFLUX_HOST=$host

# json EXPR [ARG…]: a Python expression over the JSON on stdin (`d`) and the ARGs (`a`).
json() {
  python3 -c 'import json, sys; d = json.load(sys.stdin); a = sys.argv[2:]
v = eval(sys.argv[1]); print("" if v is None else v)' "$@"
}

echo "==> InfluxDB 2 at $host"
influx ping >/dev/null || die "no answer from $host"

if [ "$(curl -fsS "$host/api/v2/setup" | json 'd.get("allowed")')" = True ]; then
  if [ -z "${INFLUX_ADMIN_USER:-}" ] || [ -z "${INFLUX_ADMIN_PASSWORD:-}" ]; then
    die "the server is not set up yet: set INFLUX_ADMIN_USER and INFLUX_ADMIN_PASSWORD"
  fi
  influx setup --force --org "$org" --bucket "$bucket" --retention "$retention" \
    --username "$INFLUX_ADMIN_USER" --password "$INFLUX_ADMIN_PASSWORD" >/dev/null
  echo "    set up the server: admin $INFLUX_ADMIN_USER, organisation $org"
fi

if ! influx org list --name "$org" --json >/dev/null 2>&1; then
  influx org create --name "$org" >/dev/null
  echo "    created organisation $org"
fi

found=$(influx bucket list --org "$org" --name "$bucket" --json 2>/dev/null) || found='[]'
bucket_id=$(json 'd[0]["id"] if d else None' <<<"$found")
if [ -z "$bucket_id" ]; then
  bucket_id=$(influx bucket create --org "$org" --name "$bucket" --retention "$retention" \
                --json | json 'd["id"]')
  echo "    created bucket $bucket ($retention)"
else
  influx bucket update --id "$bucket_id" --retention "$retention" >/dev/null
  echo "    bucket $bucket ($retention)"
fi

# InfluxQL names a database (and retention policy); the hub queries database = bucket name.
found=$(influx v1 dbrp list --org "$org" --bucket-id "$bucket_id" --json 2>/dev/null) ||
  found='[]'
if [ "$(json 'any(m.get("database") == a[0] for m in d or [])' "$bucket" <<<"$found")" != True ]
then
  influx v1 dbrp create --org "$org" --db "$bucket" --rp autogen --bucket-id "$bucket_id" \
    --default >/dev/null
  echo "    mapped InfluxQL database $bucket (retention policy autogen) to the bucket"
fi

# The hub's token: kept when the server still has it, else a new one.
current=$(python3 "$here/../lib/toml.py" get "$hub_toml" influx.token) || current=
known=False
if [ -n "$current" ]; then
  found=$(influx auth list --org "$org" --json) || die "could not list the tokens"
  known=$(json 'any(t.get("token") == a[0] and t.get("status") == "active" for t in d or [])' \
            "$current" <<<"$found")
fi
if [ "$known" = True ]; then
  token=$current
  echo "    the hub's token in $hub_toml is valid"
else
  token=$(influx auth create --org "$org" --description "$description" \
            --read-bucket "$bucket_id" --write-bucket "$bucket_id" --json | json 'd["token"]')
  [ -n "$token" ] || die "influx auth create gave no token"
  echo "    created a token ($description) that may read and write $bucket"
fi

tmp=$(mktemp "$hub_toml.XXXXXX")
trap 'rm -f "$tmp"' EXIT
python3 "$here/../lib/toml.py" set "$hub_toml" "$tmp" --str influx.api=v2 \
  --str influx.url="$host" --str influx.org="$org" --str influx.bucket="$bucket" \
  --str influx.token="$token"
chmod --reference="$hub_toml" "$tmp"
chown --reference="$hub_toml" "$tmp"
mv "$tmp" "$hub_toml"
echo "    $hub_toml: [influx] api = \"v2\", org $org, bucket $bucket and the token"
echo "    restart the hub to use it: systemctl restart roshni-hub"
