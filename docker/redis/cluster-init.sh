#!/bin/sh
# One-shot: joins the six nodes of docker/compose.scale.yml into a Redis Cluster of
# three masters, each with one replica. Safe to run again: a node that already reports
# cluster_state:ok means the cluster exists, and it exits 0.
set -eu

nodes="redis-1 redis-2 redis-3 redis-4 redis-5 redis-6"

for n in $nodes; do
  until redis-cli -h "$n" -p 6379 ping >/dev/null 2>&1; do sleep 1; done
done

if redis-cli -h redis-1 -p 6379 cluster info | grep -q '^cluster_state:ok'; then
  echo "cluster already created"
  exit 0
fi

# CLUSTER MEET takes addresses, not names: resolve each service name first. The nodes
# announce their names (cluster-announce-hostname), so clients are redirected by name.
addrs=""
for n in $nodes; do
  addrs="$addrs $(getent hosts "$n" | awk '{ print $1; exit }'):6379"
done

# shellcheck disable=SC2086 # one argument per node
redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes

until redis-cli -h redis-1 -p 6379 cluster info | grep -q '^cluster_state:ok'; do sleep 1; done
echo "cluster ready"
