#!/usr/bin/env bash
# bench/run.sh — side-by-side benchmark of strata against restic (and optionally borg).
#
# Usage: bench/run.sh [--tools restic,strata] [--runs N] [--skip-verify] [--with-image]
#                     [--data DIR] [--keep] [-h|--help]
#
# For each run and each tool, on its own fresh copy of the same dataset:
#   init, backup s1 (timed), mutate.sh seed 1, backup s2 (timed), mutate.sh seed 2,
#   backup s3 (timed), restore latest (timed) into an empty dir, restore s1 (timed) into an
#   empty dir, verify both restores byte for byte (diff -r --no-dereference, cmp for disk.img).
# Measures wall time and peak RSS (/usr/bin/time -f '%e %M'), repository growth per backup
# (du -sb) and the repository size after 3 snapshots. Prints a plain table and a Markdown table,
# writes bench/results/latest.json. See bench/README.md.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
DATA=${BENCH_DATA:-/tmp/strata-bench}
STRATA_SET=${STRATA:+1}
STRATA=${STRATA:-$ROOT/strata}          # the strata launcher (or a built binary)
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
PY=/usr/bin/python3
TOOLS=restic,strata
RUNS=1
VERIFY=1
WITH_IMAGE=0
KEEP=0

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; cat <<'EOF'

Options:
  --tools LIST    comma-separated tools to run: restic, strata, borg (default: restic,strata)
  --runs N        repeat the whole sequence N times; tables show medians (default: 1)
  --skip-verify   do not compare restored trees with the source
  --with-image    back up tree/ AND disk.img (default: tree/ only)
  --data DIR      dataset/scratch directory (default: $BENCH_DATA or /tmp/strata-bench)
  --keep          keep restored trees (default: delete each after verification)
Environment:
  BENCH_DATA      same as --data
  STRATA          strata command (default: <repo>/strata)
  BORG_ENCRYPTION borg init mode (default: repokey-blake2)
  SHARED_BENCH    directory with make-dataset.sh and mutate.sh (default: <repo>/../shared/bench)
EOF
}

while (($#)); do
  case $1 in
    --tools) TOOLS=${2:?--tools needs a value}; shift 2 ;;
    --tools=*) TOOLS=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --skip-verify) VERIFY=0; shift ;;
    --with-image) WITH_IMAGE=1; shift ;;
    --data) DATA=${2:?--data needs a value}; shift 2 ;;
    --data=*) DATA=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
