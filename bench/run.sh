#!/usr/bin/env bash
# Compares camctl with curl on loopback against the same fake REST API.
# Targets (issue 2): `camctl topology -o json` within 1.5x curl's wall time
# (no auth, and Basic with the password from the OS keyring),
# `camctl --version` median under 10 ms, peak RSS under 30 MB.
#
# Needs hyperfine, curl, GNU time and, for the keyring, gnome-keyring +
# dbus (apt-get install hyperfine curl time gnome-keyring dbus libsecret-tools).
# Usage: bench/run.sh [RUNS]   (results also in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
out=bench/out
mkdir -p "$out"

# The Basic case reads its password from a real Secret Service: run the
# rest of the script inside a private session with an unlocked keyring.
if [ -z "${CAMCTL_BENCH_IN_SESSION:-}" ]; then
  export CAMCTL_BENCH_IN_SESSION=1 HOME="$(mktemp -d)"
  exec dbus-run-session -- sh -c '
    echo "" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
    do i=$((i+1)); [ $i -ge 100 ] && { echo "no secret service" >&2; exit 1; }; sleep 0.05; done
    exec "$0" "$@"' "$0" "$runs"
fi

for tool in hyperfine curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

echo "--- building (release flags, as goreleaser will)"
go build -trimpath -ldflags "-s -w -X github.com/camctl/camctl/internal/build.Version=bench" -o "$out/camctl" .
go build -o "$out/fakeserver" ./bench/fakeserver
camctl="$PWD/$out/camctl"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start_fake() { # $1: output file, rest: flags
  local f=$1; shift
  "$out/fakeserver" "$@" >"$f" 2>/dev/null & pids+=($!)
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.02; done
  head -1 "$f"
}
none_url=$(start_fake "$out/none.url")
basic_url=$(start_fake "$out/basic.url" -basic demo:bench-pw)

export XDG_CONFIG_HOME="$HOME/.config"
"$camctl" profile add none --address "$none_url" 2>/dev/null
"$camctl" profile add basic --address "$basic_url" --auth basic --username demo 2>/dev/null
printf 'bench-pw\n' | "$camctl" login -p basic --password-stdin 2>&1 | sed 's/^/  /'

hf() { hyperfine -N --warmup 20 --runs "$runs" --style basic "$@"; }
echo "--- topology, no auth"
hf --export-json "$out/none.json" "curl -s $none_url/v2/topology" "$camctl -p none topology -o json"
echo "--- topology, Basic (camctl: password from the OS keyring)"
hf --export-json "$out/basic.json" "curl -s -u demo:bench-pw $basic_url/v2/topology" "$camctl -p basic topology -o json"
echo "--- version"
hf --export-json "$out/version.json" "$camctl --version"

peak() { # max RSS in MB over 20 runs
  local max=0 kb
  for _ in $(seq 20); do
    kb=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1)
    [ "$kb" -gt "$max" ] && max=$kb
  done
  awk -v k="$max" 'BEGIN { printf "%.1f MB", k/1024 }'
}
echo "--- peak RSS (max of 20 runs)"
echo "curl topology:              $(peak curl -s "$none_url/v2/topology")"
echo "camctl topology (none):     $(peak "$camctl" -p none topology -o json)"
echo "camctl topology (keyring):  $(peak "$camctl" -p basic topology -o json)"
echo "camctl --version:           $(peak "$camctl" --version)"
echo "--- binary size: $(stat -c %s "$camctl" | awk '{ printf "%.1f MB", $1/1048576 }') (stripped, -trimpath)"
echo "--- medians (ms)"
for f in none basic version; do
  printf '%-8s' "$f:"
  grep -o '"median": [0-9.e-]*' "$out/$f.json" | awk '{ printf "  %.2f", $2*1000 }'
  echo
done
