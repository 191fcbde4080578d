#!/usr/bin/env bash
# Compares camctl with curl on loopback against the same fake REST API.
# Targets (issues 2 and 11): `camctl topology -o json` within 1.0x curl's
# wall time without auth and 1.2x with the Basic password from the OS keyring,
# `camctl --version` median under 10 ms, peak RSS under 30 MB.
# Targets (OIDC client credentials, token cached in the OS keyring):
# warm `camctl -p oidc topology -o json` within 1.2x curl with the same
# bearer token, warm `camctl -p oidc token` median under 15 ms, and one
# token request for 100 sequential runs and for 20 parallel runs that start
# with an empty token cache (counted at the fake token endpoint).
#
# Needs hyperfine, curl, GNU time and, for the keyring, gnome-keyring +
# dbus (apt-get install hyperfine curl time gnome-keyring dbus libsecret-tools).
# Usage: bench/run.sh [RUNS]   (results also in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
out=bench/out
mkdir -p "$out"

# The keyring cases read their secrets from a real Secret Service: run the
# rest of the script inside a private session with an unlocked keyring.
# HOME is a throw-away directory (config, keyring, token cache); the Go
# caches stay where they were.
if [ -z "${CAMCTL_BENCH_IN_SESSION:-}" ]; then
  for v in GOENV GOCACHE GOMODCACHE GOPATH; do export "$v=$(go env "$v")"; done
  bench_home=$(mktemp -d)
  export CAMCTL_BENCH_IN_SESSION=1 HOME="$bench_home"
  rc=0
  dbus-run-session -- sh -c '
    echo "" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
    do i=$((i+1)); [ $i -ge 100 ] && { echo "no secret service" >&2; exit 1; }; sleep 0.05; done
    exec "$0" "$@"' "$PWD/bench/run.sh" "$runs" || rc=$?
  rm -rf "$bench_home"
  exit "$rc"
fi

for tool in hyperfine curl /usr/bin/time openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

echo "--- building (release flags, as goreleaser will: static, no cgo)"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/camctl/camctl/internal/build.Version=bench" -o "$out/camctl" .
CGO_ENABLED=0 go build -trimpath -o "$out/fakeserver" ./bench/fakeserver
camctl="$PWD/$out/camctl"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start_fake() { # $1: output file (its first line: the URL), rest: flags.
  # Not in $(...): the pid must reach the cleanup list of this shell.
  local f=$1; shift
  : >"$f"
  "$out/fakeserver" "$@" >"$f" 2>/dev/null & pids+=($!)
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.02; done
  [ -s "$f" ] || { echo "fakeserver for $f did not start" >&2; exit 1; }
}
# The OIDC client secret is made up per run; it never reaches the output.
client_id=bench-client
client_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_fake "$out/none.url"
start_fake "$out/basic.url" -basic demo:bench-pw
# private_key_jwt (spec §11): a key of the run's own, accepted by the oidc fake.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/jwt.pem" 2>/dev/null
start_fake "$out/oidc.url" -oauth "$client_id:$client_secret" -key-client "bench-jwt:$out/jwt.pem"
none_url=$(head -1 "$out/none.url") basic_url=$(head -1 "$out/basic.url") oidc_url=$(head -1 "$out/oidc.url")

export XDG_CONFIG_HOME="$HOME/.config"
"$camctl" profile add none --address "$none_url" 2>/dev/null
"$camctl" profile add basic --address "$basic_url" --auth basic --username demo 2>/dev/null
"$camctl" profile add oidc --address "$oidc_url" --auth oidc --client-id "$client_id" \
  --token-url "$oidc_url/oauth/token" --audience orchestration-api 2>/dev/null
"$camctl" profile add jwt --address "$oidc_url" --client-id bench-jwt \
  --token-url "$oidc_url/oauth/token" --audience orchestration-api --client-assertion-key "$out/jwt.pem" 2>/dev/null
printf 'bench-pw\n' | "$camctl" login -p basic --password-stdin 2>&1 | sed 's/^/  /'

# fakestat NAME: a counter from the oidc fake's /_stats.
fakestat() { curl -s "$oidc_url/_stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

hf() { hyperfine -N --warmup 20 --runs "$runs" --style basic "$@"; }
echo "--- topology, no auth"
hf --export-json "$out/none.json" "curl -s $none_url/v2/topology" "$camctl -p none topology -o json"
echo "--- topology, Basic (camctl: password from the OS keyring)"
hf --export-json "$out/basic.json" "curl -s -u demo:bench-pw $basic_url/v2/topology" "$camctl -p basic topology -o json"

# OIDC: log in just before its benchmarks, so that the 5-minute token
# outlives them (camctl replaces it 30 s before expiry, and curl's copy
# would start getting 401s).
echo "--- OIDC login (client secret and token go to the OS keyring)"
printf '%s\n' "$client_secret" | "$camctl" login -p oidc --client-secret-stdin 2>&1 | sed 's/^/  /'
token=$("$camctl" -p oidc token)
# Both sides must get the topology, not a 401, before they are timed.
for body in "$(curl -s -H "Authorization: Bearer $token" "$oidc_url/v2/topology")" \
  "$("$camctl" -p oidc topology -o json 2>&1)"; do
  case $body in *'"brokers"'*) ;; *) echo "no topology with the OIDC token: $body" >&2; exit 1 ;; esac