((${#TOOL_LIST[@]})) || { echo "run.sh: --tools is empty" >&2; exit 2; }
for t in "${TOOL_LIST[@]}"; do
  case $t in restic|strata|borg) ;; *) echo "run.sh: unknown tool '$t' (restic, strata, borg)" >&2; exit 2 ;; esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has_tool() { local t; for t in "${TOOL_LIST[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

# ---------------------------------------------------------------- prerequisites
APT_UPDATED=0
apt_install() {  # apt_install PKG...
  ((EUID == 0)) || die "need to install $* but not root; install it by hand"
  if ((APT_UPDATED == 0)); then log "apt-get update"; apt-get update -qq >&2; APT_UPDATED=1; fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
[[ -x /usr/bin/time ]] || apt_install time
[[ -x $PY ]] || apt_install python3
command -v openssl >/dev/null || apt_install openssl
command -v mkfs.ext4 >/dev/null || apt_install e2fsprogs
if has_tool restic; then command -v restic >/dev/null || apt_install restic; fi
if has_tool borg; then command -v borg >/dev/null || apt_install borgbackup; fi
if has_tool strata; then
  [[ -x $STRATA ]] || command -v "$STRATA" >/dev/null || die "strata command not found: $STRATA (set STRATA=...)"
fi
[[ -x $SHARED_BENCH/make-dataset.sh && -x $SHARED_BENCH/mutate.sh ]] ||
  die "make-dataset.sh / mutate.sh not found in $SHARED_BENCH (set SHARED_BENCH=...)"

RESTIC_COMPRESSION=0
RESTIC_SPARSE=0
if has_tool restic; then
  rv=$(restic version | awk '{print $2}')
  IFS=. read -r rmaj rmin _ <<<"$rv"
  if ((rmaj > 0 || rmin >= 14)); then RESTIC_COMPRESSION=1; fi
  if restic restore --help 2>/dev/null | grep -q -- '--sparse'; then RESTIC_SPARSE=1; fi
fi
BORG_SPARSE=0
if has_tool borg && borg extract --help 2>/dev/null | grep -q -- '--sparse'; then BORG_SPARSE=1; fi

# ---------------------------------------------------------------- dataset (pristine copy, reused)
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PRISTINE=$DATA/pristine
WORK=$DATA/work
DS_HASH=$(sha256sum "$SHARED_BENCH/make-dataset.sh" | cut -d' ' -f1)
if [[ -d $PRISTINE/tree && -f $PRISTINE/disk.img && -f $DATA/pristine.ok && $(cat "$DATA/pristine.ok") == "$DS_HASH" ]]; then
  log "reusing dataset $PRISTINE"
else
  log "building dataset into $PRISTINE (make-dataset.sh, a few minutes)"
  rm -rf "$DATA/pristine.tmp" "$PRISTINE" "$DATA/pristine.ok"
  "$SHARED_BENCH/make-dataset.sh" "$DATA/pristine.tmp" >&2
  mv "$DATA/pristine.tmp" "$PRISTINE"
  echo "$DS_HASH" >"$DATA/pristine.ok"
fi

# The ./strata launcher rebuilds when src/ changes, and it sets runtime knobs (e.g. GC settings)
# before it execs the binary. So that no timed step ever includes a build, and an edit made
# during the run cannot swap the binary, build once now, then snapshot the launcher, its build
# inputs and its build output into $DATA/strata-snap and run that copy's launcher: it finds its
# build up to date and execs it with the launcher's own settings. An explicit STRATA=... is used
# as given.
STRATA_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
STRATA_DIRTY=False
[[ -n $(git -C "$ROOT" status --porcelain -- src strata '*.props' 2>/dev/null) ]] && STRATA_DIRTY=True
if has_tool strata && [[ -z $STRATA_SET ]]; then
  log "building strata (./strata version) and snapshotting it into $DATA/strata-snap"
  "$STRATA" version >&2 || die "./strata version failed"
  [[ -x $ROOT/.build/cli/strata && -f $ROOT/.build/cli.stamp ]] || die "no build at $ROOT/.build/cli"
  SNAP=$DATA/strata-snap
  rm -rf "$SNAP"; mkdir -p "$SNAP/.build"
  cp -a "$ROOT/strata" "$ROOT/src" "$SNAP/"
  for f in "$ROOT"/*.props "$ROOT"/*.slnx "$ROOT"/global.json "$ROOT"/[Nn]u[Gg]et.[Cc]onfig; do
    [[ -e $f ]] && cp -a "$f" "$SNAP/"
  done
  cp -a "$ROOT/.build/cli" "$ROOT/.build/cli.stamp" "$SNAP/.build/"
  STRATA=$SNAP/strata
  "$STRATA" version >&2 || die "$STRATA version failed"   # rebuilds here (untimed) if src changed meanwhile
  stamp_before=$(stat -c %Y.%s "$SNAP/.build/cli.stamp")
  "$STRATA" version >/dev/null 2>&1
  [[ $(stat -c %Y.%s "$SNAP/.build/cli.stamp") == "$stamp_before" ]] || die "$STRATA rebuilds on every call"
fi

SRC_PATHS=("$WORK/tree")
((WITH_IMAGE)) && SRC_PATHS+=("$WORK/disk.img")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGROOT=$DATA/logs/$STAMP
mkdir -p "$LOGROOT" "$RESULTS_DIR"
RES=$LOGROOT/results.tsv      # run <TAB> tool <TAB> key <TAB> value
: >"$RES"
rec() { printf '%s\t%s\t%s\t%s\n' "$RUN" "$TOOL" "$1" "$2" >>"$RES"; }
dusb() { du -sb "$@" | awk '{s += $1} END {print s + 0}'; }

# ---------------------------------------------------------------- timing
# timed NAME CMD... : runs CMD under /usr/bin/time after a sync (so earlier writeback is not
# charged to this step); stdout/stderr go to $LOG/NAME.{out,err}. Sets T_SEC, T_KB and T_CPU
# (user + system seconds: this VM's speed varies from run to run, the work done much less).
timed() {
  local name=$1; shift
  sync
  local rc=0 user sys
  /usr/bin/time -f '%e %M %U %S' -o "$LOG/$name.time" "$@" >"$LOG/$name.out" 2>"$LOG/$name.err" || rc=$?
  read -r T_SEC T_KB user sys < <(tail -n 1 "$LOG/$name.time")
  T_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
  if ((rc != 0)); then
    if [[ ($TOOL == restic || $TOOL == strata) && $rc == 3 && $name == backup-* ]] ||
       [[ $TOOL == borg && $rc == 1 ]]; then
      log "WARNING: $TOOL $name exit $rc (warnings, e.g. unreadable source files), see $LOG/$name.err"
    else
      tail -n 20 "$LOG/$name.err" >&2 || true
      die "$TOOL $name failed with exit $rc (logs: $LOG/$name.{out,err})"
    fi
  fi
}
untimed() {  # untimed NAME CMD...
  local name=$1; shift
  "$@" >"$LOG/$name.out" 2>"$LOG/$name.err" || {
    local rc=$?; tail -n 20 "$LOG/$name.err" >&2 || true; die "$TOOL $name failed with exit $rc (logs: $LOG/$name.{out,err})"; }
}

# Last JSON object in a file that has FIELD (restic/strata --json line output), or the whole
# file as one JSON document (borg --json). Prints the field value, or nothing.
json_field() {  # json_field FILE FIELD
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
path, field = sys.argv[1], sys.argv[2]
text = open(path, errors="replace").read()
def find(o):
    if isinstance(o, dict):
        if field in o: return o[field]
        for v in o.values():
            r = find(v)
            if r is not None: return r
    return None
val = None
try:
    val = find(json.loads(text))
except Exception:
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"): continue
        try: o = json.loads(line)
        except Exception: continue
        r = find(o)
        if r is not None: val = r
if val is not None: print(val)
EOF
}

# ---------------------------------------------------------------- tool adapters
# Each tool gets: REPO (its repository dir), per-run cache/config dirs under $RUNDIR.
set_tool_env() {  # TENV: the tool's environment (repository, password, per-run cache dirs)
  case $TOOL in
    restic) TENV=("RESTIC_REPOSITORY=$REPO" RESTIC_PASSWORD=strata-bench "RESTIC_CACHE_DIR=$RUNDIR/cache-restic") ;;
    strata) TENV=("STRATA_REPOSITORY=$REPO" STRATA_PASSWORD=strata-bench) ;;
    borg) TENV=("BORG_REPO=$REPO" BORG_PASSPHRASE=strata-bench "BORG_BASE_DIR=$RUNDIR/borg-base" BORG_RELOCATED_REPO_ACCESS_IS_OK=yes) ;;
  esac
}
t_run() { env "${TENV[@]}" "$@"; }  # plain command with the tool's environment (untimed)
tool_version() {
  case $TOOL in
    restic) restic version ;;
    borg) borg --version ;;
    strata) { "$STRATA" --version 2>/dev/null || "$STRATA" version 2>/dev/null || echo unknown; } | head -n 1 ;;
  esac
}
tool_init() {
  case $TOOL in
    restic) if ((RESTIC_COMPRESSION)); then untimed init t_run restic init --repository-version 2
            else untimed init t_run restic init; fi ;;
    strata) untimed init t_run "$STRATA" init ${STRATA_INIT_FLAGS:-} ;;
    borg) untimed init t_run borg init --encryption="${BORG_ENCRYPTION:-repokey-blake2}" ;;
  esac
}
tool_backup() {  # tool_backup NAME(s1|s2|s3) ; sets SNAP_ID
  local name=$1
  case $TOOL in
    restic) if ((RESTIC_COMPRESSION)); then timed "backup-$name" env "${TENV[@]}" restic backup --json --compression auto "${SRC_PATHS[@]}"
            else timed "backup-$name" env "${TENV[@]}" restic backup --json "${SRC_PATHS[@]}"; fi
            SNAP_ID=$(json_field "$LOG/backup-$name.out" snapshot_id) ;;
    strata) timed "backup-$name" env "${TENV[@]}" "$STRATA" backup --json "${SRC_PATHS[@]}"
            SNAP_ID=$(json_field "$LOG/backup-$name.out" snapshot_id) ;;
    borg) timed "backup-$name" env "${TENV[@]}" borg create --json --compression zstd,3 "::$name" "${SRC_PATHS[@]}"
          SNAP_ID=$name ;;
  esac
  if [[ -z $SNAP_ID && $TOOL != borg ]]; then  # fall back to the newest entry of `snapshots --json`
    local cmd=restic; [[ $TOOL == strata ]] && cmd=$STRATA
    t_run "$cmd" snapshots --json >"$LOG/snapshots-$name.json" 2>"$LOG/snapshots-$name.err" || true
    SNAP_ID=$("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s[-1].get("id") or s[-1].get("short_id") or "")' \
      "$LOG/snapshots-$name.json" 2>/dev/null || true)
  fi
  [[ -n $SNAP_ID ]] || die "$TOOL backup $name: no snapshot id in $LOG/backup-$name.out"
}
tool_added() {  # tool's own "data added" figure for a backup, if it reports one
  case $TOOL in
    restic|strata) json_field "$LOG/backup-$1.out" data_added ;;
    borg) json_field "$LOG/backup-$1.out" deduplicated_size ;;
  esac
}
tool_restore() {  # tool_restore NAME SNAP TARGET
  local name=$1 snap=$2 target=$3
  case $TOOL in
    restic) if ((RESTIC_SPARSE)); then timed "$name" env "${TENV[@]}" restic restore "$snap" --target "$target" --sparse
            else timed "$name" env "${TENV[@]}" restic restore "$snap" --target "$target"; fi ;;
    strata) timed "$name" env "${TENV[@]}" "$STRATA" restore "$snap" --target "$target" ;;
    borg) if ((BORG_SPARSE)); then timed "$name" env -C "$target" "${TENV[@]}" borg extract --sparse "::$snap"
          else timed "$name" env -C "$target" "${TENV[@]}" borg extract "::$snap"; fi ;;
  esac
}
tool_stats() {  # untimed, informative only
  case $TOOL in
    restic) t_run restic stats --json --mode raw-data ;;
    strata) t_run "$STRATA" stats --json ;;
    borg) t_run borg info --json ;;
  esac
}

# verify NAME RESTORE_DIR REFERENCE_DIR : restored copy of $WORK lives at RESTORE_DIR/$WORK
verify() {
  local name=$1 rdir=$2 ref=$3 ok=ok
  if ((VERIFY == 0)); then rec "$name.verify" skipped; return 0; fi
  log "  verify $name against $ref"
  if ! diff -r --no-dereference "$rdir$WORK/tree" "$ref/tree" >"$LOG/$name.diff" 2>&1; then ok=FAILED; fi
  if ((WITH_IMAGE)) && ! cmp "$rdir$WORK/disk.img" "$ref/disk.img" >>"$LOG/$name.diff" 2>&1; then ok=FAILED; fi
  if [[ $ok != ok ]]; then
    log "  VERIFY FAILED: $name differs from $ref ($(wc -l <"$LOG/$name.diff") lines in $LOG/$name.diff):"
    head -n 10 "$LOG/$name.diff" >&2
    VERIFY_FAILED=1
  fi
  rec "$name.verify" "$ok"
}

# ---------------------------------------------------------------- one tool, one run
bench_tool() {
  REPO=$DATA/repos/$TOOL
  RUNDIR=$DATA/state/$TOOL
  LOG=$LOGROOT/run$RUN-$TOOL
  mkdir -p "$LOG"
  set_tool_env
  log "run $RUN/$RUNS $TOOL: fresh work copy of the dataset"
  rm -rf "$WORK" "$REPO" "$RUNDIR" "$DATA/restore"
  mkdir -p "$WORK" "$RUNDIR" "$(dirname "$REPO")"
  cp -a --reflink=auto "$PRISTINE/." "$WORK/"
  rec version "$(tool_version)"

  tool_init
  rec repo_init_bytes "$(dusb "$REPO")"

  # warm the page cache for the source (same for every tool): read everything once
  tar cf - -C "$WORK" "${SRC_PATHS[@]#"$WORK"/}" | cat >/dev/null

  local s prev_size size seed first_id=""
  for s in 1 2 3; do
    if ((s > 1)); then
      seed=$((s - 1))
      "$SHARED_BENCH/mutate.sh" "$WORK" "$seed" >"$LOG/mutate-$seed.json"
      rec "s$s.changed_tree_bytes" "$(json_field "$LOG/mutate-$seed.json" changed_tree_bytes)"
      rec "s$s.changed_img_bytes" "$(json_field "$LOG/mutate-$seed.json" img_bytes)"
    fi
    rec "s$s.source_bytes" "$(dusb "${SRC_PATHS[@]}")"
    prev_size=$(dusb "$REPO")
    tool_backup "s$s"
    size=$(dusb "$REPO")
    rec "s$s.backup_s" "$T_SEC"; rec "s$s.backup_rss_kb" "$T_KB"; rec "s$s.backup_cpu_s" "$T_CPU"
    rec "s$s.added_bytes" "$((size - prev_size))"
    rec "s$s.tool_added_bytes" "$(tool_added "s$s")"
    rec "s$s.snapshot_id" "$SNAP_ID"
    ((s == 1)) && first_id=$SNAP_ID
    log "  backup s$s: ${T_SEC} s (CPU ${T_CPU} s), $((T_KB * 1024 / 1000000)) MB peak RSS, repository +$(((size - prev_size) / 1000000)) MB"
  done
  rec repo_final_bytes "$(dusb "$REPO")"
  if tool_stats >"$LOG/stats.json" 2>"$LOG/stats.err"; then
    rec stats_json "$(tr -d '\n\t' <"$LOG/stats.json")"
  else
    log "  (stats failed, ignored; see $LOG/stats.err)"
  fi

  local latest=latest; [[ $TOOL == borg ]] && latest=s3
  local r
  for r in latest first; do
    local target=$DATA/restore/$TOOL-$r snap=$latest ref=$WORK
    [[ $r == first ]] && { snap=$first_id; ref=$PRISTINE; }
    rm -rf "$target"; mkdir -p "$target"
    tool_restore "restore-$r" "$snap" "$target"
    rec "restore_$r.s" "$T_SEC"; rec "restore_$r.rss_kb" "$T_KB"; rec "restore_$r.cpu_s" "$T_CPU"
    rec "restore_$r.bytes" "$(dusb "$target")"
    log "  restore $r ($snap): ${T_SEC} s (CPU ${T_CPU} s), $((T_KB * 1024 / 1000000)) MB peak RSS"
    verify "restore_$r" "$target" "$ref"
    ((KEEP)) || rm -rf "$target"
  done
}

# ---------------------------------------------------------------- main
VERIFY_FAILED=0
log "tools: ${TOOL_LIST[*]}; runs: $RUNS; sources: ${SRC_PATHS[*]#"$WORK"/}; logs: $LOGROOT"
for ((RUN = 1; RUN <= RUNS; RUN++)); do
  n=${#TOOL_LIST[@]}
  for ((k = 0; k < n; k++)); do   # rotate the order from run to run
    TOOL=${TOOL_LIST[$(((k + RUN - 1) % n))]}
    bench_tool
  done
done
TOOL=-; RUN=0
rm -rf "$DATA/restore"

# ---------------------------------------------------------------- report
META=$LOGROOT/meta.json
"$PY" - "$META" <<EOF
import json, sys, platform, os, subprocess
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
json.dump(dict(
    date=sh("date -u +%Y-%m-%dT%H:%M:%SZ"), host=platform.node(), kernel=platform.release(),
    cpu=cpu, cores=os.cpu_count(), mem_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
    strata_commit="$STRATA_COMMIT", strata_dirty=$STRATA_DIRTY,  # taken when the binary was snapshotted
    dataset=dict(dir="$PRISTINE", make_dataset_sha256="$DS_HASH",
                 tree_bytes=int(sh("du -sb '$PRISTINE/tree' | cut -f1") or 0),
                 sources=[p.replace("$WORK/", "") for p in "${SRC_PATHS[*]}".split()]),
    options=dict(tools="${TOOLS}", runs=$RUNS, verify=bool($VERIFY), with_image=bool($WITH_IMAGE),
                 restic_compression_auto=bool($RESTIC_COMPRESSION), restic_sparse_restore=bool($RESTIC_SPARSE),
                 borg_compression="zstd,3", borg_encryption="${BORG_ENCRYPTION:-repokey-blake2}"),
    logs="$LOGROOT"), open(sys.argv[1], "w"), indent=1)
EOF

"$PY" "$HERE/report.py" "$RES" "$META" "$RESULTS_DIR/latest.json" "${TOOL_LIST[@]}"
cp "$RESULTS_DIR/latest.json" "$RESULTS_DIR/$STAMP.json"
log "results: $RESULTS_DIR/latest.json (also $RESULTS_DIR/$STAMP.json); logs: $LOGROOT"
if ((VERIFY_FAILED)); then die "a restore did not match its source (see above)"; fi
