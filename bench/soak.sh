#!/usr/bin/env bash
# Soak test (issue 6; not in CI): many `camctl topology` runs against the
# loopback fake with OAuth tokens that live only a few seconds, so the
# token cache (CAMCTL_KEYRING=none: tokens.json and its lock) is refreshed
# over and over, sequentially and by parallel processes.
#
# Reports: failed runs (target 0), token requests (expected: one per
# usable token lifetime, about 90 % of TTL, and never one per run), API
# answers 401 (target 0: no expired token is ever sent), peak RSS of camctl
# (largest over all runs) and of the fake, and wall time.
#
# Usage: bench/soak.sh
#   SEQ=10000  sequential runs       PAR=1000  parallel runs
#   BATCH=50   parallel runs at once TTL=5s    token lifetime at the fake
# A smoke run: SEQ=200 PAR=100 bench/soak.sh. Results in bench/out/soak/.
# Needs GNU time (/usr/bin/time, apt-get install time) for camctl's RSS;
# without it, /proc is sampled, which can miss a short run's peak.
set -euo pipefail
cd "$(dirname "$0")/.."
SEQ=${SEQ:-10000} PAR=${PAR:-1000} BATCH=${BATCH:-50} TTL=${TTL:-5s}
out=bench/out/soak
rm -rf "$out" && mkdir -p "$out"

echo "--- building (release flags)"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/camctl/camctl/internal/build.Version=soak" -o "$out/camctl" .
go build -o "$out/fakeserver" ./bench/fakeserver
camctl="$PWD/$out/camctl"

work=$(mktemp -d)
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The client secret is made up per run; it never reaches the output.
client_id=soak-client
client_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$out/fakeserver" -oauth "$client_id:$client_secret" -token-ttl "$TTL" >"$out/fake.url" 2>"$out/fake.err" &
fake_pid=$!
for _ in $(seq 250); do [ -s "$out/fake.url" ] && break; sleep 0.02; done
[ -s "$out/fake.url" ] || { echo "the fake did not start: $(cat "$out/fake.err")" >&2; exit 1; }
url=$(head -1 "$out/fake.url")

# A CI job's set-up: everything from the environment, no keyring, a
# private config (none) and token cache.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" CAMCTL_CACHE_DIR="$work/cache" \
  CAMCTL_KEYRING=none DBUS_SESSION_BUS_ADDRESS= \
  CAMUNDA_REST_ADDRESS="$url" CAMUNDA_CLIENT_ID="$client_id" CAMUNDA_CLIENT_SECRET="$client_secret" \
  CAMUNDA_OAUTH_URL="$url/oauth/token" CAMUNDA_TOKEN_AUDIENCE=orchestration-api
unset CAMCTL_PROFILE CAMCTL_CONFIG

