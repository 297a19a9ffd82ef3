#!/usr/bin/env bash
# Give a node its own RabbitMQ account that may speak only for itself: the cluster's form of
# Mosquitto's one-line ACL `pattern readwrite roshni/v1/%u/#` (DESIGN.md §4).
#   echo "$PASSWORD" | deploy/rabbitmq/add-node.sh NODE_ID
# Run on any member of the cluster (accounts are cluster-wide); again to change a password.
# The password is read from standard input, never given on a command line.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: echo PASSWORD | $0 NODE_ID" >&2; exit 2; }
node=$1
case "$node" in
  *[!a-z0-9-]* | -* | "") echo "$0: $node is not a node id" >&2; exit 2 ;;
esac
ctl=${RABBITMQCTL:-rabbitmqctl}

IFS= read -r password
users=$("$ctl" -q list_users | cut -f1)
if grep -qx -- "$node" <<<"$users"; then
  printf '%s\n' "$password" | "$ctl" -q change_password "$node"
else
  printf '%s\n' "$password" | "$ctl" -q add_user "$node"
fi
# The MQTT plugin publishes into amq.topic and keeps the node's subscription (its cmd topic)
# in a queue named after its client id, which is the node id.
queue="mqtt-subscription-${node}qos[01]"
"$ctl" -q set_permissions -p / "$node" "^${queue}\$" "^(amq\\.topic|${queue})\$" \
  "^(amq\\.topic|${queue})\$"
# Topics as routing keys ('/' becomes '.'): roshni/v1/<node id>/… only.
"$ctl" -q set_topic_permissions -p / "$node" amq.topic '^roshni\.v1\.{username}\.' \
  '^roshni\.v1\.{username}\.'
