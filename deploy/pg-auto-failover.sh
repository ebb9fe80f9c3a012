#!/bin/sh
# PostgreSQL for Hostplane with automatic failover (ADR 25, docs/deploy.md): a pg_auto_failover
# monitor on one machine, a primary and a synchronous standby on two others. Run as the postgres
# user, on Debian with `apt-get install postgresql-15 postgresql-15-auto-failover`.
#
#   monitor machine:   pg-auto-failover.sh monitor
#   each data node:    MONITOR_HOST=mon.internal pg-auto-failover.sh node      (the first becomes primary)
#   then, once:        pg-auto-failover.sh database                             (on the primary)
#   DATABASE_URL for Hostplane: pg-auto-failover.sh uri                         (on the monitor)
#
# Settings (environment): PGDATA (default /var/lib/postgresql/15/ha), PGPORT (5432), NODE_HOST (this
# machine's name as the others reach it, default `hostname -f`), MONITOR_HOST, MONITOR_PORT (5432),
# SSL_OPTS (default --ssl-self-signed; use --ssl-ca-file/--server-cert/--server-key with your own CA),
# HOSTPLANE_PASSWORD (for `database`).
#
# Each step is idempotent where pg_autoctl is: running `node` again on a node that exists only starts it.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/15/ha}
PGPORT=${PGPORT:-5432}
NODE_HOST=${NODE_HOST:-$(hostname -f)}
MONITOR_PORT=${MONITOR_PORT:-5432}
SSL_OPTS=${SSL_OPTS:---ssl-self-signed}
export PGDATA PGPORT PATH="/usr/lib/postgresql/15/bin:$PATH"

# pg_autoctl writes a systemd unit that runs `pg_autoctl run` for this PGDATA and restarts it.
install_unit() {
  pg_autoctl show systemd --pgdata "$PGDATA" > /tmp/pgautofailover.service
  echo "as root: cp /tmp/pgautofailover.service /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now pgautofailover"
}

case "${1:-}" in
  monitor)
    [ -f "$PGDATA/PG_VERSION" ] || pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$PGPORT" \
      --hostname "$NODE_HOST" --auth scram-sha-256 $SSL_OPTS
    # Production keeps pg_auto_failover's detection defaults (a node unhealthy after 20 s without an
    # answer, a lost primary given 30 s to demote itself): shorter ones fail over on a network blip.
    install_unit
    ;;
  node)
    : "${MONITOR_HOST:?set MONITOR_HOST}"
    [ -f "$PGDATA/PG_VERSION" ] || pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$PGPORT" \
      --hostname "$NODE_HOST" --auth scram-sha-256 $SSL_OPTS \
      --monitor "postgres://autoctl_node@$MONITOR_HOST:$MONITOR_PORT/pg_auto_failover?sslmode=require"
    # With two data nodes, the standby is synchronous: a write is acknowledged once both have it.
    install_unit
    ;;
  database)
    : "${HOSTPLANE_PASSWORD:?set HOSTPLANE_PASSWORD}"
    psql -v ON_ERROR_STOP=1 -p "$PGPORT" -d postgres \
      -c "create role hostplane login password '$HOSTPLANE_PASSWORD'" \
      -c "create database hostplane owner hostplane"
    # The role and the database replicate to the standby; pg_hba.conf does not: allow the API and
    # worker machines on every data node (pg_autoctl edits only its own entries).
    echo "add to pg_hba.conf on every data node: hostssl hostplane hostplane <api/worker network> scram-sha-256"
    ;;
  uri)
    # The multi-host URL Hostplane's DATABASE_URL takes (add user, password and database name).
    pg_autoctl show uri --pgdata "$PGDATA" --formation default
    ;;
  *)
    echo "usage: $0 monitor|node|database|uri" >&2
    exit 2
    ;;
esac
