#!/usr/bin/env bash
# bench/nbd.sh — instant recovery: how soon an image recovery point is usable over Strata's NBD
# server, against a full 'strata image restore', and how fast the export reads.
#
# Usage: bench/nbd.sh [--image RAW] [--dir DIR] [--keep]
#
#   backs the image up once, then measures: a full restore (wall time); time from starting
#   'strata serve nbd' to the first 4 KiB read and to 'qemu-img info' succeeding (what a VM's
#   first boot access needs); time from starting 'image restore --live' to the first read;
#   sequential throughput (qemu-img bench, 64 KiB reads, 8 in flight) and random 4 KiB reads
#   (2000 reads at random offsets with qemu-io, one at a time) from the export (cold cache, a new
#   server each) and from the restored copy (O_DIRECT). The export is checked with qemu-img compare.
#   Prints a Markdown table.
#
# The image defaults to the shared dataset's disk.img ($BENCH_DATA/pristine/disk.img, 2 GiB ext4).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STRATA=${STRATA:-$ROOT/strata}
IMAGE=${BENCH_DATA:-/tmp/strata-bench}/pristine/disk.img
DIR=/tmp/strata-nbd-bench
KEEP=0
while (( $# )); do
  case $1 in
    --image) IMAGE=$2; shift ;;
    --dir) DIR=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in qemu-img qemu-io python3; do command -v $tool >/dev/null || { echo "needs $tool (apt-get install qemu-utils python3)" >&2; exit 1; }; done
[[ -f $IMAGE ]] || { echo "no image at $IMAGE (give --image RAW)" >&2; exit 1; }

rm -rf "$DIR"; mkdir -p "$DIR"
(( KEEP )) || trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
export STRATA_REPOSITORY=$DIR/repo STRATA_PASSWORD=bench
"$STRATA" init -q >/dev/null
"$STRATA" version >/dev/null   # build the launcher's CLI before timing anything
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
SIZE=$(stat -c %s "$IMAGE")

echo "backing up $IMAGE ($((SIZE >> 20)) MiB)..." >&2
"$STRATA" image backup "$IMAGE" --name bench -q
SNAP=latest

t0=$(now); "$STRATA" image restore $SNAP --target "$DIR/restored.raw" -q; t1=$(now)
FULL=$(secs $t0 $t1)

SOCK=$DIR/nbd.sock
URL="nbd+unix:///?socket=$SOCK"
wait_read() { until qemu-io -r -f raw -c "read 0 4k" "$URL" >/dev/null 2>&1; do sleep 0.02; done; }
serve() { "$STRATA" serve nbd $SNAP --listen "unix:$SOCK" -q & PID=$!; }
stop() { kill -TERM $PID; wait $PID || true; }

t0=$(now); serve; wait_read; t1=$(now)
until qemu-img info -f raw "$URL" >/dev/null 2>&1; do sleep 0.02; done; t2=$(now)
TTFB=$(secs $t0 $t1); INFO=$(secs $t0 $t2)
qemu-img compare -q -f raw -F raw "$IMAGE" "$URL" || { echo "export differs from the image!" >&2; exit 1; }
stop

t0=$(now); "$STRATA" image restore $SNAP --target "$DIR/live.raw" --live --serve-nbd "unix:$SOCK" -q & PID=$!; wait_read; t1=$(now)
LIVE_TTFB=$(secs $t0 $t1)
stop

COUNT=$(( SIZE / 65536 ))
seq_rate() { # $1 = target, rest = qemu-img options; prints MiB/s
  local t0 t1 target=$1; shift
  t0=$(now); qemu-img bench -c $COUNT -d 8 -s 65536 -f raw "$@" "$target" >/dev/null; t1=$(now)
  python3 -c "print(f'{$SIZE / 1048576 / ($t1 - $t0):.0f}')"
}
python3 - "$SIZE" > "$DIR/random.cmds" <<'PY'
import random, sys
size = int(sys.argv[1]); r = random.Random(42)
for _ in range(2000): print(f"read -q {r.randrange(0, size // 4096) * 4096} 4k")
PY
rand_rate() { # $1 = target; prints reads/s
  local t0 t1 target=$1 args=(); shift
  while read -r line; do args+=(-c "$line"); done < "$DIR/random.cmds"
  t0=$(now); qemu-io -r -f raw "$@" "${args[@]}" "$target" >/dev/null; t1=$(now)
  python3 -c "print(f'{2000 / ($t1 - $t0):.0f}')"
}
serve; wait_read; SEQ_NBD=$(seq_rate "$URL"); stop
serve; wait_read; RAND_NBD=$(rand_rate "$URL"); stop
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
SEQ_FILE=$(seq_rate "$DIR/restored.raw" -t none)
RAND_FILE=$(rand_rate "$DIR/restored.raw" -t none)

cat <<EOF2
| $((SIZE >> 20)) MiB image | time |
|---|---|
| full \`strata image restore\` | ${FULL} s |
| \`serve nbd\`: start → first 4 KiB read | ${TTFB} s |
| \`serve nbd\`: start → \`qemu-img info\` done | ${INFO} s |
| \`image restore --live\`: start → first 4 KiB read | ${LIVE_TTFB} s |

| reads | NBD export (cold cache) | restored copy |
|---|---|---|
| sequential 64 KiB, 8 in flight (MiB/s) | ${SEQ_NBD} | ${SEQ_FILE} |
| random 4 KiB, one at a time (reads/s) | ${RAND_NBD} | ${RAND_FILE} |
EOF2