done
warm_tok0=$(fakestat token_requests) warm_401_0=$(fakestat api_unauthorized)
echo "--- topology, OIDC (camctl: token cached in the OS keyring; curl: the same token)"
# Named commands keep the token out of the terminal and bench/out/oidc.json.
hf --export-json "$out/oidc.json" -n "curl -s -H 'Authorization: Bearer \$TOKEN' $oidc_url/v2/topology" \
  -n "$camctl -p oidc topology -o json" \
  "curl -s -H 'Authorization: Bearer $token' $oidc_url/v2/topology" "$camctl -p oidc topology -o json"
echo "--- token, OIDC (warm: cached in the OS keyring)"
hf --export-json "$out/token.json" "$camctl -p oidc token"
warm_tokens=$(( $(fakestat token_requests) - warm_tok0 ))
warm_401=$(( $(fakestat api_unauthorized) - warm_401_0 ))
warm_runs=$(( 2 * (runs + 20) ))
if [ "$warm_401" -ne 0 ]; then
  echo "the OIDC benchmarks got $warm_401 answers 401 (expired token?): results invalid" >&2; exit 1
fi
echo "--- topology, private_key_jwt (camctl: token cached; the key is not read on a warm run)"
jwt_token=$("$camctl" -p jwt token)
hf --export-json "$out/jwt.json" -n "curl -s -H 'Authorization: Bearer \$TOKEN' $oidc_url/v2/topology" \
  -n "$camctl -p jwt topology -o json" \
  "curl -s -H 'Authorization: Bearer $jwt_token' $oidc_url/v2/topology" "$camctl -p jwt topology -o json"
echo "--- token --refresh: client secret vs signed assertion (RS256)"
hf --export-json "$out/assertion.json" -n "camctl -p oidc token --refresh (secret)" -n "camctl -p jwt token --refresh (assertion)" \
  "$camctl -p oidc token --refresh" "$camctl -p jwt token --refresh"
echo "--- version"
hf --export-json "$out/version.json" "$camctl --version"

peak() { # max RSS in KB over 20 runs
  local max=0 kb
  for _ in $(seq 20); do
    kb=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1)
    [ "$kb" -gt "$max" ] && max=$kb
  done
  echo "$max"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k/1024 }'; }
# D-Bus method calls of one warm Basic run: the messages of type 1
# (little-endian header "l\1") written to the bus socket.
dbus_calls=n/a
if command -v strace >/dev/null; then
  strace -f -qq -e trace=write,sendmsg -s 4 -o "$out/strace.txt" "$camctl" -p basic topology -o json >/dev/null
  dbus_calls=$(grep -c '"l\\1' "$out/strace.txt" || true)
fi
echo "--- D-Bus method calls, one warm Basic run: $dbus_calls"
echo "--- peak RSS (max of 20 runs)"
rss_curl=$(peak curl -s "$none_url/v2/topology")
rss_none=$(peak "$camctl" -p none topology -o json)
rss_basic=$(peak "$camctl" -p basic topology -o json)
rss_oidc=$(peak "$camctl" -p oidc topology -o json)
rss_token=$(peak "$camctl" -p oidc token)
rss_version=$(peak "$camctl" --version)
echo "curl topology:              $(mb "$rss_curl") MB"
echo "camctl topology (none):     $(mb "$rss_none") MB"
echo "camctl topology (keyring):  $(mb "$rss_basic") MB"
echo "camctl topology (oidc):     $(mb "$rss_oidc") MB"
echo "camctl token (oidc):        $(mb "$rss_token") MB"
echo "camctl --version:           $(mb "$rss_version") MB"
size=$(stat -c %s "$camctl" | awk '{ printf "%.1f", $1/1048576 }')
echo "--- binary size: $size MB (static, stripped, -trimpath)"

# Token requests from an empty cache. `camctl logout` deletes the stored
# client secret and the cached token, so these runs take the secret from
# the environment (as a CI job would); the token cache is still the keyring.
echo "--- token requests, empty cache (counted at the fake token endpoint)"
oidc_env() { CAMUNDA_CLIENT_SECRET="$client_secret" "$camctl" -p oidc "$@"; }
"$camctl" logout -p oidc 2>&1 | sed 's/^/  /'
t0=$(fakestat token_requests)
for i in $(seq 100); do
  oidc_env topology -o json >/dev/null || { echo "sequential run $i failed" >&2; exit 1; }
done
seq_tokens=$(( $(fakestat token_requests) - t0 ))
echo "100 sequential topology runs: $seq_tokens token request(s)"

