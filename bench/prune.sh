#!/usr/bin/env bash
# bench/prune.sh — prune time and peak memory, strata against restic, on a repository of
# 100,000+ blobs (issue: retention and garbage collection).
#
# Usage: bench/prune.sh [--files N] [--data DIR]
#
# Builds a tree of N small files (default 120,000; 1–16 KiB each, so one blob per file), and
# for each tool: init, backup s1, change 40% of the files and delete 10%, backup s2, forget s1,
# prune (timed with /usr/bin/time: wall seconds and peak RSS), then check. Both tools see the same
# data; restic's prune runs with its defaults (max-unused 5%), strata's too.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STRATA=${STRATA:-$ROOT/strata}
FILES=120000
DATA=/tmp/strata-prune-bench
while (($#)); do
  case $1 in
    --files) FILES=${2:?}; shift 2 ;;
    --data) DATA=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "prune.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v restic >/dev/null || { apt-get install -y -qq restic >/dev/null; }
[[ -x /usr/bin/time ]] || apt-get install -y -qq time >/dev/null

rm -rf "$DATA"; mkdir -p "$DATA"
make_tree() { # $1 = phase (0: create, 1: mutate)
  python3 - "$DATA/tree" "$FILES" "$1" <<'PY'
import os, random, sys
root, n, phase = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42 + phase)
for i in range(n):
    path = os.path.join(root, f"d{i % 300:03d}", f"f{i:06d}.bin")
    if phase == 0:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f: f.write(rng.randbytes(rng.randint(1024, 16384)))
    else:
        r = rng.random()
        if r < 0.10: os.remove(path)
        elif r < 0.50:
            with open(path, "wb") as f: f.write(rng.randbytes(rng.randint(1024, 16384)))
PY
}
echo "building $FILES files"; make_tree 0
cp -a "$DATA/tree" "$DATA/tree-s1"; make_tree 1; mv "$DATA/tree" "$DATA/tree-s2"

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$DATA/time" "$@" >"$DATA/out.$label" 2>&1 || { echo "$label failed:"; tail -5 "$DATA/out.$label"; exit 1; }
  read -r secs kb <"$DATA/time"; echo "$label $secs $((kb / 1024))" >>"$DATA/results"
}
: >"$DATA/results"
export RESTIC_PASSWORD=bench STRATA_PASSWORD=bench

# restic
R="$DATA/restic-repo"; restic init -q -r "$R"
use() { if [[ -n $current ]]; then mv "$DATA/tree" "$DATA/tree-$current"; fi; mv "$DATA/tree-$1" "$DATA/tree"; current=$1; }
current=
use s1; restic -q -r "$R" backup "$DATA/tree" >/dev/null
use s2; restic -q -r "$R" backup "$DATA/tree" >/dev/null
first=$(restic -r "$R" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
restic -q -r "$R" forget "$first" >/dev/null
restic_blobs=$(restic -r "$R" list blobs | wc -l)
measure restic-prune restic -r "$R" prune
restic -q -r "$R" check >/dev/null

# strata
S="$DATA/strata-repo"; "$STRATA" init -r "$S" >/dev/null
use s1; "$STRATA" -r "$S" backup -q "$DATA/tree" >/dev/null
use s2; "$STRATA" -r "$S" backup -q "$DATA/tree" >/dev/null
first=$("$STRATA" -r "$S" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
rm "$S/snapshots/$first"   # what 'strata forget ID' does
strata_blobs=$("$STRATA" -r "$S" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["index_blob_count"])')
measure strata-prune "$STRATA" -r "$S" prune
"$STRATA" -r "$S" check >/dev/null

echo
echo "blobs before prune: restic $restic_blobs, strata $strata_blobs"
python3 - "$DATA/results" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
r, s = rows["restic-prune"], rows["strata-prune"]
print("| | restic | strata | strata/restic |\n| --- | --- | --- | --- |")
print(f"| prune time | {r[0]:.1f} s | {s[0]:.1f} s | {s[0]/r[0]:.2f}× |")
print(f"| prune peak RSS | {r[1]} MB | {s[1]} MB | {s[1]/r[1]:.2f}× |")
PY
