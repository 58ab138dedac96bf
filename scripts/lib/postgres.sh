# shellcheck shell=bash
# Sourced by the scripts that need a throwaway PostgreSQL (see scripts/with-postgres.sh).
#   start_postgres [DIR]
#                   initdb + start a cluster in a fresh temp dir, on 127.0.0.1 (TLS) and a Unix
#                   socket only; creates roles cloak_owner, cloak_runtime and database cloak.
#                   With DIR (absolute, not existing yet, its parents traversable by the server
#                   user) it uses that instead of the temp dir (scripts/postgres-pair.sh does)
#   stop_postgres   stops that cluster (by its data dir) and removes the temp dir; safe to call
#                   twice, after a half-way start, and when a test already killed the server
# Call start_postgres as a plain statement under `set -e` (inside `if` or `||` bash ignores
# errexit, so a failed step would go unnoticed) and stop_postgres from the EXIT trap.
# start_postgres exports (nothing secret; the passwords are fake fixtures kept in the pgpass file):
#   CLOAK_TEST_POSTGRES              postgresql://cloak_owner@127.0.0.1:PORT/cloak (never a password)
#   CLOAK_TEST_POSTGRES_PORT         TCP port on 127.0.0.1
#   CLOAK_TEST_POSTGRES_SOCKET       Unix socket directory (trust auth; the dir is 0700)
#   CLOAK_TEST_POSTGRES_CA           CA certificate that signed the server's (CN=localhost, IP 127.0.0.1)
#   CLOAK_TEST_PGPASSFILE            pgpass with cloak_owner, cloak_runtime, postgres; pass it as
#                                    PGPASSFILE to the clients that need it (it is not exported as such)
#   CLOAK_TEST_POSTGRES_DIR          the temp dir or DIR (data/, socket/, postgres.log, certificates)
#   CLOAK_TEST_POSTGRES_BIN          the PostgreSQL bin dir (initdb, pg_ctl, psql, pg_basebackup…)
#   CLOAK_TEST_POSTGRES_SERVER_USER  the user the server runs as (cloak-pg when we are root)
# One cluster per shell: stop_postgres before starting another.
# For tests that kill the server: pg_ctl starts the postmaster in a session of its own, so
# Ctrl-C and kills of our process group never reach it; only stop_postgres (or pg_ctl) stops
# it, and if the caller is SIGKILLed the cluster outlives it. To restart it after a kill -9,
# wait until its PID is gone (kill -0) first: PID 1 here reaps orphans only every ~2 s, and
# PostgreSQL takes the zombie for a live postmaster ("lock file already exists").

