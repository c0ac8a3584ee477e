#!/usr/bin/env bash
# bench/nbd.sh — instant recovery: how soon an image recovery point is usable over Strata's NBD
# server, against a full 'strata image restore', and how fast the export reads.
#
# Usage: bench/nbd.sh [--image RAW] [--dir DIR] [--accel kvm|tcg] [--keep]
#
#   makes the image bootable (a copy with a tiny boot sector in sector 0 and a marker sector 3 MiB
#   before its end; the boot sector is the one of tests/Strata.Tests/Images/BootDisk.cs, whose
#   comments give its assembly), backs it up once, then measures: the time until a VM
#   (qemu-system-x86_64, SeaBIOS) booting from the recovery point prints the marker it reads from
#   the disk, after a full restore, over 'strata serve nbd' and over 'image restore --live'
#   (and booting from the local image itself, for what QEMU and the BIOS take); a full restore
#   (wall time); time from starting
#   'strata serve nbd' to the first 4 KiB read and to 'qemu-img info' succeeding (what a VM's
#   first boot access needs); time from starting 'image restore --live' to the first read;
#   sequential throughput (qemu-img bench, 64 KiB reads, 8 in flight) and random 4 KiB reads
#   (2000 reads at random offsets with qemu-io, one at a time) from the export (cold cache, a new
#   server each) and from the restored copy (O_DIRECT). The export is checked with qemu-img compare.
#   --accel picks QEMU's accelerator (default: KVM when /dev/kvm works, else TCG). Prints Markdown tables.
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
ACCEL=(-accel kvm -accel tcg)
while (( $# )); do
  case $1 in
    --image) IMAGE=$2; shift ;;
    --dir) DIR=$2; shift ;;
    --accel) ACCEL=(-accel "$2"); shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in qemu-img qemu-io qemu-system-x86_64 python3; do command -v $tool >/dev/null || { echo "needs $tool (apt-get install qemu-utils qemu-system-x86 python3)" >&2; exit 1; }; done
[[ -f $IMAGE ]] || { echo "no image at $IMAGE (give --image RAW)" >&2; exit 1; }

rm -rf "$DIR"; mkdir -p "$DIR"
(( KEEP )) || trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
export STRATA_REPOSITORY=$DIR/repo STRATA_PASSWORD=bench
"$STRATA" init -q >/dev/null
"$STRATA" version >/dev/null   # build the launcher's CLI before timing anything
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
SIZE=$(stat -c %s "$IMAGE")
(( SIZE % 1048576 == 0 && SIZE >= 4 << 20 )) || { echo "the image must be a whole number of MiB, at least 4" >&2; exit 1; }

# A bootable copy of the image: the boot sector prints STRATA-BOOT, then the marker sector's text,
# on COM1; writes itself to a sector 1 MiB before the end and reads it back; ends the VM through
# isa-debug-exit (QEMU exit code 33). Its data: disk address packets at 0x100 (marker LBA) and
# 0x110/0x120 (write LBA), messages at 0x140.
echo "making a bootable copy of $IMAGE ($((SIZE >> 20)) MiB)..." >&2
cp --sparse=always "$IMAGE" "$DIR/boot.img"
MARKER="strata-bench-marker-$$"
python3 - "$DIR/boot.img" "$SIZE" "$MARKER" <<'PY'
import struct, sys
path, size, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
code = bytes.fromhex(
    "fa31c08ed88ec08ed0bc007cfbfc89d5be407de85500be007db44289eacd13be4e7d7236be0080e84100be107d"
    "b8004389eacd13be677d7221be207db44289eacd13be677d7213be007cbf0080b90001f3a7be767d7503be5c7d"
    "e80e00be897de80800b010e6f4faf4ebfdac84c0741288c4bafd03eca82074fb88e0baf803eeebe9c3")
marker_lba, write_lba = (size - (3 << 20)) // 512 + 5, (size - (1 << 20)) // 512 + 7
dap = lambda buffer, lba: struct.pack("<BBHHHQ", 16, 0, 1, buffer, 0, lba)
sector = bytearray(512)
sector[:len(code)] = code
sector[0x100:0x130] = dap(0x8000, marker_lba) + dap(0x7C00, write_lba) + dap(0x8000, write_lba)
text = b"STRATA-BOOT\r\n\0READ-FAILED\r\n\0WRITE-OK\r\n\0WRITE-FAILED\r\n\0READBACK-DIFFERS\r\n\0DONE\r\n\0"
sector[0x140:0x140 + len(text)] = text
sector[510:512] = b"\x55\xaa"
with open(path, "r+b") as f:
    f.write(sector)
    f.seek(marker_lba * 512)
    f.write((marker + "\r\n").encode().ljust(512, b"\0"))
PY
IMAGE=$DIR/boot.img
# Boots a VM from the -drive value $1 and returns once it has printed the marker and ended.
boot() {
  local rc=0
  rm -f "$DIR/serial.txt"
  timeout 600 qemu-system-x86_64 "${ACCEL[@]}" -display none -nodefaults -no-reboot -m 32 -serial "file:$DIR/serial.txt" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -drive "$1" 2>/dev/null || rc=$?
  [[ $rc == 33 ]] && grep -q "$MARKER" "$DIR/serial.txt" \
    || { echo "the VM booted from $1 did not print its marker (exit $rc): $(cat "$DIR/serial.txt" 2>/dev/null)" >&2; exit 1; }
}

echo "backing up the bootable copy..." >&2
"$STRATA" image backup "$IMAGE" --name bench -q >&2
SNAP=latest

# snapshot=on: QEMU keeps the guest's write in a temporary overlay, the image stays as backed up.
t0=$(now); boot "file=$IMAGE,format=raw,if=ide,snapshot=on"; t1=$(now)
VM_LOCAL=$(secs $t0 $t1)

t0=$(now); "$STRATA" image restore $SNAP --target "$DIR/restored.raw" -q; t1=$(now)
boot "file=$DIR/restored.raw,format=raw,if=ide,snapshot=on"; t2=$(now)
FULL=$(secs $t0 $t1); VM_FULL=$(secs $t0 $t2)

SOCK=$DIR/nbd.sock
URL="nbd+unix:///?socket=$SOCK"
wait_read() { until qemu-io -r -f raw -c "read 0 4k" "$URL" >/dev/null 2>&1; do sleep 0.02; done; }
# Before a boot: a bare connection, so no block is in the server's cache before the VM asks for it.
wait_listen() { until python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$SOCK" 2>/dev/null; do sleep 0.02; done; }
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

# A user starts the server, then the VM once it listens (qemu does not retry the connection).
t0=$(now); serve; wait_listen; boot "file=$URL,format=raw,if=ide,snapshot=on"; t1=$(now)
VM_SERVE=$(secs $t0 $t1)
stop

rm -f "$DIR/live.raw"
t0=$(now); "$STRATA" image restore $SNAP --target "$DIR/live.raw" --live --serve-nbd "unix:$SOCK" -q & PID=$!
wait_listen; boot "file=$URL,format=raw,if=ide"; t1=$(now)
VM_LIVE=$(secs $t0 $t1)
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
| $((SIZE >> 20)) MiB image: until a VM booting from it prints its marker | time |
|---|---|
| the local image file itself, no Strata (QEMU and the BIOS alone) | ${VM_LOCAL} s |
| full \`strata image restore\`, then boot from the restored file | ${VM_FULL} s |
| \`serve nbd\` started, boot from the export | ${VM_SERVE} s |
| \`image restore --live\` started, boot from the target it serves | ${VM_LIVE} s |

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
