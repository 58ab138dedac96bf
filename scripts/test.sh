#!/usr/bin/env bash
# The whole test suite: installs missing system packages, builds every product (the CLI tests
# run the real `cloak` and `cloak-idp` binaries), runs every test target, then checks cloak-idp
# against python-keycloak, a real third-party Keycloak client (installed into .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build
swift test "$@"
scripts/idp-conformance.sh
