#!/usr/bin/env bash
# Bulk rotation, side by side in one run, against a release cloak-idp on 127.0.0.1:
#   `cloak rotate` of 1,000 clients in 10 realms with --parallel 4 and 16 (--per-realm 16):
#     wall time, peak RSS, CPU time of cloak and of cloak-idp, requests the IdP answered;
#   the same requests replayed straight at cloak-idp by a keep-alive Python client with 4 and 16
#   threads (GET ?clientId, PUT with a new secret, a token with it): the IdP's own
#   rate for this work, to compare with.
# The four runs are interleaved, ROUNDS times (default 3), each cloak run on a fresh copy of
# one vault; the summary gives each run's median rate and cloak's ratio to the direct client
# with as many threads as it had rotations in flight. (On a shared machine the rate moves
# from minute to minute: two runs minutes apart once gave ratios of 0.57 and 0.69.)
# BASELINE=PATH adds another build's `cloak` (say, a release build of main kept aside) to every
# round, on the same vault, for a change measured side by side with what it changes.
# CLOAK=PATH measures another `cloak` (or a wrapper, say one running it under `perf stat`) in its place.
# Usage: ROUNDS=N [BASELINE=PATH] [CLOAK=PATH] scripts/bench-rotate.sh [CLIENTS_PER_REALM] [REALMS]
set -euo pipefail
cd "$(dirname "$0")/.."
per_realm=${1:-100}
realms=${2:-10}
scripts/bootstrap.sh
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true
swift build -c release --product cloak-idp >/dev/null
swift build -c release --product cloak >/dev/null
release="$(swift build -c release --show-bin-path)"
cloak="${CLOAK:-$release/cloak}"

. scripts/lib/idp.sh
work=$(mktemp -d)
trap 'stop_idp; rm -rf "$work"' EXIT
umask 077

# 10 realms, each with an admin client (manage-clients) and 100 clients. Fake secrets.
python3 - "$work/idp.json" "$per_realm" "$realms" <<'PY'
import json, sys
path, per_realm, realms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = {"realms": [{"realm": f"r{r}", "clients":
    [{"clientId": "bench-admin", "secret": "fake-bench-admin",
      "serviceAccountRoles": {"clients": {"realm-management": ["manage-clients"]}}}] +
    [{"clientId": f"svc-{c}", "secret": f"fake-bench-{c}"} for c in range(per_realm)]} for r in range(realms)]}
json.dump(config, open(path, "w"))
PY
start_idp "$release/cloak-idp" "$work/idp.json"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
ticks=$(getconf CLK_TCK)

setup_vault() {
  export CLOAK_VAULT="$1/vault.db" CLOAK_KEY_FILE="$1/key"
  mkdir -p "$1"
  $cloak init 2>/dev/null
  for r in $(seq 0 $((realms - 1))); do
    $cloak realm add "r$r" --token-url "$IDP_URL/realms/r$r/protocol/openid-connect/token" 2>/dev/null
    printf 'fake-bench-admin' | $cloak client add "r$r/admin" --client-id bench-admin --secret-stdin --no-verify 2>/dev/null
    $cloak realm update "r$r" --admin-client "r$r/admin" 2>/dev/null
    for c in $(seq 0 $((per_realm - 1))); do
      printf 'fake-bench-%s' "$c" | $cloak client add "r$r/svc-$c" --client-id "svc-$c" --secret-stdin --no-verify 2>/dev/null
    done
  done
}