fakestat() { curl -s "$url/_stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

# one RUN_ID: a topology run; its peak RSS (KB) goes to $work/rss/RUN_ID,
# its output to $work/log/RUN_ID when it fails.
mkdir -p "$work/rss" "$work/log"
if [ -x /usr/bin/time ]; then
  rss_method="GNU time, every run"
  one() {
    /usr/bin/time -o "$work/rss/$1" -f %M "$camctl" topology -o json >/dev/null 2>"$work/log/$1" &&
      rm -f "$work/log/$1"
  }
else
  rss_method="/proc sampling (may miss peaks)"
  one() {
    "$camctl" topology -o json >/dev/null 2>"$work/log/$1" &
    local pid=$! max=0 kb
    while kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [ -n "$kb" ]; do
      [ "$kb" -gt "$max" ] && max=$kb
    done
    echo "$max" >"$work/rss/$1"
    wait "$pid" && rm -f "$work/log/$1"
  }
fi

failures() { find "$work/log" -type f | wc -l; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# expected WALL_MS: the token requests a perfect cache makes in that time,
# one per usable lifetime. The fake's exp claim is in whole seconds, so a
# token lives TTL - 0.5 s on average, and camctl replaces it when 10 % of
# that is left (the margin of a short token).
ttl_ms=$(( $(sed 's/s$//' <<<"$TTL") * 1000 ))
expected() { echo $(( $1 * 10 / ((ttl_ms - 500) * 9) + 1 )); }

echo "--- $SEQ sequential runs (token lifetime $TTL)"
t0=$(fakestat token_requests) u0=$(fakestat api_unauthorized)
start=$(date +%s%N)
for i in $(seq "$SEQ"); do one "s$i" || true; done
seq_ms=$(ms_since "$start")
seq_tokens=$(( $(fakestat token_requests) - t0 )) seq_401=$(( $(fakestat api_unauthorized) - u0 ))
seq_failed=$(failures)
echo "  $seq_failed failed, $seq_tokens token requests (a perfect cache: $(expected "$seq_ms")), $seq_401 API 401s, ${seq_ms} ms"

echo "--- $PAR parallel runs, $BATCH at a time"
t0=$(fakestat token_requests) u0=$(fakestat api_unauthorized)
start=$(date +%s%N)
for ((b = 0; b < PAR; b += BATCH)); do
  batch=()
  for ((i = b; i < b + BATCH && i < PAR; i++)); do one "p$i" & batch+=($!); done
  # Not a bare `wait`: that would wait for the fake server too.
  for p in "${batch[@]}"; do wait "$p" || true; done
done
par_ms=$(ms_since "$start")
par_tokens=$(( $(fakestat token_requests) - t0 )) par_401=$(( $(fakestat api_unauthorized) - u0 ))
par_failed=$(( $(failures) - seq_failed ))
echo "  $par_failed failed, $par_tokens token requests (a perfect cache: $(expected "$par_ms")), $par_401 API 401s, ${par_ms} ms"

# The cache is intact: valid JSON, 0600, no temporary files left.
cache_ok=yes
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict)' "$CAMCTL_CACHE_DIR/tokens.json" 2>/dev/null || cache_ok="no (tokens.json is not a JSON object)"
[ "$(stat -c %a "$CAMCTL_CACHE_DIR/tokens.json")" = 600 ] || cache_ok="no (tokens.json is not 0600)"
if find "$CAMCTL_CACHE_DIR" -name '*.tmp-*' | grep -q .; then cache_ok="no (temporary files left)"; fi

rss_max=$(cat "$work"/rss/* | sort -n | tail -1)
fake_rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$fake_pid/status")
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k/1024 }'; }
for f in $(find "$work/log" -type f | head -5); do sed "s/^/  $(basename "$f"): /" "$f"; done >"$out/failures.txt"
{
  echo "=== soak: SEQ=$SEQ PAR=$PAR BATCH=$BATCH TTL=$TTL, CAMCTL_KEYRING=none ==="
  printf '%-28s %d failed, %d token requests (a perfect cache: %d), %d API 401s, %.1f s\n' "sequential $SEQ:" \
    "$seq_failed" "$seq_tokens" "$(expected "$seq_ms")" "$seq_401" "$(awk -v m="$seq_ms" 'BEGIN { print m/1000 }')"
  printf '%-28s %d failed, %d token requests (a perfect cache: %d), %d API 401s, %.1f s\n' "parallel $PAR (x$BATCH):" \
    "$par_failed" "$par_tokens" "$(expected "$par_ms")" "$par_401" "$(awk -v m="$par_ms" 'BEGIN { print m/1000 }')"
  printf '%-28s %s MB (%s)\n' "peak RSS, camctl:" "$(mb "$rss_max")" "$rss_method"
  printf '%-28s %s MB\n' "peak RSS, fake server:" "$(mb "$fake_rss")"
  printf '%-28s %s\n' "token cache intact:" "$cache_ok"
  total=$((seq_failed + par_failed + seq_401 + par_401))
  if [ "$total" -eq 0 ] && [ "$cache_ok" = yes ]; then echo "PASS"; else echo "FAIL (first failures in $out/failures.txt)"; fi
} | tee "$out/summary.txt"
grep -q '^PASS$' "$out/summary.txt"
