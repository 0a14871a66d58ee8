#!/usr/bin/env bash
# The install step of scripts/test, before (pip, resolving the newest releases each run) and after (uv from
# the committed locks/test.txt), in three states each: cold (a fresh clone, empty package caches), a new clone with
# warm caches (what CI meets on a machine that ran it before), and a warm rerun in the same clone.
#
# Run from the repository root: benchmarks/bench_install.sh [BEFORE_COMMIT] [ROUNDS]
# (default: 8ce8a26, the last commit that installed with pip; 3 rounds; a few minutes per round). Everything
# happens in clones under a temporary folder, with caches of its own; the working tree is not touched.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
before="${1:-8ce8a26}"
rounds="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

seconds() {  # seconds() DIR STEP: wall time of one install step in DIR, or FAILED
  local start end
  start=$(date +%s.%N)
  (cd "$1" && "$2") >"$work/step.log" 2>&1 || { echo FAILED; return; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.1f}')"
}
pip_step() {  # what scripts/test ran before uv
  python3 -m venv .venv && .venv/bin/python -m pip install -q --upgrade pip &&
    .venv/bin/python -m pip install -q -e '.[test]'
}
uv_step() { bash -c '. scripts/_uv.sh && uv_sync test'; }
clone() { git clone -q "$repo" "$work/$1" && git -C "$work/$1" checkout -q "$2"; }

head_commit="$(git -C "$repo" rev-parse --short HEAD)"
echo "before: $before (pip); after: $head_commit (uv)"
for round in $(seq "$rounds"); do
  rm -rf "$work"/{pip-cache,uv-cache,b1,b2,a1,a2}
  export PIP_CACHE_DIR="$work/pip-cache" UV_CACHE_DIR="$work/uv-cache"
  clone b1 "$before"; clone b2 "$before"; clone a1 HEAD; clone a2 HEAD
  pip_cold=$(seconds "$work/b1" pip_step); pip_warm=$(seconds "$work/b1" pip_step)
  pip_new=$(seconds "$work/b2" pip_step)
  uv_cold=$(seconds "$work/a1" uv_step); uv_warm=$(seconds "$work/a1" uv_step)
  uv_new=$(seconds "$work/a2" uv_step)
  echo "round $round: pip cold ${pip_cold} s, new clone ${pip_new} s, warm ${pip_warm} s |" \
    "uv cold ${uv_cold} s, new clone ${uv_new} s, warm ${uv_warm} s"
done
uv="$work/a1/.uv-bootstrap/bin/uv"
frozen() { "$uv" pip freeze --python "$work/$1/.venv/bin/python" 2>/dev/null | grep -v '^-e '; }
if cmp -s <(frozen a1) <(frozen a2); then
  echo "the two uv clones hold the same versions"
else
  echo "the two uv clones differ"
fi
