#!/bin/sh
# PostgreSQL for Hostplane with automatic failover (ADR 25, docs/deploy.md): a pg_auto_failover
# monitor on one machine, a primary and a synchronous standby on two others. Run as the postgres
# user, on Debian with `apt-get install postgresql-15 postgresql-15-auto-failover`.
#
#   monitor machine:   pg-auto-failover.sh monitor
#   each data node:    MONITOR_HOST=mon.internal pg-auto-failover.sh node      (the first becomes primary)
#   then, once:        pg-auto-failover.sh database                             (on the primary)
#   DATABASE_URL for Hostplane: pg-auto-failover.sh uri                         (on the monitor)
#   the keeper:        pg-auto-failover.sh run     (what the systemd unit runs; `monitor` and `node` print it)
#
# Settings (environment):
#   PGDATA (default /var/lib/postgresql/15/ha), PGPORT (5432)
#   NODE_HOST      this machine's name as the others reach it (default `hostname -f`)
#   NODE_NAME      the node's name in `pg_autoctl show state` (default: pg_autoctl's, node_<id>)
#   LISTEN         PostgreSQL's listen_addresses (default: pg_autoctl's, all addresses)
#   MONITOR_HOST, MONITOR_PORT (5432)
#   AUTH           the pg_hba method of pg_autoctl's own rules (default scram-sha-256)
#   SSL_OPTS       default --ssl-self-signed; use --ssl-ca-file/--server-cert/--server-key with your own CA
#   SSL_MODE       sslmode of the nodes' connection to the monitor (default require)
#   AUTOCTL_NODE_PASSWORD  with a password AUTH: the monitor's autoctl_node password. `monitor` sets it,
#                  `node` connects with it. pg_autoctl sets no password itself.
#   REPLICATION_PASSWORD   with a password AUTH: the standby's replication password (same on every node)
#   HOSTPLANE_PASSWORD     for `database`
#   HOSTPLANE_NETWORK      with `node`: the API and worker machines' network (CIDR); adds their
#                  pg_hba.conf rule for the hostplane role (scram-sha-256; hostssl unless --no-ssl)
#   PG_BINDIR      PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
#   SYSTEMD        yes (default): write the keeper's unit to UNIT_FILE and print how to install it;
#                  no: skip it, whoever runs this starts `pg-auto-failover.sh run` (the test suite does)
#   UNIT_FILE      default ./pgautofailover.service
#
# Nothing here needs root. Each step is idempotent where pg_autoctl is: running `node` again on a
# node that exists only prints the unit again.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/15/ha}
PGPORT=${PGPORT:-5432}
MONITOR_PORT=${MONITOR_PORT:-5432}
AUTH=${AUTH:-scram-sha-256}
SSL_OPTS=${SSL_OPTS:---ssl-self-signed}
SSL_MODE=${SSL_MODE:-require}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
SYSTEMD=${SYSTEMD:-yes}
UNIT_FILE=${UNIT_FILE:-./pgautofailover.service}
export PGDATA PGPORT PATH="$PG_BINDIR:$PATH"

# A password goes into SQL and into a URL: keep to characters that need no quoting in either.
check_password() {
  case "$2" in
    *[!A-Za-z0-9._~-]*) echo "$1: use letters, digits and . _ ~ - only (e.g. openssl rand -hex 24)" >&2; exit 2 ;;
  esac
}

# SQL on this node's stopped PostgreSQL (pg_autoctl create leaves it stopped), before anything listens.
# Single-user mode exits 0 after an error, so errors are looked for in what it printed; the statement
# itself (it may hold a password) is not shown.
single_user() {
  out=$(echo "$2" | postgres --single -D "$PGDATA" -c log_checkpoints=off "$1" 2>&1 >/dev/null) || true
  if echo "$out" | grep -qE 'ERROR|FATAL'; then
    echo "$out" | grep -E 'ERROR|FATAL' >&2
    exit 1
  fi
}

# pg_autoctl writes a systemd unit that runs `pg_autoctl run` for this PGDATA and restarts it.
install_unit() {
  if [ "$SYSTEMD" = no ]; then
    echo "start the keeper: PGDATA=$PGDATA $0 run"
    return
  fi
  pg_autoctl show systemd --pgdata "$PGDATA" > "$UNIT_FILE"
  echo "as root: cp $UNIT_FILE /etc/systemd/system/pgautofailover.service && systemctl daemon-reload && systemctl enable --now pgautofailover"
}