"$camctl" logout -p oidc 2>&1 | sed 's/^/  /'
t0=$(fakestat token_requests)
# Start gate: every run blocks reading one line from a FIFO, and one write
# of 20 lines releases them together.
gate="$out/gate"; rm -f "$gate"; mkfifo "$gate"; exec 3<>"$gate"
par=()
for i in $(seq 20); do
  ( read -r _ <"$gate"; exec env CAMUNDA_CLIENT_SECRET="$client_secret" \
      "$camctl" -p oidc topology -o json >"$out/parallel.$i.out" 2>&1 ) & par+=($!)
done
sleep 0.3
start=$(date +%s%N)
printf '\n%.0s' $(seq 20) >&3
par_failed=0
for p in "${par[@]}"; do wait "$p" || par_failed=$((par_failed + 1)); done
par_ms=$(( ($(date +%s%N) - start) / 1000000 ))
exec 3>&-; rm -f "$gate"
par_tokens=$(( $(fakestat token_requests) - t0 ))
echo "20 parallel topology runs:    $par_tokens token request(s), $par_failed failed, ${par_ms} ms wall"
if [ "$par_failed" -ne 0 ]; then
  for i in $(seq 20); do grep -qs '"brokers"' "$out/parallel.$i.out" || sed "s/^/  run $i: /" "$out/parallel.$i.out"; done >&2
  echo "some parallel runs failed: counts invalid" >&2; exit 1
fi

median() { # median in ms of result $2 (1-based) in hyperfine export $1
  grep -o '"median": [0-9.e-]*' "$out/$1.json" | sed -n "${2}p" | awk '{ printf "%.2f", $2*1000 }'
}
echo "--- medians (ms)"
for f in none basic oidc token version; do
  printf '%-8s' "$f:"
  grep -o '"median": [0-9.e-]*' "$out/$f.json" | awk '{ printf "  %.2f", $2*1000 }'
  echo
done

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? 1 : 0 }'; }
is() { [ "$1" -eq "$2" ] && echo 1 || echo 0; }
cmp_line() { # label, hyperfine export (curl first, camctl second), target ratio
  local c k r
  c=$(median "$2" 1) k=$(median "$2" 2)
  r=$(awk -v a="$k" -v b="$c" 'BEGIN { printf "%.2f", a/b }')
  printf '%-36s curl %6.2f ms, camctl %6.2f ms = %.2fx (target <= %sx)  %s\n' \
    "$1" "$c" "$k" "$r" "$3" "$(verdict "$(le "$r" "$3")")"
}
max_rss=$rss_none
for k in "$rss_basic" "$rss_oidc" "$rss_token" "$rss_version"; do [ "$k" -gt "$max_rss" ] && max_rss=$k; done
{
  echo "=== summary: $runs runs per command, medians, loopback ==="
  cmp_line "topology -o json, no auth:" none 1.0
  cmp_line "topology -o json, Basic (keyring):" basic 1.2
  cmp_line "topology -o json, OIDC (keyring):" oidc 1.2
  cmp_line "topology -o json, private_key_jwt:" jwt 1.2
  printf '%-36s secret %.2f ms, assertion %.2f ms\n' "token --refresh (token request):" "$(median assertion 1)" "$(median assertion 2)"
  v=$(median token 1)
  printf '%-36s %.2f ms (target < 15 ms)  %s\n' "camctl -p oidc token, warm:" "$v" "$(verdict "$(lt "$v" 15)")"
  v=$(median version 1)
  printf '%-36s %.2f ms (target < 10 ms)  %s\n' "camctl --version:" "$v" "$(verdict "$(lt "$v" 10)")"
  printf '%-36s %s MB (curl %s MB; target < 30 MB)  %s\n' "peak RSS, camctl (largest):" \
    "$(mb "$max_rss")" "$(mb "$rss_curl")" "$(verdict "$(lt "$max_rss" 30720)")"
  printf '%-36s %d in %d warm camctl runs (expected 0)  %s\n' "token requests, warm cache:" \
    "$warm_tokens" "$warm_runs" "$(verdict "$(is "$warm_tokens" 0)")"
  printf '%-36s %d from an empty cache (target 1)  %s\n' "token requests, 100 sequential:" \
    "$seq_tokens" "$(verdict "$(is "$seq_tokens" 1)")"
  printf '%-36s %d from an empty cache (target 1; batch %d ms)  %s\n' "token requests, 20 parallel:" \
    "$par_tokens" "$par_ms" "$(verdict "$(is "$par_tokens" 1)")"
  printf '%-36s %s MB (static, stripped, -trimpath)\n' "binary size:" "$size"
  printf '%-36s %s (go-keyring made 8; target 5, one sent without waiting)\n' "D-Bus calls, warm Basic run:" "$dbus_calls"
} >"$out/summary.txt"
missed=$(grep -c ' FAIL$' "$out/summary.txt" || true)
if [ "$missed" -eq 0 ]; then echo "all targets met"; else echo "$missed target(s) missed"; fi >>"$out/summary.txt"
cat "$out/summary.txt"
