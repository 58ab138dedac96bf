#!/usr/bin/env bash
# The whole test suite: installs missing system packages, builds every product (the CLI tests
# run the real `cloak` and `cloak-idp` binaries), starts a throwaway PostgreSQL on loopback
# (scripts/lib/postgres.sh: Debian's packages, run as an unprivileged user in a temp directory),
# runs every test target — the behavioural suites on both backends — then checks cloak-idp
# against python-keycloak, a real third-party Keycloak client (installed into .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# PostgreSQL is a package trait (opt-in): the tests build with it, so that one build runs the
# suites on SQLite and on PostgreSQL. The default build, without it, is checked at the end.
traits=(--traits PostgreSQL)
swift build "${traits[@]}"
swift build "${traits[@]}" --build-tests
# The CLI tests run the `cloak` that ships: a fully static executable (see the README's
# Performance section). Its modules are compiled against the static Swift SDK, so it gets a
# scratch path of its own rather than rebuilding .build with other flags.
static=(--product cloak -Xswiftc -static-executable --scratch-path .build-static-exe "${traits[@]}")
# (The static link warns about every glibc function that needs NSS at run time: noise here.)
log=$(mktemp)
swift build "${static[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
tail -n 1 "$log"
rm -f "$log"
export CLOAK_BIN
CLOAK_BIN="$(swift build "${static[@]}" --show-bin-path)/cloak"
# Swift Testing starts every test at once unless told otherwise (its default width is unbounded):
# on a fresh CI machine, 250 tests (which start 52 cloak-idp processes) kept any test from
# finishing for 14 s, and a rotation's 10 s admin deadline ran out before its lookup was sent.
# Eight at a time: the library suite took 29.8 s here instead of 32.6 (README, For developers).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=8
# The builds above leave their output to be written back; the tests' first fsyncs should not wait
# behind it (0.15 s here for 270 MB after a static build; a fresh machine's disk may be slower).
sync
# shellcheck source=lib/postgres.sh
. scripts/lib/postgres.sh
trap stop_postgres EXIT
start_postgres
if (($#)); then
  swift test "${traits[@]}" --skip-build "$@"
else
  # Two processes, not one, and the CLI tests one at a time: they wait for child processes
  # synchronously, and those waits hold the cooperative pool's threads (as many as cores: two
  # here). In one process the library's tests against an in-process cloak-idp missed their 5 s
  # deadlines; in parallel, a CLI test that must act while cloak waits on a slow IdP (SIGABRT
  # mid-request, a disk filled mid-rotation) was not scheduled until the moment had passed.
  # Serial, the CLI tests took 5.4 minutes here instead of 3.6.
  swift test "${traits[@]}" --skip-build --filter 'CloakroomTests|CloakIdPTests'
  swift test "${traits[@]}" --skip-build --filter CloakTests --no-parallel
fi
stop_postgres
scripts/idp-conformance.sh
# The quick start's install step: a release build into a throwaway prefix, used from PATH.
scripts/test-install.sh
# The build users get by default (no PostgreSQL) compiles, and says why it cannot open one.
swift build --product cloak >/dev/null
out=$("$(swift build --show-bin-path)/cloak" client list --vault postgresql://nobody@127.0.0.1/none 2>&1) && exit 1
grep -q 'built without the PostgreSQL trait' <<<"$out" || { echo "unexpected: $out" >&2; exit 1; }
