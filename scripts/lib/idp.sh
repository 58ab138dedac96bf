# Sourced by the scripts that need a cloak-idp on 127.0.0.1.
#   start_idp BINARY CONFIG [ARGS…]  starts it on a free port; sets IDP_URL (its first stdout line,
#                                    printed once it accepts connections) and IDP_PID
#   start_bench_idp BINARY DIR       start_idp with realm `bench` and its one client `bench-svc`
#                                    (secret fake-bench-secret, hour-long tokens), configured in DIR
#   stop_idp                         stops that process, and only that one (by its PID)
# Callers stop it in their EXIT trap.
IDP_PID=""
IDP_URL=""
IDP_DIR=""

start_idp() {
  local bin=$1 config=$2
  shift 2
  IDP_DIR="$(mktemp -d)"
  mkfifo "$IDP_DIR/out"
  "$bin" --config "$config" --port 0 "$@" >"$IDP_DIR/out" 2>"$IDP_DIR/err" &
  IDP_PID=$!
  exec 3<"$IDP_DIR/out"
  if ! read -r -t 30 IDP_URL <&3; then
    echo "cloak-idp did not start:" >&2
    cat "$IDP_DIR/err" >&2
    return 1
  fi
}

stop_idp() {
  if [ -n "$IDP_PID" ]; then
    kill "$IDP_PID" 2>/dev/null || true
    wait "$IDP_PID" 2>/dev/null || true
    IDP_PID=""
  fi
  [ -z "$IDP_DIR" ] || rm -rf "$IDP_DIR"
}

start_bench_idp() {
  cat >"$2/idp.json" <<'JSON'
{"realms": [{"realm": "bench", "accessTokenLifespan": 3600, "clients": [{"clientId": "bench-svc", "secret": "fake-bench-secret"}]}]}
JSON
  start_idp "$1" "$2/idp.json"
}
