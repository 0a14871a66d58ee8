# Sourced by scripts/test and scripts/demo: the same install every time.
#
# uv comes from PyPI (a fresh machine has python3 and venv, no uv): the first run puts the pinned release
# into .uv-bootstrap/ (ignored by git); later runs reuse it. `uv_sync EXTRA...` then installs exactly what
# uv.lock says into .venv, the package itself editable. uv.lock fixes what we test with; the package's own
# dependency ranges in pyproject.toml stay ranges. After changing dependencies in pyproject.toml, run
# `.uv-bootstrap/bin/uv lock` (newest versions within the ranges: `uv lock --upgrade`) and commit uv.lock.
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

# uv_sync [uv sync options]: .venv as uv.lock says, or a sentence saying what to run when uv.lock no
# longer matches pyproject.toml (a dependency was added without re-locking).
uv_sync() {
  if ! "$UV" lock --check --quiet; then
    echo "uv.lock does not match pyproject.toml: run .uv-bootstrap/bin/uv lock and commit uv.lock." >&2
    return 1
  fi
  "$UV" sync --frozen --quiet "$@"
}
