#!/usr/bin/env bash
# A throwaway PostgreSQL primary + synchronous streaming standby on loopback, for failover tests
# and benchmarks. Each subcommand is a separate invocation; the state lives in DIR.
#   scripts/postgres-pair.sh start DIR         DIR: an empty directory the caller made (its
#       parents traversable by the server user; DIR itself gets go+x). Starts the primary as
#       scripts/lib/postgres.sh's start_postgres does (TLS, SCRAM, roles cloak_owner and
#       cloak_runtime, database cloak) in DIR/primary, and a standby made by pg_basebackup in
#       DIR/standby, on a port of its own, streaming from the primary over its Unix socket.
#       Replication is synchronous: a commit acknowledged to a client is flushed on the standby
#       too. Returns once the primary sees the standby streaming as `sync`. Writes DIR/env.
#   scripts/postgres-pair.sh kill-primary DIR  SIGKILLs the primary's postmaster; returns once
#       nothing runs in its data dir (its port then refuses connections).
#   scripts/postgres-pair.sh promote DIR       promotes the standby; returns once it is out of
#       recovery (takes writes), and prints how long that took, in ms, on stdout.
#   scripts/postgres-pair.sh stop DIR          stops both (running, killed or promoted) and removes
#       DIR/primary, DIR/standby and DIR/env (DIR stays). Safe twice and after a half-way start.
# DIR/env: lines `export NAME='VALUE'` (a ' inside a value as '\''; nothing secret), to source
# or parse:
#   PAIR_PRIMARY_PORT, PAIR_STANDBY_PORT   TCP ports on 127.0.0.1 (TLS; same certificate)
#   PAIR_PRIMARY_SOCKET, PAIR_STANDBY_SOCKET  Unix socket dirs (trust; 0700, the server user's)
#   PAIR_CA          the CA certificate that signed the servers' (CN=localhost, IP 127.0.0.1)
#   PAIR_PGPASSFILE  pgpass for both ports: cloak_owner, cloak_runtime, postgres (fake passwords)
#   PAIR_URL         postgresql://cloak_owner@127.0.0.1:PRIMARY,127.0.0.1:STANDBY/cloak?target_session_attrs=read-write
#                    (append &sslmode=verify-full&sslrootcert=$PAIR_CA): libpq tries the hosts
#                    in order and keeps the first that takes writes, so after kill-primary +
#                    promote it reaches the promoted standby
#   PAIR_PRIMARY_PID the primary's postmaster PID
#   PAIR_PRIMARY_DATA, PAIR_STANDBY_DATA  data dirs
#   PAIR_BIN         the PostgreSQL bin dir (psql, pg_ctl…)
#   PAIR_SERVER_USER the user both servers run as (cloak-pg when we are root)
# Like start_postgres's cluster, both servers live in sessions of their own and outlive a
# SIGKILLed caller: call `stop` from the caller's cleanup.
set -euo pipefail
# Surprise: Swift Foundation's Process (the tests run this script with it) leaves a descriptor
# of its own open in the child, not close-on-exec, and its waitUntilExit() returns only once
# every holder has closed it; the servers started here would inherit it and hold it for their
# whole life. So the script closes every descriptor above stderr first.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if ((fd > 2 && fd != 255)); then eval "exec $fd>&-"; fi  # (255: bash reading this script)
done
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"