case "${1:-}" in
  monitor)
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      NODE_HOST=${NODE_HOST:-$(hostname -f)}
      # shellcheck disable=SC2086 # SSL_OPTS is a list of options
      pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$NODE_HOST" --auth "$AUTH" \
        $SSL_OPTS ${LISTEN:+--listen "$LISTEN"}
      if [ -n "${AUTOCTL_NODE_PASSWORD:-}" ]; then
        check_password AUTOCTL_NODE_PASSWORD "$AUTOCTL_NODE_PASSWORD"
        # The password the nodes' HBA rule on the monitor asks for.
        single_user pg_auto_failover "alter role autoctl_node password '$AUTOCTL_NODE_PASSWORD'"
      fi
    fi
    # Production keeps pg_auto_failover's detection defaults (a node unhealthy after 20 s without an
    # answer, a lost primary given 30 s to demote itself): shorter ones fail over on a network blip.
    install_unit
    ;;
  node)
    : "${MONITOR_HOST:?set MONITOR_HOST}"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      password=
      if [ -n "${AUTOCTL_NODE_PASSWORD:-}" ]; then
        check_password AUTOCTL_NODE_PASSWORD "$AUTOCTL_NODE_PASSWORD"
        password=":$AUTOCTL_NODE_PASSWORD"
      fi
      # The standby's pg_basebackup logs in as the replication user: it needs the password already.
      if [ -n "${REPLICATION_PASSWORD:-}" ]; then
        check_password REPLICATION_PASSWORD "$REPLICATION_PASSWORD"
        export PGPASSWORD="$REPLICATION_PASSWORD"
      fi
      NODE_HOST=${NODE_HOST:-$(hostname -f)}
      # shellcheck disable=SC2086 # SSL_OPTS is a list of options
      pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$NODE_HOST" --auth "$AUTH" \
        $SSL_OPTS ${LISTEN:+--listen "$LISTEN"} ${NODE_NAME:+--name "$NODE_NAME"} \
        --monitor "postgres://autoctl_node$password@$MONITOR_HOST:$MONITOR_PORT/pg_auto_failover?sslmode=$SSL_MODE"
      unset PGPASSWORD
      if [ -n "${REPLICATION_PASSWORD:-}" ]; then
        # Kept in the node's pg_autoctl config: used whenever this node follows another as standby.
        pg_autoctl config set --pgdata "$PGDATA" replication.password "$REPLICATION_PASSWORD" > /dev/null
        # The first node (no standby.signal: it is not a copy) creates the replication role without a
        # password; the standby's copy then has the password with the role.
        if [ ! -f "$PGDATA/standby.signal" ]; then single_user postgres "alter role pgautofailover_replicator password '$REPLICATION_PASSWORD'"; fi
      fi
    fi
    if [ -n "${HOSTPLANE_NETWORK:-}" ]; then
      # pg_hba.conf is not replicated (the standby's copy has the primary's rule already, hence the grep).
      case "$SSL_OPTS" in *--no-ssl*) hba_type=host ;; *) hba_type=hostssl ;; esac
      rule="$hba_type hostplane hostplane $HOSTPLANE_NETWORK scram-sha-256"
      grep -qxF "$rule" "$PGDATA/pg_hba.conf" || echo "$rule" >> "$PGDATA/pg_hba.conf"
    fi
    # With two data nodes, the standby is synchronous: a write is acknowledged once both have it.
    install_unit
    ;;
  run)
    # The keeper: starts PostgreSQL, reports to the monitor and follows the state it assigns.
    exec pg_autoctl run --pgdata "$PGDATA"
    ;;
  database)
    : "${HOSTPLANE_PASSWORD:?set HOSTPLANE_PASSWORD}"
    check_password HOSTPLANE_PASSWORD "$HOSTPLANE_PASSWORD"
    psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT" -d postgres \
      -c "create role hostplane login password '$HOSTPLANE_PASSWORD'" \
      -c "create database hostplane owner hostplane"
    # The role and the database replicate to the standby; pg_hba.conf does not: `node` with
    # HOSTPLANE_NETWORK allowed the API and worker machines on each data node (pg_autoctl edits only
    # its own entries), or add the rule by hand.
    [ -n "${HOSTPLANE_NETWORK:-}" ] || echo "add to pg_hba.conf on every data node: hostssl hostplane hostplane <api/worker network> scram-sha-256"
    ;;
  uri)
    # The multi-host URL Hostplane's DATABASE_URL takes (add user, password and database name).
    # pg_autoctl asks the monitor over the network, as autoctl_node.
    if [ -n "${AUTOCTL_NODE_PASSWORD:-}" ]; then export PGPASSWORD="$AUTOCTL_NODE_PASSWORD"; fi
    pg_autoctl show uri --pgdata "$PGDATA" --formation default
    ;;
  *)
    echo "usage: $0 monitor|node|run|database|uri" >&2
    exit 2
    ;;
esac
