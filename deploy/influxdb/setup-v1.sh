#!/usr/bin/env bash
# InfluxDB 1.x for a Roshni hub (DESIGN.md §5): the database, a retention policy made the
# default, an admin account (only when the server has none) and the hub's own account with
# read and write on the database, nothing more. Idempotent: run it again to change the
# retention or a password. Talks to InfluxDB over HTTP /query with curl.
#
#   deploy/influxdb/setup-v1.sh [--url URL] [--database NAME] [--retention DURATION]
#                               [--user NAME] [--wait SECONDS]
#
# Passwords come from the environment, never the command line (where `ps` shows them):
#   ROSHNI_INFLUX_PASSWORD   the hub account's password (required); the hub's hub.toml
#                            [influx] password
#   INFLUX_ADMIN_USER, INFLUX_ADMIN_PASSWORD
#                            an admin account. Created when the server has no admin yet;
#                            needed to change anything once InfluxDB has auth-enabled.
#
# Authentication is InfluxDB's [http] auth-enabled (INFLUXDB_HTTP_AUTH_ENABLED=true);
# deploy/install-hub.sh turns it on. Without it any client may write, whatever the users.
set -euo pipefail

url=http://127.0.0.1:8086
database=roshni
retention=104w
user=roshni-hub
wait_s=30

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'setup-v1.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2:?}; shift 2 ;;
    --database) database=${2:?}; shift 2 ;;
    --retention) retention=${2:?}; shift 2 ;;
    --user) user=${2:?}; shift 2 ;;
    --wait) wait_s=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) printf 'setup-v1.sh: unknown argument %s\n' "$1" >&2; usage ;;
  esac
done

password=${ROSHNI_INFLUX_PASSWORD:-}
admin_user=${INFLUX_ADMIN_USER:-}
admin_password=${INFLUX_ADMIN_PASSWORD:-}
[ -n "$password" ] || die "set ROSHNI_INFLUX_PASSWORD to the hub account's password"
for name in "$database" "$user" ${admin_user:+"$admin_user"}; do
  [[ $name =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "not a usable name: '$name'"
done
[[ $retention =~ ^(INF|[0-9]+[hdw])$ ]] || die "--retention: INF or a number of h, d or w"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"

# An InfluxQL string literal.
quote() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }

# A string in curl's config file syntax.
curl_quote() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

# influxql QUERY [admin]: run one statement and print InfluxDB's JSON answer; on an error
# print it and fail. "admin" sends the admin's credentials. The statement and the
# credentials reach curl on file descriptors, never on its command line.
influxql() {
  local q=$1 cfg body status
  cfg="url = $(curl_quote "$url/query")"
  if [ "${2:-}" = admin ] && [ -n "$admin_user" ]; then
    cfg+=$'\n'"user = $(curl_quote "$admin_user:$admin_password")"
  fi
  body=$(mktemp)
  status=$(curl -sS --config - --output "$body" --write-out '%{http_code}' \
             --data-urlencode "q@/dev/fd/3" <<<"$cfg" 3<<<"$q") || status=000
  if [ "$status" != 200 ] || grep -q '"error"' "$body"; then
    printf 'HTTP %s: %s' "$status" "$(cat "$body")"
    rm -f "$body"
    return 1
  fi
  cat "$body"
  rm -f "$body"
}

echo "==> InfluxDB at $url"
deadline=$((SECONDS + wait_s))
until curl -fsS -o /dev/null "$url/ping" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || die "no answer from $url/ping within ${wait_s}s; is influxd running?"
  sleep 1
done

# Admin: with auth enabled and no admin yet, InfluxDB refuses everything but creating one.
if ! users=$(influxql "SHOW USERS" admin); then
  case "$users" in
    *"create admin user first"*)
      if [ -z "$admin_user" ] || [ -z "$admin_password" ]; then
        die "the server needs an admin account first: set INFLUX_ADMIN_USER and INFLUX_ADMIN_PASSWORD"
      fi
      influxql "CREATE USER \"$admin_user\" WITH PASSWORD $(quote "$admin_password") WITH ALL PRIVILEGES" >/dev/null ||
        die "could not create the admin account"
      echo "    created admin account $admin_user"
      users=$(influxql "SHOW USERS" admin) || die "SHOW USERS failed: $users" ;;
    *) die "SHOW USERS failed (admin credentials wrong?): $users" ;;
  esac
elif [ -n "$admin_user" ] && ! grep -qF "[\"$admin_user\",true]" <<<"$users"; then
  # Authentication is off, so anything passes: still create the admin for when it is on.
  influxql "CREATE USER \"$admin_user\" WITH PASSWORD $(quote "$admin_password") WITH ALL PRIVILEGES" admin >/dev/null ||
    die "could not create the admin account"
  echo "    created admin account $admin_user"
fi

# run STATEMENT: as the admin; on failure say InfluxDB's answer (never the statement, which
# may hold a password).
run() {
  local out w1 w2
  read -r w1 w2 _ <<<"$1"
  out=$(influxql "$1" admin) || die "$w1 $w2 failed: $out"
}

run "CREATE DATABASE \"$database\""
# The hub writes and queries without naming a retention policy: it must be the default.
rps=$(influxql "SHOW RETENTION POLICIES ON \"$database\"" admin) || die "$rps"
if grep -qF '["roshni",' <<<"$rps"; then
  run "ALTER RETENTION POLICY \"roshni\" ON \"$database\" DURATION $retention DEFAULT"
else
  run "CREATE RETENTION POLICY \"roshni\" ON \"$database\" DURATION $retention REPLICATION 1 DEFAULT"
fi
echo "    database $database, default retention policy roshni ($retention)"

# The hub's account: read (the API's charts) and write (ingest) on the database, no admin.
if grep -qF "[\"$user\"," <<<"$users"; then
  run "SET PASSWORD FOR \"$user\" = $(quote "$password")"
else
  run "CREATE USER \"$user\" WITH PASSWORD $(quote "$password")"
fi
run "GRANT ALL ON \"$database\" TO \"$user\""
echo "    account $user may read and write $database"
