#!/usr/bin/env bash
# The main job on embedded defaults: back up a folder into a local repository, change it, back up
# again, restore the latest snapshot, verify it byte for byte, and print the figures.
# Usage: ./demo.sh [FOLDER]   (default: a copy of /usr/share/doc plus some generated files)
set -euo pipefail
cd "$(dirname "$0")"
for p in libzstd1 libsodium23; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }
done

work=$(mktemp -d /tmp/strata-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export STRATA_REPOSITORY=$work/repo STRATA_PASSWORD=demo-password
src=$work/data
if [[ $# -gt 0 ]]; then
  cp -a "$1" "$src"
else
  mkdir -p "$src"
  cp -a /usr/share/doc "$src/doc"
  head -c 20000000 /dev/urandom >"$src/photo-archive.bin"
  for i in $(seq 1 20000); do echo "$i INFO request served in $((i % 97)) ms"; done >"$src/app.log"
  cp "$src/photo-archive.bin" "$src/photo-archive-copy.bin"
fi

field() { python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]; print(d[sys.argv[2]])' "$1" "$2"; }
human() { numfmt --to=iec-i --suffix=B "$1"; }

echo "== strata demo in $work"
./strata init >/dev/null
echo "-- first backup of $(du -sh "$src" | cut -f1)"
./strata backup --json "$src" >"$work/b1.json"
echo "   $(field "$work/b1.json" files_new) files, $(human "$(field "$work/b1.json" total_bytes_processed)") read, $(human "$(field "$work/b1.json" data_added)") stored, $(field "$work/b1.json" total_duration) s"

echo "-- changing the folder: append to the log, edit the middle of a big file, add a file"
for i in $(seq 1 2000); do echo "$i WARN retrying"; done >>"$src/app.log"
printf 'edited in place' | dd of="$src/photo-archive.bin" bs=1 seek=10000000 conv=notrunc status=none
head -c 3000000 /dev/urandom >"$src/new-file.bin"
./strata backup --json "$src" >"$work/b2.json"
echo "   $(field "$work/b2.json" files_new) new, $(field "$work/b2.json" files_changed) changed, $(field "$work/b2.json" files_unmodified) unmodified; $(human "$(field "$work/b2.json" data_added)") stored, $(field "$work/b2.json" total_duration) s"

echo "-- restoring the latest snapshot"
./strata restore latest --target "$work/restore" --json >"$work/r.json"
echo "   $(human "$(field "$work/r.json" bytes_written)") written in $(field "$work/r.json" total_duration) s"
if diff -r --no-dereference "$src" "$work/restore$src" >/dev/null; then echo "   verified: the restore equals the folder byte for byte"; else echo "   VERIFY FAILED"; exit 1; fi

echo "-- check --read-data"
./strata check --read-data | tail -1 | sed 's/^/   /'
echo "-- snapshots and stats"
./strata snapshots
./strata stats

echo "-- retention: delete the big files, back up, keep only the latest snapshot, give the space back"
rm -f "$src"/photo-archive*.bin "$src/new-file.bin"
./strata backup --quiet "$src" >/dev/null
before=$(./strata stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])')
./strata forget --keep-last 1 --prune --json >"$work/f.json"
echo "   forgot $(grep -c '"message_type":"removed"' "$work/f.json") snapshots; prune deleted $(field "$work/f.json" packs_deleted) packs ($(human "$(field "$work/f.json" bytes_deleted)"))"
after=$(./strata stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])')
echo "   stored: $(human "$before") -> $(human "$after")"
./strata check --read-data | tail -1 | sed 's/^/   /'
