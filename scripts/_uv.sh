# Sourced by scripts/test and scripts/demo: the same install every time.
#
# uv comes from PyPI (a fresh machine has python3 and venv, no uv): the first run puts the pinned release
# into .uv-bootstrap/ (ignored by git); later runs reuse it. `uv_sync test` / `uv_sync demo` then installs
# exactly what locks/test.txt / locks/demo.txt say into .venv, checking every hash, and the package itself
# editable. The locks are `uv pip compile` output: versions and hashes only, no index addresses (uv.lock
# records the registry's address in every entry, and the repository names no registry). They fix what we
# test with; the package's own dependency ranges in pyproject.toml stay ranges. After changing
# dependencies in pyproject.toml, run the two commands docs/development.md lists (`uv_lock_command test`, then
# `uv_lock_command demo` prints them: the demo lock is constrained to the test lock's versions) and commit
# both files.
UV_VERSION=0.13.9
UV=.uv-bootstrap/bin/uv
case "$("$UV" --version 2>/dev/null)" in
  "uv $UV_VERSION"*) ;;
  *)
    rm -rf .uv-bootstrap
    python3 -m venv .uv-bootstrap
    .uv-bootstrap/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
    ;;
esac
# The machine's python3 builds .venv; uv never downloads an interpreter of its own.
export UV_PYTHON_DOWNLOADS=never
export UV_PYTHON="${UV_PYTHON:-python3}"

# uv_lock_args NAME: what `uv pip compile` resolves for locks/NAME.txt. The demo lock takes the test lock
# as constraints, so the demo and the tests run the same version of every package they share.
uv_lock_args() {
  case "$1" in
    test) echo "pyproject.toml --extra test" ;;
    demo) echo "pyproject.toml --extra demo -c locks/test.txt" ;;
    *) echo "uv_lock_args: no lock named '$1' (test or demo)" >&2; return 1 ;;
  esac
}

# uv_lock_command NAME: the one command that re-locks locks/NAME.txt (add --upgrade for the newest
# releases within the ranges). An existing lock's pins are kept where pyproject.toml still allows them.
uv_lock_command() {
  echo "$UV pip compile $(uv_lock_args "$1") --generate-hashes --universal --python-version 3.10 -o locks/$1.txt"
}

# uv_lock_fresh NAME: succeeds when locks/NAME.txt still matches pyproject.toml. It re-compiles into a
# temporary copy of the lock (which keeps its pins) and compares the two without comment lines (the
# header names the output file; `# via` lines may differ in order). From the package cache first (no
# network, ~1 s), then against the index when the cache lacks something or may be older than the lock.
# A pass is remembered in .venv for this pyproject.toml and this lock, so a warm run re-checks nothing.
uv_lock_fresh() {
  local name="$1" lock="locks/$1.txt" tmp stamp args
  args="$(uv_lock_args "$name")" || return 1
  stamp=".venv/.lock-checked-$name"
  local digest
  digest="$(cat pyproject.toml "$lock" $([ "$name" = demo ] && echo locks/test.txt) | sha256sum)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && return 0
  tmp="$(mktemp -d)"
  cp "$lock" "$tmp/$name.txt"
  local recompile="$UV pip compile --quiet $args --generate-hashes --universal --python-version 3.10"
  # shellcheck disable=SC2086  # $recompile is a word list on purpose
  if ! { $recompile --offline -o "$tmp/$name.txt" 2>/dev/null && same_pins "$lock" "$tmp/$name.txt"; }; then
    cp "$lock" "$tmp/$name.txt"
    if ! $recompile -o "$tmp/$name.txt"; then
      rm -rf "$tmp"
      echo "Could not re-resolve pyproject.toml to check $lock (uv's reason is above)." >&2
      return 1
    fi
    if ! same_pins "$lock" "$tmp/$name.txt"; then
      rm -rf "$tmp"
      echo "$lock does not match pyproject.toml: run $(uv_lock_command "$name") and commit $lock." >&2
      return 1
    fi
  fi
  rm -rf "$tmp"
  [ ! -d .venv ] || echo "$digest" >"$stamp"
}

# project_current: the package is installed editable from this pyproject.toml (its entry points and
# metadata come from there), so installing it again would change nothing.
project_current() {
  [ "$(cat .venv/.project-installed 2>/dev/null)" = "$(sha256sum <pyproject.toml)" ] &&
    compgen -G ".venv/lib/python*/site-packages/qamera_widgets-*.dist-info" >/dev/null
}

same_pins() { cmp -s <(grep -v '^[[:space:]]*#' "$1") <(grep -v '^[[:space:]]*#' "$2"); }

# uv_sync NAME: .venv as locks/NAME.txt says (NAME is test or demo), the package itself editable, or a
# sentence saying what to run when the lock no longer matches pyproject.toml (a dependency was added
# without re-locking).
uv_sync() {
  local name="$1" lock="locks/$1.txt"
  # .venv first: it keeps the record of a passed check (an empty .venv costs nothing if the check fails).
  [ -x .venv/bin/python ] || "$UV" venv --quiet .venv || return 1
  uv_lock_fresh "$name" || return 1
  if [ "$name" = demo ]; then
    # install, not sync: sync would remove the test tools scripts/test put into the same .venv. The demo
    # lock holds the test lock's versions, so nothing already installed changes version either way.
    "$UV" pip install --quiet --python .venv/bin/python --require-hashes -r "$lock" || return 1
    if project_current; then return 0; fi
  else
    # A real sync removes the editable package (the lock cannot hold it: no hash), which then has to be
    # built again (1-5 s on a busy machine). When a dry run plans nothing but that removal and the
    # package was installed from this pyproject.toml, .venv already is the lock plus the package; any
    # other plan, or a failed dry run, gets the real sync.
    local plan
    plan="$("$UV" pip sync --dry-run --python .venv/bin/python --require-hashes "$lock" 2>&1)" || plan=" + ?"
    if printf '%s\n' "$plan" | grep '^ [-+~] ' | grep -qv '^ - qamera-widgets=='; then
      "$UV" pip sync --quiet --python .venv/bin/python --require-hashes "$lock" || return 1
    elif project_current && printf '%s\n' "$plan" | grep -q '^ - qamera-widgets=='; then
      return 0
    fi
  fi
  # The project is not in the lock (a lock pins what it depends on); its dependencies are all there.
  rm -f .venv/.project-installed
  "$UV" pip install --quiet --python .venv/bin/python --no-deps -e . || return 1
  sha256sum <pyproject.toml >.venv/.project-installed
}
