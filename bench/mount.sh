#!/usr/bin/env bash
# bench/mount.sh — reading through `strata mount` against reading a restored copy (issue 6).
#
# Usage: bench/mount.sh [--size MiB] [--reads N] [--data DIR]
#
# Backs up one file of random data (default 512 MiB) and 2,000 small files, restores it, mounts
# the repository, and measures with the page cache dropped before each run: sequential read of the
# big file (dd, 1 MiB blocks), N random 4 KiB reads (default 2,000; the same offsets on both), the
# time to the first byte of the big file, and a full read of the small files (tar | cat). Each
# measurement through the mount starts a fresh mount (cold chunk cache).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STRATA=${STRATA:-$ROOT/strata}
SIZE=512 READS=2000 DATA=/tmp/strata-mount-bench
while (($#)); do
  case $1 in
    --size) SIZE=${2:?}; shift 2 ;;
    --reads) READS=${2:?}; shift 2 ;;
    --data) DATA=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mount.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -e /dev/fuse ]] || { echo "mount.sh: /dev/fuse is missing: no FUSE here" >&2; exit 1; }

rm -rf "$DATA"; mkdir -p "$DATA/src/small" "$DATA/mnt"
export STRATA_REPOSITORY=$DATA/repo STRATA_PASSWORD=bench
head -c $((SIZE << 20)) /dev/urandom > "$DATA/src/big.bin"
python3 - "$DATA/src/small" <<'PY'
import os, random, sys
rng = random.Random(1)
for i in range(2000):
    with open(os.path.join(sys.argv[1], f"f{i:04d}.txt"), "wb") as f: f.write(rng.randbytes(rng.randint(512, 16384)))
PY
"$STRATA" init >/dev/null
"$STRATA" backup "$DATA/src" >/dev/null
"$STRATA" restore latest --target "$DATA/restored" >/dev/null
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# Each measurement through the mount starts from a fresh mount, so strata's chunk cache is cold too.
MOUNT_PID=
mount_fresh() {
  [[ -n $MOUNT_PID ]] && { kill -TERM "$MOUNT_PID"; wait "$MOUNT_PID" 2>/dev/null || true; }
  "$STRATA" mount "$DATA/mnt" 2>>"$DATA/mount.log" &
  MOUNT_PID=$!
  for _ in $(seq 400); do [[ -e $DATA/mnt/snapshots/latest ]] && return; sleep 0.05; done
  echo "mount.sh: the mount did not appear" >&2; exit 1
}
trap '[[ -n $MOUNT_PID ]] && kill -TERM $MOUNT_PID 2>/dev/null; wait 2>/dev/null || true' EXIT
mount_fresh
MOUNTED=$DATA/mnt/snapshots/latest$DATA/src
COPY=$DATA/restored$DATA/src

seconds() { python3 -c 'import sys,time; t=time.perf_counter(); import subprocess; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(f"{time.perf_counter()-t:.3f}")' "$@"; }
random_reads() { python3 - "$1" "$READS" <<'PY'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size
rng = random.Random(7); offsets = [rng.randrange(0, size - 4096) for _ in range(int(sys.argv[2]))]
t = time.perf_counter()
for o in offsets: assert len(os.pread(fd, 4096, o)) == 4096
print(f"{time.perf_counter() - t:.3f}")
PY
}

printf '%-34s %12s %12s\n' "measure (page cache dropped)" "mount" "restored"
mount_fresh; drop; m=$(seconds dd if="$MOUNTED/big.bin" of=/dev/null bs=1M); drop; r=$(seconds dd if="$COPY/big.bin" of=/dev/null bs=1M)
printf '%-34s %9.0f MB/s %9.0f MB/s\n' "sequential read, ${SIZE} MiB" "$(python3 -c "print($SIZE*1.048576/$m)")" "$(python3 -c "print($SIZE*1.048576/$r)")"
mount_fresh; drop; m=$(random_reads "$MOUNTED/big.bin"); drop; r=$(random_reads "$COPY/big.bin")
printf '%-34s %8.0f reads/s %8.0f reads/s\n' "random 4 KiB reads ($READS)" "$(python3 -c "print($READS/$m)")" "$(python3 -c "print($READS/$r)")"
mount_fresh; drop; m=$(seconds head -c 1 "$MOUNTED/big.bin"); drop; r=$(seconds head -c 1 "$COPY/big.bin")
printf '%-34s %10.1f ms %10.1f ms\n' "first byte of the big file" "$(python3 -c "print($m*1000)")" "$(python3 -c "print($r*1000)")"
mount_fresh; drop; m=$(seconds bash -c "tar -cf - '$MOUNTED/small' | cat >/dev/null"); drop; r=$(seconds bash -c "tar -cf - '$COPY/small' | cat >/dev/null")
printf '%-34s %11.2f s %11.2f s\n' "2,000 small files (tar)" "$m" "$r"
