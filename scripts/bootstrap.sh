#!/usr/bin/env bash
# Installs what building and testing Cloakroom needs on Debian/Ubuntu, when it is missing.
# Run as root (or with sudo available); a no-op on a machine that has everything.
set -euo pipefail

packages=()
pkg-config --exists libsodium 2>/dev/null || packages+=(libsodium-dev)
pkg-config --exists sqlite3 2>/dev/null || packages+=(libsqlite3-dev)
command -v sqlite3 >/dev/null || packages+=(sqlite3)        # benchmarks compare against it
command -v python3 >/dev/null || packages+=(python3)        # drives the pseudo-terminal tests
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)  # python-keycloak conformance
command -v openssl >/dev/null || packages+=(openssl)        # certificates for the HTTPS tests
command -v curl >/dev/null || packages+=(curl)              # the agent tests and the demo speak HTTP with it
command -v setpriv >/dev/null || packages+=(util-linux)     # runs one test as an unprivileged user
command -v strace >/dev/null || packages+=(strace)          # counts the files a cache miss opens
command -v pkg-config >/dev/null || packages+=(pkg-config)
# The tests' throwaway PostgreSQL (scripts/lib/postgres.sh runs it as an unprivileged user).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)

if ((${#packages[@]})); then
  echo "bootstrap: installing ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "bootstrap: Swift 6.1 or newer must be on PATH (swift.org/install)" >&2; exit 1; }
