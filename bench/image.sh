#!/usr/bin/env bash
# bench/image.sh — disk-image backup and restore with changed-block tracking, in the spirit of the
# Avamar paper: an ext4 image of at least 2 GiB, a 2% scattered change, then a 5% change.
#
# Usage: bench/image.sh [--image RAW | --size SIZE] [--block-size 64K] [--no-restic] [--warm] [--dir DIR] [--keep]
#
#   initial backup; after each change: strata incremental with CBT (qemu dirty bitmap on a qcow2
#   copy), strata incremental reading the whole raw image (into a repository of its own, so it
#   stores the change itself rather than finding it deduplicated), restic on the raw image file; then
#   a full restore of the latest point against incremental restores of the latest and of the
#   oldest point onto the disk (which has drifted by a further 1% since the last backup), with
#   the target's bitmap (CBT) and by hashing a raw target. Every restore is checked against the
#   disk's SHA-256 at that point (taken before, so no copy of the disk is kept) or with
#   qemu-img compare. Prints a Markdown table of times, bytes and ratios.
#   Every timed command starts with a cold page cache (as when a disk is read from storage, where
#   Avamar's figures come from); --warm keeps the cache (then a full read of a raw file only hashes).
#
# The image defaults to the shared dataset's disk.img ($BENCH_DATA/pristine/disk.img, a 2 GiB
# ext4 image about half full, see ../shared/bench); without it, one is built with mkfs.ext4 -d /usr.
# --size SIZE (e.g. 16G) builds a bigger ext4 disk instead, from /usr and the shared dataset's tree
# (hard-linked into a staging folder, so nothing is copied twice): fixed costs (process start,
# key derivation, starting qemu) weigh less on a bigger disk, as on the servers Avamar measured.
# Disk space: about 3× the allocated size (raw image, qcow2 copy, full restore) plus the repositories.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STRATA=${STRATA:-$ROOT/strata}
IMAGE=${BENCH_DATA:-/tmp/strata-bench}/pristine/disk.img
TREE=${BENCH_DATA:-/tmp/strata-bench}/pristine/tree
BUILD_SIZE=
DIR=/tmp/strata-image-bench
BLOCK=64K
RESTIC=1
KEEP=0
COLD=1
while (( $# )); do
  case $1 in
    --image) IMAGE=$2; shift ;;
    --size) BUILD_SIZE=$2; shift ;;
    --block-size) BLOCK=$2; shift ;;
    --no-restic) RESTIC=0 ;;
    --warm) COLD=0 ;;
    --dir) DIR=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in qemu-img qemu-io python3; do command -v $tool >/dev/null || { echo "needs $tool (apt-get install qemu-utils python3)" >&2; exit 1; }; done
(( RESTIC )) && ! command -v restic >/dev/null && { echo "restic not installed: running without it" >&2; RESTIC=0; }

rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
(( KEEP )) || trap 'rm -rf "$DIR"' EXIT
export STRATA_PASSWORD=bench RESTIC_PASSWORD=bench
"$STRATA" version >/dev/null   # builds the launcher's binary outside the timings

if [[ -n $BUILD_SIZE ]]; then
  mkdir -p staging
  cp -al /usr staging/usr   # hard links: the staging folder costs no data
  [[ -d $TREE ]] && cp -al "$TREE" staging/home
  truncate -s "$BUILD_SIZE" disk.raw; mkfs.ext4 -q -F -d staging disk.raw; rm -rf staging
elif [[ -f $IMAGE ]]; then cp --sparse=always "$IMAGE" disk.raw
else truncate -s 2G disk.raw; mkfs.ext4 -q -F -d /usr disk.raw; fi
SIZE=$(stat -c %s disk.raw)
qemu-img convert -f raw -O qcow2 disk.raw vm.qcow2
qemu-img bitmap --add --enable vm.qcow2 cbt

