#!/usr/bin/env bash
# camctl api against curl on loopback, on the same fake REST API.
# Targets (issue 12): `camctl api topology` within 1.2x curl's wall time;
# `camctl api --paginate` over 100,000 items: items per second against a
# shell loop of curl calls that follows the cursor, and peak RSS under
# 64 MiB.
#
# Needs hyperfine, curl and GNU time (apt-get install hyperfine curl time).
# Usage: bench/api.sh [RUNS]   (results also in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
items=100000
out=bench/out
mkdir -p "$out"
for tool in hyperfine curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

echo "--- building (release flags, as goreleaser will: static, no cgo)"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/camctl/camctl/internal/build.Version=bench" -o "$out/camctl" .
CGO_ENABLED=0 go build -trimpath -o "$out/fakeserver" ./bench/fakeserver
camctl="$PWD/$out/camctl"

"$out/fakeserver" -items "$items" >"$out/api.url" 2>/dev/null &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/api.url" ] && break; sleep 0.02; done
url=$(head -1 "$out/api.url")

# A private config: no profile, the address from the environment.
home=$(mktemp -d)
export HOME="$home" XDG_CONFIG_HOME="$home/.config" CAMCTL_KEYRING=none CAMUNDA_REST_ADDRESS="$url"

echo "--- camctl api topology against curl (target: within 1.2x)"
hyperfine -N --warmup 20 --runs "$runs" --style basic --export-json "$out/api-topology.json" \
  "curl -s $url/v2/topology" "$camctl api topology"

echo "--- --paginate over $items items"
search() { # $1: page limit
  /usr/bin/time -f "%e s, peak RSS %M KB" "$camctl" api /process-instances/search --paginate -F "page[limit]=$1" 2>"$out/paginate-$1.time" | wc -c >"$out/paginate-$1.bytes"
  echo "  page[limit]=$1: $(cat "$out/paginate-$1.time"), $(( $(cat "$out/paginate-$1.bytes") / 1048576 )) MiB of JSON"
}
search 1000
search 100

# The same walk as a shell loop of curl calls, each following the cursor,
# as a user without camctl would write it (items concatenated, no merge).
curl_walk() { # $1: page limit
  local after="" n=0 body page
  while :; do
    if [ -z "$after" ]; then body="{\"page\":{\"limit\":$1}}"; else body="{\"page\":{\"limit\":$1,\"after\":\"$after\"}}"; fi
    page=$(curl -s -X POST -H 'Content-Type: application/json' -d "$body" "$url/v2/process-instances/search")
    case $page in *'"items":[]'*) break ;; esac
    n=$((n + $(grep -o '"processInstanceKey"' <<<"$page" | wc -l)))
    after=$(grep -o '"endCursor":"[^"]*"' <<<"$page" | cut -d'"' -f4)
    [ -n "$after" ] || break
  done
  echo "$n"
}
for limit in 1000 100; do
  start=$(date +%s.%N)
  n=$(curl_walk "$limit")
  end=$(date +%s.%N)
  echo "  curl loop, page[limit]=$limit: $n items in $(echo "$end - $start" | bc) s"
done
rm -rf "$home"
