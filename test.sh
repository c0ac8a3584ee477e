#!/usr/bin/env bash
# Runs every test: installs what the tests need, builds, runs the xunit suite and the shared
# contract checks, and ends with one line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)

# --- what the tests need from Debian ---------------------------------------------------------
packages=(libzstd1 libsodium23 attr e2fsprogs python3 tzdata)
# strata mount (FUSE) and the tools that unpack strata dump archives
packages+=(fuse3 libfuse3-3 tar unzip)
packages+=(qemu-utils)   # image tests: qemu-img, qemu-io, qemu-nbd (CBT with persistent dirty bitmaps)
packages+=(qemu-system-x86) # boot a VM from Strata's NBD exports; running-VM CBT over QMP
packages+=(parted fdisk) # file-level restore tests: partitioned disk images (parted, sfdisk)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} > 0 )); then
  echo "installing: ${missing[*]}"
  # Twice: on a shared machine a first attempt has been seen to fail (dpkg lost a .deb it had just fetched).
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || { echo "could not install ${missing[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

# --- S3 test server: s3rver from npm into .tools/ (ignored), made atomic like S3 (tests/tools) ---
s3rver=.tools/s3rver/node_modules/s3rver
if [[ ! -f $s3rver/bin/s3rver.js ]]; then
  if ! command -v npm >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1
  fi
  (mkdir -p .tools/s3rver && cd .tools/s3rver && { [[ -f package.json ]] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund s3rver@3.7.1 >/dev/null 2>&1) \
    || { echo "could not install s3rver"; echo "0 passed, 1 failed"; exit 1; }
fi
python3 tests/tools/patch-s3rver.py $s3rver/lib/stores/filesystem.js \
  || { echo "could not patch s3rver"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0

# --- build and unit/integration tests --------------------------------------------------------
if ! dotnet build Strata.slnx -c Release --nologo -v quiet -clp:ErrorsOnly; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
results=$(mktemp -d)
dotnet test tests/Strata.Tests/Strata.Tests.csproj -c Release --no-build --nologo \
  --logger "trx;LogFileName=results.trx" --results-directory "$results" 2>&1 | tee "$results/out.txt" | grep -vE '^\s*$' | grep -E 'Failed |error|Passed!|Failed!|Skipped |\[FAIL\]' || true
trx=$(find "$results" -name '*.trx' | head -1)
if [[ -n $trx ]]; then
  read -r p f s < <(python3 - "$trx" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(sys.argv[1]).getroot()
# Why each failed test failed, so a CI log alone explains a failure (stderr: not read below).
for r in root.iter("{%s}UnitTestResult" % ns["t"]):
    if r.get("outcome") == "Failed":
        m = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        print("FAILED %s: %s" % (r.get("testName"), (m.text or "").strip()[:2000] if m is not None else ""), file=sys.stderr)
c = root.find("t:ResultSummary/t:Counters", ns)
total, passed, failed = int(c.get("total")), int(c.get("passed")), int(c.get("failed")) + int(c.get("error")) + int(c.get("timeout")) + int(c.get("aborted"))
print(passed, failed, total - passed - failed)
PY
)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
else
  echo "the test run produced no results"; failed=$((failed + 1))
fi
rm -rf "$results"

# --- contract checks shared by the team (../shared/checks) -----------------------------------
if [[ -d ../shared/checks ]]; then
  for check in roundtrip bad-input; do
    [[ -x ../shared/checks/$check ]] || continue
    if out=$(timeout 900 "../shared/checks/$check" 2>&1); then
      echo "check $check: ok: $(tail -1 <<<"$out")"; passed=$((passed + 1))
    else
      echo "check $check: FAILED: $(tail -3 <<<"$out")"; failed=$((failed + 1))
    fi
  done
fi

if (( skipped > 0 )); then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
(( failed == 0 ))
