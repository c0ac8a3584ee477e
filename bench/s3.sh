#!/usr/bin/env bash
# bench/s3.sh — strata against restic, both on the same local S3 server (s3rver), in one run.
#
# Usage: bench/s3.sh [--source DIR]...   (default: the shared dataset's tree/ without sys/, ~390 MB)
#
# Starts s3rver (from .tools/s3rver, installed and patched by ./test.sh) on a free 127.0.0.1 port
# with its data in a temporary folder, then for each tool: init, backup (timed), restore latest
# (timed) into an empty folder, verify the restore byte for byte. Reports wall time, requests
# answered by the server (its log), bytes received by the server during the backup and sent during
# the restore (rchar/wchar of the server process in /proc, so headers included), stored bytes,
# and requests and bytes sent per GB backed up. Stops the server and removes everything at the end.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PRISTINE=${BENCH_DATA:-/tmp/strata-bench}/pristine/tree
SOURCES=()
while (($#)); do
  case $1 in
    --source) SOURCES+=("$(cd "${2:?--source needs a directory}" && pwd)"); shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "s3.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ((${#SOURCES[@]} == 0)); then
  [[ -d $PRISTINE ]] || { echo "s3.sh: no dataset at $PRISTINE (run bench/run.sh once, or give --source DIR)" >&2; exit 2; }
  for d in "$PRISTINE"/*; do [[ $(basename "$d") == sys ]] || SOURCES+=("$d"); done
fi
S3RVER=$ROOT/.tools/s3rver/node_modules/s3rver/bin/s3rver.js
[[ -f $S3RVER ]] || { echo "s3.sh: s3rver is not installed: run ./test.sh first" >&2; exit 2; }
command -v restic >/dev/null || { echo "s3.sh: restic is not installed (apt-get install restic)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/strata-s3bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/s3"
NODE_OPTIONS=--openssl-legacy-provider node "$S3RVER" -d "$WORK/s3" -a 127.0.0.1 -p "$PORT" >"$WORK/s3rver.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export RESTIC_PASSWORD=bench STRATA_PASSWORD=bench STRATA_CACHE_DIR=$WORK/cache XDG_CACHE_HOME=$WORK/xdg
INPUT=$(du -sbc "${SOURCES[@]}" | tail -1 | cut -f1)
"$ROOT/strata" version >/dev/null   # build outside the timings

requests() { grep -cE '[0-9]+ms [0-9.]+[kmg]?b$' "$WORK/s3rver.log" || true; }
io() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SERVER/io"; }
# measure NAME COMMAND...: wall seconds, requests, bytes the server read and wrote while it ran
measure() {
  local name=$1; shift
  local r0 w0 q0 t0 t1
  r0=$(io rchar); w0=$(io wchar); q0=$(requests); t0=$(date +%s.%N)
  "$@" >"$WORK/$name.out" 2>&1 || { cat "$WORK/$name.out" >&2; echo "s3.sh: $name failed" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$name $(echo "$t1 - $t0" | bc) $(( $(requests) - q0 )) $(( $(io rchar) - r0 )) $(( $(io wchar) - w0 ))" >>"$WORK/results"
}

for tool in restic strata; do
  bucket=$tool-bench
  if [[ $tool == restic ]]; then
    export RESTIC_REPOSITORY=s3:http://127.0.0.1:$PORT/$bucket
    restic init >/dev/null
    measure restic-backup restic backup --no-cache "${SOURCES[@]}"
    measure restic-restore restic restore latest --no-cache --target "$WORK/restore-restic"
  else
    export STRATA_REPOSITORY=s3:http://127.0.0.1:$PORT/$bucket/repo
    "$ROOT/strata" init >/dev/null
    measure strata-backup "$ROOT/strata" backup --no-cache "${SOURCES[@]}"
    measure strata-restore "$ROOT/strata" restore latest --no-cache --target "$WORK/restore-strata"
  fi
  for s in "${SOURCES[@]}"; do diff -r --no-dereference "$s" "$WORK/restore-$tool$s" >/dev/null || { echo "s3.sh: $tool restored $s wrongly" >&2; exit 1; }; done
  echo "$tool-stored $(du -sb "$WORK/s3/$bucket" | cut -f1)" >>"$WORK/results"
  rm -rf "$WORK/restore-$tool"
done

python3 - "$WORK/results" "$INPUT" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, *values = line.split()
    rows[name] = [float(v) for v in values]
gb = int(sys.argv[2]) / 1e9
def mb(b): return f"{b / 1e6:,.0f} MB"
def ratio(a, b): return f"{a / b:.2f}×" if b else "-"
table = []
for phase in ("backup", "restore"):
    r, s = rows[f"restic-{phase}"], rows[f"strata-{phase}"]
    table.append((f"{phase}, time", f"{r[0]:.1f} s ({gb * 1000 / r[0]:.0f} MB/s)", f"{s[0]:.1f} s ({gb * 1000 / s[0]:.0f} MB/s)", ratio(s[0], r[0])))
    table.append((f"{phase}, requests", f"{r[1]:.0f}", f"{s[1]:.0f}", ratio(s[1], r[1])))
    table.append((f"{phase}, requests per GB", f"{r[1] / gb:.0f}", f"{s[1] / gb:.0f}", ratio(s[1], r[1])))
    k = 2 if phase == "backup" else 3
    what = "bytes sent to the server" if phase == "backup" else "bytes sent by the server"
    table.append((f"{phase}, {what}", mb(r[k]), mb(s[k]), ratio(s[k], r[k])))
    table.append((f"{phase}, {what} per GB", mb(r[k] / gb), mb(s[k] / gb), ratio(s[k], r[k])))
table.append(("stored in the bucket", mb(rows["restic-stored"][0]), mb(rows["strata-stored"][0]), ratio(rows["strata-stored"][0], rows["restic-stored"][0])))
print(f"input: {gb * 1000:,.0f} MB")
print("|  | restic | strata | strata/restic |\n| --- | --- | --- | --- |")
for row in table: print("| " + " | ".join(row) + " |")
PY
