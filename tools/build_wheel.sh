#!/bin/sh
# Builds dist/secateur-<version>-py3-none-<platform>.whl: bindings/python plus libsecateur.so inside the package.
#
# Usage: tools/build_wheel.sh [LIBRARY]      (default build/lib/libsecateur.so, from `make lib`)
# Env:   PY  the Python whose pip builds the wheel (default .venv/bin/python). With setuptools and wheel
#            installed there the build is offline (--no-build-isolation); otherwise pip fetches them.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:-$repo/build/lib/libsecateur.so}
py=${PY:-$repo/.venv/bin/python}
case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
case $py in */*) case $py in /*) ;; *) py=$PWD/$py ;; esac ;; esac
[ -f "$lib" ] || { echo "build_wheel: $lib not found (run make lib)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$repo/bindings/python/." "$stage/"
rm -rf "$stage/build" "$stage"/*.egg-info
find "$stage" -name __pycache__ -prune -exec rm -rf {} +
cp "$lib" "$stage/secateur/libsecateur.so"

isolation=--no-build-isolation
"$py" -c "import setuptools, wheel" 2>/dev/null || isolation=
mkdir -p "$repo/dist"
"$py" -m pip wheel --quiet --no-deps $isolation --wheel-dir "$repo/dist" "$stage"
ls -1 "$repo/dist"/secateur-*.whl