# t LABEL CMD...: runs CMD, records wall seconds in $LABEL.t and stdout in $LABEL.out
t() {
  local label=$1; shift
  (( COLD )) && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  local s=$(date +%s.%N); "$@" > "$label.out"; echo "$(date +%s.%N) - $s" | bc > "$label.t"
}
field() { python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')][-1][sys.argv[2]])" "$1.out" "$2"; }

# change PERCENT SEED: scattered 64 KiB writes of random data, the same on vm.qcow2 (through qemu,
# so the dirty bitmap sees them) and on disk.raw
change() {
  python3 - "$SIZE" "$1" "$2" <<'PY'
import os, random, sys
size, percent, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed); n = int(size * percent / 100 / 65536)
os.makedirs("chunks", exist_ok=True)
with open("writes.txt", "w") as w, open("disk.raw", "r+b") as raw:
    for i in range(n):
        off = r.randrange(size // 65536) * 65536
        data = r.randbytes(65536)
        open(f"chunks/{i}", "wb").write(data)
        raw.seek(off); raw.write(data)
        w.write(f"-c\nwrite -q -s chunks/{i} {off} 65536\n")
PY
  mapfile -t args < writes.txt
  qemu-io -f qcow2 "${args[@]}" vm.qcow2 >/dev/null
  rm -rf chunks writes.txt
}

R=$DIR/repo; RF=$DIR/repo-full-read; RR=$DIR/restic
"$STRATA" -r "$R" init >/dev/null
"$STRATA" -r "$RF" init >/dev/null
(( RESTIC )) && restic -r "$RR" init -q >/dev/null

echo "initial backups of a $((SIZE >> 20)) MiB image ($(du -m disk.raw | cut -f1) MiB allocated)" >&2
t s_cbt_0 "$STRATA" -r "$R" image backup vm.qcow2 --cbt qemu-bitmap:cbt --name vm --block-size "$BLOCK" --json
t s_full_0 "$STRATA" -r "$RF" image backup disk.raw --name raw --block-size "$BLOCK" --json
(( RESTIC )) && t r_0 restic -r "$RR" backup -q --json disk.raw
sha256sum <disk.raw | cut -d' ' -f1 >point0.sha
for step in 1:2 2:5; do
  i=${step%%:*}; pct=${step##*:}
  change "$pct" "$i"
  echo "after a $pct% change" >&2
  t s_cbt_$i "$STRATA" -r "$R" image backup vm.qcow2 --cbt qemu-bitmap:cbt --name vm --json
  t s_full_$i "$STRATA" -r "$RF" image backup disk.raw --name raw --json
  (( RESTIC )) && t r_$i restic -r "$RR" backup -q --json disk.raw
done
sha256sum <disk.raw | cut -d' ' -f1 >point2.sha
latest=$(field s_cbt_2 snapshot_id); oldest=$(field s_cbt_0 snapshot_id)

# same_as FILE POINT: FILE (raw) holds the disk as it was at POINT
same_as() { [[ $(sha256sum <"$1" | cut -d' ' -f1) == $(cat "$2.sha") ]] || { echo "$1 differs from the disk at $2" >&2; exit 1; }; }

# The disk drifts after its last backup (1% more); then bring it back.
change 1 9
echo "restores" >&2
t full_restore "$STRATA" -r "$R" image restore "$latest" --target full.raw --json
same_as full.raw point2
t inc_latest "$STRATA" -r "$R" image restore "$latest" --target vm.qcow2 --incremental --cbt qemu-bitmap:cbt --json
qemu-img compare -q -f qcow2 -F raw vm.qcow2 full.raw
t hash_latest "$STRATA" -r "$R" image restore "$latest" --target disk.raw --incremental --json
qemu-img compare -q -f raw -F raw disk.raw full.raw
t inc_oldest "$STRATA" -r "$R" image restore "$oldest" --target vm.qcow2 --incremental --cbt qemu-bitmap:cbt --json
rm full.raw; "$STRATA" -r "$R" image restore "$oldest" --target full.raw >/dev/null
same_as full.raw point0
qemu-img compare -q -f qcow2 -F raw vm.qcow2 full.raw
if (( RESTIC )); then t r_restore restic -r "$RR" restore latest --target restic-out -q; fi

python3 - "$RESTIC" "$SIZE" <<'PY'
import json, sys
restic, size = sys.argv[1] == "1", int(sys.argv[2])
def t(l): return float(open(f"{l}.t").read())
def j(l): return [json.loads(x) for x in open(f"{l}.out") if x.startswith("{")][-1]
mib = lambda b: f"{b / 2**20:.1f} MiB"
print(f"| image {size >> 20} MiB | strata CBT | strata full read | restic | CBT / full read |")
print("| --- | --- | --- | --- | --- |")
for i, label in [(0, "initial backup"), (1, "after 2% change"), (2, "after 5% change")]:
    c, f = j(f"s_cbt_{i}"), j(f"s_full_{i}")
    r = f"{t(f'r_{i}'):.2f} s" if restic else "-"
    print(f"| {label}: time | {t(f's_cbt_{i}'):.2f} s | {t(f's_full_{i}'):.2f} s | {r} | {t(f's_cbt_{i}') / t(f's_full_{i}'):.3f} |")
    print(f"| {label}: read / changed / added | {mib(c['bytes_read'])} / {mib(c['bytes_changed'])} / {mib(c['data_added'])} | {mib(f['bytes_read'])} / {mib(f['bytes_changed'])} / {mib(f['data_added'])} | | |")
print()
full = t("full_restore"); fj = j("full_restore")
print("| restore | time | fetched | written | vs full restore |")
print("| --- | --- | --- | --- | --- |")
for label, name in [("full restore of the latest point", "full_restore"), ("incremental (CBT) to the latest point", "inc_latest"),
                    ("incremental (CBT) to the oldest point", "inc_oldest"), ("incremental (hashing a raw target) to the latest", "hash_latest")]:
    x = j(name)
    print(f"| {label} | {t(name):.2f} s | {mib(x['bytes_fetched'])} | {mib(x['bytes_written'])} | {full / t(name):.1f}× faster |")
if restic: print(f"| restic restore of the latest (whole file) | {t('r_restore'):.2f} s | | | |")
PY
