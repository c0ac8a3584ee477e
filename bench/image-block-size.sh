#!/usr/bin/env bash
# bench/image-block-size.sh — how the image block size trades backup speed against bytes read
# and stored per small change (the data behind BlockMap.DefaultBlockSize, docs/PERFORMANCE.md).
#
# Usage: bench/image-block-size.sh [--image RAW] [--sizes "16K 64K 256K 1M"]
#
# For each block size, in a fresh repository: initial CBT backup of a qcow2 copy of an ext4 image,
# then 1% of the image changed as scattered 4 KiB writes (file-system-sized, through qemu-io so the
# dirty bitmap sees them), then an incremental CBT backup. Prints time, bytes read, bytes added,
# and blobs in the index (memory and index size grow with it).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STRATA=${STRATA:-$(cd "$HERE/.." && pwd)/strata}
IMAGE=""
SIZES="16K 64K 256K 1M"
while (( $# )); do
  case $1 in --image) IMAGE=$2; shift ;; --sizes) SIZES=$2; shift ;; *) echo "unknown option $1" >&2; exit 2 ;; esac
  shift
done
DIR=$(mktemp -d /tmp/strata-blocksize-XXXX); trap 'rm -rf "$DIR"' EXIT; cd "$DIR"
export STRATA_PASSWORD=bench
"$STRATA" version >/dev/null
if [[ -n $IMAGE ]]; then cp --sparse=always "$IMAGE" base.raw; else truncate -s 512M base.raw; mkfs.ext4 -q -F -d /usr/share/doc base.raw; fi
SIZE=$(stat -c %s base.raw)
python3 - "$SIZE" <<'PY' > writes.txt
import random, sys
size = int(sys.argv[1]); r = random.Random(1)
for _ in range(int(size * 0.01 / 4096)):
    print("-c"); print(f"write -q -P {r.randrange(1, 256)} {r.randrange(size // 4096) * 4096} 4096")
PY
mapfile -t writes < writes.txt
echo "| block size | initial backup | added | index blobs | incremental (1% as 4 KiB writes) | read | added |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for bs in $SIZES; do
  rm -rf repo vm.qcow2; "$STRATA" -r repo init >/dev/null
  qemu-img convert -f raw -O qcow2 base.raw vm.qcow2; qemu-img bitmap --add --enable vm.qcow2 cbt
  s=$(date +%s.%N); a=$("$STRATA" -r repo image backup vm.qcow2 --cbt qemu-bitmap:cbt --block-size "$bs" --json 2>/dev/null | tail -1); t1=$(echo "$(date +%s.%N) - $s" | bc)
  qemu-io -f qcow2 "${writes[@]}" vm.qcow2 >/dev/null
  s=$(date +%s.%N); b=$("$STRATA" -r repo image backup vm.qcow2 --cbt qemu-bitmap:cbt --json 2>/dev/null | tail -1); t2=$(echo "$(date +%s.%N) - $s" | bc)
  blobs=$("$STRATA" -r repo stats --json | python3 -c "import json,sys; print(json.load(sys.stdin)['index_blob_count'])")
  python3 - "$bs" "$t1" "$t2" "$blobs" "$a" "$b" <<'PY'
import json, sys
bs, t1, t2, blobs, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5]), json.loads(sys.argv[6])
m = lambda x: f"{x / 2**20:.1f} MiB"
print(f"| {bs} | {t1:.2f} s | {m(a['data_added'])} | {blobs} | {t2:.2f} s | {m(b['bytes_read'])} | {m(b['data_added'])} |")
PY
done