_pg_bin() { printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root, so root runs it as cloak-pg. `cd /`: that user may not be
# allowed into the caller's working directory, and initdb/pg_ctl complain about it. The
# caller's PG* variables (PGOPTIONS, PGPORT…) are meant for the tests, not for the server.
_pg_as_server() (
  unset "${!PG@}"
  cd /
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$CLOAK_TEST_POSTGRES_SERVER_USER" -- "$@"
  else
    "$@"
  fi
)

# Runs a chatty command; shows its output only if it fails.
_pg_quiet() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

# DIR is optional: most callers pass none.
# shellcheck disable=SC2120
start_postgres() {
  local bin dir user port
  bin=$(_pg_bin)
  if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/psql" ] || ! command -v openssl >/dev/null; then
    # Debian's package also creates a system cluster "main" for port 5432, and starts it where
    # services may start (a policy-rc.d forbids that in this container). We never touch it.
    apt-get update -qq >/dev/null 2>&1 || true  # a fresh machine's package lists may be empty
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql openssl >/dev/null
    bin=$(_pg_bin)
  fi
  user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    user=cloak-pg
    # A parallel run may create it between the check and useradd; that is fine too.
    id -u "$user" >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null ||
      id -u "$user" >/dev/null
  fi

  # Exported first, so that stop_postgres can clean up whatever a failed start leaves behind.
  # 0711: the server user must reach data/ and socket/; ca.key and pgpass stay 0600 to us.
  # A DIR that exists already is not ours: mkdir fails before we export it.
  if [ $# -gt 0 ]; then
    mkdir "$1"
    dir=$1
  else
    dir=$(mktemp -d)
  fi
  chmod 0711 "$dir"
  export CLOAK_TEST_POSTGRES_DIR=$dir CLOAK_TEST_POSTGRES_BIN=$bin CLOAK_TEST_POSTGRES_SERVER_USER=$user

  (
    cd "$dir" || exit
    umask 077
    # The socket dir is 0700: "local trust" then only admits the server user and root.
    mkdir data socket
    printf 'fake-pg-superuser-password\n' >superuser-password
    : >postgres.log
    # Throwaway CA and a server certificate for localhost and 127.0.0.1, valid 2 days.
    _pg_quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
    _pg_quiet openssl req -x509 -key ca.key -days 2 -subj '/CN=Cloakroom throwaway test CA' \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ca.crt
    _pg_quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
    _pg_quiet openssl req -new -key server.key -subj /CN=localhost -out server.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    _pg_quiet openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -days 2 \
      -set_serial "0x$(openssl rand -hex 16)" -extfile server.ext -out server.crt
    rm server.csr server.ext
    chmod 0644 ca.crt server.crt
    [ "$user" = "$(id -un)" ] || chown "$user:" data socket superuser-password postgres.log server.key
  )

  _pg_quiet _pg_as_server "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/superuser-password" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C
  rm "$dir/superuser-password"
  # Settings live in postgresql.conf rather than on the pg_ctl command line, so that a test that
  # kills the server can bring the same cluster back with a bare `pg_ctl -D … start`.
  # fsync stays on (the default). wal_level/max_wal_senders are the defaults since PG 10;
  # spelled out for the standby tests.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
max_connections = 200
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
wal_level = replica
max_wal_senders = 10
EOF
  cat >"$dir/data/pg_hba.conf" <<'EOF'
local all         all               trust
local replication all               trust
host  all         all  127.0.0.1/32 scram-sha-256
host  replication all  127.0.0.1/32 scram-sha-256
EOF

  # A port free now may be taken before the server binds it: try a few. Each attempt appends
  # its port; the last `port =` line wins.
  local attempt
  for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "port = $port" >>"$dir/data/postgresql.conf"
    if _pg_as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -s start; then
      break
    elif [ "$attempt" = 3 ]; then
      tail -n 20 "$dir/postgres.log" >&2
      return 1
    fi
  done

  # (unset: as above, a PGOPTIONS or PGTARGETSESSIONATTRS could break this connection.)
  (
    unset "${!PG@}"
    _pg_quiet "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$port" -U postgres -d postgres
  ) <<'SQL'
CREATE ROLE cloak_owner LOGIN PASSWORD 'fake-pg-owner-password';
CREATE ROLE cloak_runtime LOGIN PASSWORD 'fake-pg-runtime-password';
-- The owner of the database may create schemas in it.
CREATE DATABASE cloak OWNER cloak_owner;
\connect cloak
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

  (
    umask 077
    for host in 127.0.0.1 localhost; do
      echo "$host:$port:*:cloak_owner:fake-pg-owner-password"
      echo "$host:$port:*:cloak_runtime:fake-pg-runtime-password"
      echo "$host:$port:*:postgres:fake-pg-superuser-password"
    done >"$dir/pgpass"
  )

  export CLOAK_TEST_POSTGRES_PORT=$port CLOAK_TEST_POSTGRES_SOCKET=$dir/socket \
    CLOAK_TEST_POSTGRES_CA=$dir/ca.crt CLOAK_TEST_PGPASSFILE=$dir/pgpass \
    CLOAK_TEST_POSTGRES="postgresql://cloak_owner@127.0.0.1:$port/cloak"
  echo "postgres: 127.0.0.1:$port (TLS) and socket dir $dir/socket, running as $user" >&2
}

# True while a process runs in data dir $1: a postmaster and all its children chdir there.
# (Zombies have no cwd, so a dead server that is not reaped yet does not count.)
_pg_running_in() {
  [ -n "$(find /proc/[0-9]*/cwd -maxdepth 0 -lname "$1" -print -quit 2>/dev/null)" ]
}

stop_postgres() {
  local dir=${CLOAK_TEST_POSTGRES_DIR:-} data pid
  [ -n "$dir" ] || return 0
  data=$(readlink -f "$dir/data" || true)
  # Only signal the PID in postmaster.pid if it still runs in our data dir: after a kill -9
  # that PID may belong to someone else by now.
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]; then
    _pg_as_server "$CLOAK_TEST_POSTGRES_BIN/pg_ctl" -D "$data" -m fast -w -t 60 -s stop ||
      kill -KILL "$pid" 2>/dev/null || true
  fi
  # The children of a killed postmaster notice and exit on their own, within milliseconds.
  for _ in {1..100}; do _pg_running_in "$data" || break; sleep 0.1; done
  if [ -e "$data/postmaster.pid" ]; then
    # Surprise: a killed server leaves its SysV segment and /dev/shm/PostgreSQL.* (~1 MB of
    # RAM) behind. A server started on the same data dir finds them (by the dir's inode) and
    # removes them, so run one in single-user mode (no network) that exits at once. Its stale
    # lock file goes first: the dead postmaster may still be an unreaped zombie (PID 1 here
    # reaps every ~2 s), which PostgreSQL would take for a live one.
    rm -f "$data/postmaster.pid"
    _pg_as_server "$CLOAK_TEST_POSTGRES_BIN/postgres" --single -D "$data" postgres \
      </dev/null >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  unset CLOAK_TEST_POSTGRES CLOAK_TEST_POSTGRES_PORT CLOAK_TEST_POSTGRES_SOCKET CLOAK_TEST_POSTGRES_CA \
    CLOAK_TEST_PGPASSFILE CLOAK_TEST_POSTGRES_DIR CLOAK_TEST_POSTGRES_BIN CLOAK_TEST_POSTGRES_SERVER_USER
}