usage() { echo "usage: $0 start|kill-primary|promote|stop DIR" >&2; exit 2; }
die() { echo "$0: $*" >&2; exit 1; }
[ $# -eq 2 ] || usage
command=$1
[ -d "$2" ] || die "$2 is not a directory"
DIR=$(cd "$2" && pwd -P)
# The paths go into postgresql.conf and primary_conninfo, quoted but not escaped.
case $DIR in *[[:space:]\'\"\\]*) die "DIR must not contain spaces, quotes or backslashes: $DIR" ;; esac
primary=$DIR/primary standby=$DIR/standby

# What start_postgres exports, for the lib's helpers in the invocations after `start`.
server_env() {
  CLOAK_TEST_POSTGRES_BIN=$(_pg_bin)
  CLOAK_TEST_POSTGRES_SERVER_USER=$(id -un)
  [ "$(id -u)" -ne 0 ] || CLOAK_TEST_POSTGRES_SERVER_USER=cloak-pg
  export CLOAK_TEST_POSTGRES_BIN CLOAK_TEST_POSTGRES_SERVER_USER
}

# psql as postgres over Unix socket dir $1, port $2, database postgres; SQL on stdin or as
# further arguments. Without the caller's PG* variables, as start_postgres does.
sql() (
  local socket=$1 port=$2
  shift 2
  unset "${!PG@}"
  "$CLOAK_TEST_POSTGRES_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U postgres -d postgres "$@"
)

load_env() {
  [ -f "$DIR/env" ] || die "no pair in $DIR (run start first)"
  # shellcheck source=/dev/null
  . "$DIR/env"
  server_env
}

# export NAME='VALUE', a ' inside as '\''.
env_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_failed() {
  local status=$?
  # (Bash has given stderr back by now, even if start_postgres failed.)
  [ ! -s "$DIR/start.err" ] || cat "$DIR/start.err" >&2
  cmd_stop
  exit "$status"
}

cmd_start() {
  [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
  # On any failure from here on, stop removes whatever was made. start_postgres's own line goes
  # to a file (shown if it fails), so that a start prints one line.
  # Surprise: the servers inherit every open file descriptor of ours (pg_ctl redirects only 0-2),
  # so stderr must not be saved in a spare descriptor here: the postmasters would hold the
  # caller's stderr pipe open, and a caller reading it to the end would wait forever.
  trap start_failed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # The server user (cloak-pg) must reach DIR/primary and DIR/standby.
  chmod go+x "$DIR"

  start_postgres "$primary" 2>"$DIR/start.err"
  rm "$DIR/start.err"
  local bin=$CLOAK_TEST_POSTGRES_BIN user=$CLOAK_TEST_POSTGRES_SERVER_USER
  local pport=$CLOAK_TEST_POSTGRES_PORT psock=$CLOAK_TEST_POSTGRES_SOCKET sport

  # The standby: data/ and socket/ the server user's, 0700; its log too.
  mkdir -m 0711 "$standby"
  (
    cd "$standby"
    umask 077
    mkdir data socket
    : >postgres.log
    [ "$user" = "$(id -un)" ] || chown "$user:" data socket postgres.log
  )
  # Over the primary's socket (local replication trust: no password). -c fast: no spread
  # checkpoint to wait for; -C -S: a physical slot, so that the primary keeps the WAL the standby
  # has not had yet (should it fall behind or reconnect), which -X stream uses right away.
  _pg_quiet _pg_as_server "$bin/pg_basebackup" -h "$psock" -p "$pport" -U postgres \
    -D "$standby/data" -X stream -c fast -C -S standby1

  # Synchronous replication, set only now and with ALTER SYSTEM (postgresql.auto.conf): the base
  # backup copied the primary's config files, and a promoted standby that inherited
  # synchronous_standby_names = '*' would wait forever, in every commit, for a standby of its own.
  # synchronous_commit stays at its default, on: a commit then waits for the standby's flush
  # (on disk there, so it survives the failover; not necessarily replayed yet: a read on the
  # standby right after the commit may miss it, unless synchronous_commit = remote_apply).
  sql "$psock" "$pport" -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c 'SELECT pg_reload_conf()' >/dev/null

  # The copied postgresql.conf has the primary's port and socket dir; the last line wins.
  cat >>"$standby/data/postgresql.conf" <<EOF
# The standby's own (scripts/postgres-pair.sh); the lines above came from the primary.
unix_socket_directories = '$standby/socket'
primary_conninfo = 'host=$psock port=$pport user=postgres application_name=standby1'
primary_slot_name = 'standby1'
EOF
  _pg_as_server touch "$standby/data/standby.signal"
  # As start_postgres does: a port free now may be taken before the server binds it.
  local attempt
  for attempt in 1 2 3; do
    sport=$(free_port)
    echo "port = $sport" >>"$standby/data/postgresql.conf"
    if _pg_as_server "$bin/pg_ctl" -D "$standby/data" -l "$standby/postgres.log" -w -t 60 -s start; then
      break
    elif [ "$attempt" = 3 ]; then
      tail -n 20 "$standby/postgres.log" >&2
      return 1
    fi
  done

  local state=""
  for _ in {1..600}; do
    state=$(sql "$psock" "$pport" -c \
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1' AND state = 'streaming'")
    [ "$state" != sync ] || break
    sleep 0.1
  done
  if [ "$state" != sync ]; then
    tail -n 20 "$standby/postgres.log" >&2
    die "the standby is not streaming synchronously after 60 s (sync_state '$state')"
  fi

  # The same fake passwords for the standby's port, copied from start_postgres's lines.
  local lines
  lines=$(sed "s/^\([^:]*\):$pport:/\1:$sport:/" "$CLOAK_TEST_PGPASSFILE")
  printf '%s\n' "$lines" >>"$CLOAK_TEST_PGPASSFILE"

  local data
  data=$(readlink -f "$primary/data")
  {
    env_line PAIR_PRIMARY_PORT "$pport"
    env_line PAIR_STANDBY_PORT "$sport"
    env_line PAIR_PRIMARY_SOCKET "$psock"
    env_line PAIR_STANDBY_SOCKET "$standby/socket"
    env_line PAIR_CA "$CLOAK_TEST_POSTGRES_CA"
    env_line PAIR_PGPASSFILE "$CLOAK_TEST_PGPASSFILE"
    env_line PAIR_URL "postgresql://cloak_owner@127.0.0.1:$pport,127.0.0.1:$sport/cloak?target_session_attrs=read-write"
    env_line PAIR_PRIMARY_PID "$(head -n 1 "$data/postmaster.pid")"
    env_line PAIR_PRIMARY_DATA "$data"
    env_line PAIR_STANDBY_DATA "$(readlink -f "$standby/data")"
    env_line PAIR_BIN "$bin"
    env_line PAIR_SERVER_USER "$user"
  } >"$DIR/env.tmp"
  mv "$DIR/env.tmp" "$DIR/env"
  trap - EXIT INT TERM
  echo "postgres pair: primary 127.0.0.1:$pport, synchronous standby 127.0.0.1:$sport (TLS), as $user; $DIR/env" >&2
}

cmd_kill_primary() {
  load_env
  # Only the recorded PID, and only if it still runs in the primary's data dir (after a kill it
  # may belong to someone else by now).
  if [ "$(readlink "/proc/$PAIR_PRIMARY_PID/cwd" 2>/dev/null)" = "$PAIR_PRIMARY_DATA" ]; then
    kill -KILL "$PAIR_PRIMARY_PID"
  else
    echo "$0: the primary (PID $PAIR_PRIMARY_PID) was not running" >&2
  fi
  # Its children (backends, the walsender) notice and exit on their own, within milliseconds.
  # The postmaster itself may stay a zombie for ~2 s (PID 1 here reaps late), but it has no cwd
  # and no socket any more: the primary's port refuses connections once this returns.
  for _ in {1..200}; do _pg_running_in "$PAIR_PRIMARY_DATA" || return 0; sleep 0.05; done
  die "processes still run in $PAIR_PRIMARY_DATA 10 s after the kill"
}

cmd_promote() {
  load_env
  # Surprises: `pg_ctl promote -w` polls pg_control every 100 ms (so does pg_promote(true)),
  # which rounds a promotion of 60-130 ms here up to 100-240 ms; and on this 2-core machine,
  # busy, psql alone takes 70-120 ms to start and connect. (Most of the promotion itself is the
  # switch to timeline 2: a new 16 MB WAL segment written and fsynced, ~70 ms between "selected
  # new timeline ID" and "archive recovery complete" in the log.) So both timestamps come from
  # inside one session on the standby, already connected (\! runs date in psql's shell):
  # pg_promote(false) asks for the promotion as `pg_ctl promote` does (a promote file and
  # SIGUSR1 to the postmaster), and the session, which survives the promotion, then polls every
  # 1 ms.
  local times
  times=$(sql "$PAIR_STANDBY_SOCKET" "$PAIR_STANDBY_PORT" <<'SQL'
SET statement_timeout = '60s';
\! date +%s%N
SELECT pg_promote(false) \g /dev/null
DO $$ BEGIN WHILE pg_is_in_recovery() LOOP PERFORM pg_sleep(0.001); END LOOP; END $$;
\! date +%s%N
SQL
  )
  local start end
  { read -r start; read -r end; } <<<"$times"
  [[ $start =~ ^[0-9]+$ && $end =~ ^[0-9]+$ ]] || die "unexpected output from psql: $times"
  echo $(((end - start) / 1000000))
}

cmd_stop() {
  server_env
  # stop_postgres stops the cluster of CLOAK_TEST_POSTGRES_DIR (pg_ctl stop if its postmaster
  # still runs there; after a kill -9, a single-user run that frees the dead one's shared
  # memory), removes that dir, and unsets the variables. The primary first: its walsender then
  # hands the standby the last WAL instead of the standby retrying a vanished primary.
  local side
  for side in "$primary" "$standby"; do
    [ -d "$side" ] || continue
    server_env
    export CLOAK_TEST_POSTGRES_DIR=$side
    stop_postgres
  done
  rm -f "$DIR/env" "$DIR/env.tmp" "$DIR/start.err"
}

case $command in
  start) cmd_start ;;
  kill-primary) cmd_kill_primary ;;
  promote) cmd_promote ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