refs=()
for r in $(seq 0 $((realms - 1))); do for c in $(seq 0 $((per_realm - 1))); do refs+=("r$r/svc-$c"); done; done
total=${#refs[@]}
printf 'rotating %d clients in %d realms against cloak-idp at %s\n\n' "$total" "$realms" "$IDP_URL"
printf '%-22s %10s %12s %12s %14s %12s %10s\n' "run" "wall s" "rotations/s" "IdP req/s" "peak RSS MiB" "cloak CPU s" "IdP CPU s"

rounds=${ROUNDS:-3}
setup_vault "$work/snapshot"
results="$work/results"
: >"$results"

cloak_run() {  # cloak_run PARALLEL [BINARY LABEL]: rotate every client of a fresh copy of the vault
  local parallel=$1 binary=${2:-$cloak} label=${3:-cloak}
  rm -rf "$work/run"
  cp -a "$work/snapshot" "$work/run"
  export CLOAK_VAULT="$work/run/vault.db" CLOAK_KEY_FILE="$work/run/key"
  curl -s -XDELETE "$IDP_URL/_cloak-idp/stats" >/dev/null
  idp_before=$(cpu "$IDP_PID")
  start=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$work/time" $binary rotate "${refs[@]}" --parallel "$parallel" --per-realm 16 --json >"$work/report.json" || {
    echo "cloak rotate failed:"; python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([x for x in r["results"] if x["error"]][:3])' "$work/report.json"; exit 1; }
  end=$(date +%s.%N)
  idp_after=$(cpu "$IDP_PID")
  requests=$(curl -s "$IDP_URL/_cloak-idp/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  read -r rss user sys <"$work/time"
  python3 - "$parallel" "$start" "$end" "$total" "$requests" "$rss" "$user" "$sys" "$idp_before" "$idp_after" "$ticks" "$work/report.json" "$results" "$label" <<'PY'
import json, sys
p, start, end, total, requests, rss, user, sys_, before, after, ticks, report, results, label = sys.argv[1:]
wall = float(end) - float(start)
rotated = json.load(open(report))["rotated"]
assert rotated == int(total), f"only {rotated} of {total} rotated"
print(f"{label + ' --parallel ' + p:<22} {wall:10.2f} {int(total)/wall:12.0f} {int(requests)/wall:12.0f} {int(rss)/1024:14.1f} "
      f"{float(user)+float(sys_):12.2f} {(int(after)-int(before))/int(ticks):10.2f}")
open(results, "a").write(f"{label} {p} {int(total)/wall}\n")
PY
}

# The IdP's own rate for the same work: a direct keep-alive client, no vault, no sealing.
direct_run() {  # direct_run THREADS
  local threads=$1
  idp_before=$(cpu "$IDP_PID")
  python3 - "$IDP_URL" "$per_realm" "$realms" "$threads" "$idp_before" "$IDP_PID" "$ticks" "$results" <<'PY'
import http.client, json, sys, threading, time, urllib.parse, secrets, string
url, per_realm, realms, threads, before, pid, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
results = sys.argv[8]
host = urllib.parse.urlsplit(url)
alphabet = string.ascii_letters + string.digits
def connection(): return http.client.HTTPConnection(host.hostname, host.port)
def call(conn, method, path, body=None, headers={}):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse(); data = r.read(); return r.status, data
tokens = {}
c = connection()
for r in range(realms):
    s, d = call(c, "POST", f"/realms/r{r}/protocol/openid-connect/token",
                "grant_type=client_credentials&client_id=bench-admin&client_secret=fake-bench-admin",
                {"Content-Type": "application/x-www-form-urlencoded"})
    tokens[r] = json.loads(d)["access_token"]
work = [(r, i) for r in range(realms) for i in range(per_realm)]
lock = threading.Lock(); requests = [0]; failures = [0]
def worker():
    conn = connection()
    while True:
        with lock:
            if not work: return
            r, i = work.pop()
        auth = {"Authorization": "Bearer " + tokens[r], "Accept": "application/json"}
        base = f"/admin/realms/r{r}"
        s, d = call(conn, "GET", f"{base}/clients?clientId=svc-{i}", headers=auth)
        rep = json.loads(d)[0]; uuid = rep["id"]; secret = "".join(secrets.choice(alphabet) for _ in range(86)); rep["secret"] = secret
        s, _ = call(conn, "PUT", f"{base}/clients/{uuid}", json.dumps(rep), {**auth, "Content-Type": "application/json"})
        s2, _ = call(conn, "POST", f"/realms/r{r}/protocol/openid-connect/token",
                     f"grant_type=client_credentials&client_id=svc-{i}&client_secret={secret}",
                     {"Content-Type": "application/x-www-form-urlencoded"})
        with lock:
            requests[0] += 3
            if s != 204 or s2 != 200: failures[0] += 1
start = time.time()
pool = [threading.Thread(target=worker) for _ in range(threads)]
for t in pool: t.start()
for t in pool: t.join()
wall = time.time() - start
after = sum(int(x) for x in open(f"/proc/{pid}/stat").read().split()[13:15])
assert failures[0] == 0, f"{failures[0]} replays failed"
total = realms * per_realm
print(f"{'direct, ' + str(threads) + ' threads':<22} {wall:10.2f} {total/wall:12.0f} {requests[0]/wall:12.0f} {'-':>14} {'-':>12} {(after-before)/ticks:10.2f}")
open(results, "a").write(f"direct {threads} {total/wall}\n")
PY
}

for round in $(seq "$rounds"); do
  for n in 4 16; do
    cloak_run "$n"
    [ -z "${BASELINE:-}" ] || cloak_run "$n" "$BASELINE" baseline
    direct_run "$n"
  done
done

python3 - "$results" "$rounds" <<'PY'
import collections, statistics, sys
rates = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kind, n, rate = line.split()
    rates[(kind, int(n))].append(float(rate))
print(f"\nmedians of {sys.argv[2]} interleaved rounds, rotations/s:")
for n in (4, 16):
    c, d = statistics.median(rates[("cloak", n)]), statistics.median(rates[("direct", n)])
    print(f"  {n:>2} in flight: cloak {c:5.0f}, direct {d:5.0f}, ratio {c / d:.2f}", end="")
    if rates[("baseline", n)]:
        b = statistics.median(rates[("baseline", n)])
        # Each round's pair ran back to back: their ratio is steadier than the medians' ratio.
        paired = statistics.median(x / y for x, y in zip(rates[("cloak", n)], rates[("baseline", n)]))
        print(f"; baseline {b:5.0f}, ratio {b / d:.2f}; cloak / baseline, median of the rounds' {paired:.2f}", end="")
    print()
PY
printf '\nrotations/s: clients rotated per second of wall time. A rotation is 3 IdP requests (GET by\n'
printf 'clientId the first time, which returns the whole client, by id after; PUT; token); cloak\n'
printf 'adds a vault read and 3 vault writes per client (those of concurrent rotations committed\n'
printf 'together), of which only the prepare must reach the disk.\n'
