#!/usr/bin/env bash
# Create or reuse .venv/ at the repository root and install only what is missing.
#
# Why not a plain `pip install -r`: mmpose 1.3.2 needs the full mmcv (compiled
# ops) which PyPI only ships as source for 2.1.0; `pip install mmpose` pulls
# chumpy, which does not build; the xtcocotools wheel is built for numpy 1.x.
# So the stack is installed in steps, and the slow mmcv build is cached as a
# wheel keyed by the torch version it was built against.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AEPLUGIN_VENV:-$ROOT/.venv}"
BASE_PYTHON="${AEPLUGIN_BASE_PYTHON:-python3.11}"
TORCH_SPEC="${AEPLUGIN_TORCH:-torch==2.14.1 torchvision==0.29.1}"
CACHE="${AEPLUGIN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aeplugin/wheels}"
STAMP="$VENV/.aeplugin-installed"

hash_inputs() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(hash_inputs)" ]; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$BASE_PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

have() { "$PY" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$1" 2>/dev/null; }

echo "[setup_env] build tools"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"

if ! have torchvision; then
  echo "[setup_env] $TORCH_SPEC"
  # shellcheck disable=SC2086
  "${PIP[@]}" $TORCH_SPEC
fi
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"

wheel_dir="$CACHE/torch-$TORCH_VERSION"
mkdir -p "$wheel_dir"

install_cached_wheel() {
  "${PIP[@]}" --no-deps "$wheel_dir"/"$1"-*.whl
}

build_mmcv() {
  # torch >= 2.14 headers need C++20; mmcv 2.1.0's setup.py pins -std=c++14/17.
  local src
  src="$(mktemp -d)"
  "$PY" -m pip download --disable-pip-version-check -q --no-deps \
    --no-build-isolation --no-binary :all: -d "$src" mmcv==2.1.0
  tar xzf "$src"/mmcv-2.1.0.tar.gz -C "$src"
  sed -i 's/-std=c++1[47]/-std=c++20/g' "$src"/mmcv-2.1.0/setup.py
  echo "[setup_env] building mmcv 2.1.0 with ops (~11 min on 2 cores; cached in $wheel_dir)"
  MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "$PY" -m pip wheel \
    --disable-pip-version-check -q --no-deps --no-build-isolation \
    -w "$wheel_dir" "$src"/mmcv-2.1.0
  rm -rf "$src"
}

if ! have mmcv; then
  ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1 || build_mmcv
  install_cached_wheel mmcv
fi
if ! have xtcocotools; then
  # PyPI's wheel is built against numpy 1.x and fails under numpy 2.
  ls "$wheel_dir"/xtcocotools-*.whl >/dev/null 2>&1 ||
    "$PY" -m pip wheel --disable-pip-version-check -q --no-deps \
      --no-build-isolation --no-binary xtcocotools -w "$wheel_dir" \
      xtcocotools==1.14.3
  install_cached_wheel xtcocotools
fi

echo "[setup_env] runtime requirements"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"
# mmpose and mmdet without their declared deps: mmpose's list pulls chumpy,
# which does not build; their real runtime needs are in runtime.txt.
"${PIP[@]}" --no-deps -r "$ROOT/requirements/openmmlab.txt"
"${PIP[@]}" -r "$ROOT/requirements/deployment.txt"
"${PIP[@]}" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

hash_inputs > "$STAMP"
echo "[setup_env] ready: $VENV (torch $TORCH_VERSION)"
