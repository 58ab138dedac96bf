#!/usr/bin/env bash
# The whole test suite: installs missing system packages, builds every product (the CLI tests
# run the real `cloak` binary), then runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build
swift test "$@"
