#!/usr/bin/env bash
# Runs CMD [ARGS…] against a throwaway PostgreSQL (scripts/lib/postgres.sh): starts it, runs CMD
# with the CLOAK_TEST_POSTGRES* variables exported, then stops it and removes its files however
# CMD ends, and exits with CMD's status.
# Bash runs a trap only once the foreground CMD returns, so a TERM sent to this script alone
# waits for CMD; Ctrl-C (the whole process group) stops both. Nothing cleans up after a
# SIGKILL: the server, in a session of its own, keeps running (see scripts/lib/postgres.sh).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"

# Set before starting, so that a start that fails half-way is cleaned up too.
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_postgres

status=0
"$@" || status=$?
exit "$status"
