#!/bin/sh
# Rebuild optim_kernels.wasm from optim_kernels.c (Debian 12: apt-get install -y clang lld).
# The output is byte-reproducible for a given clang; test/optim/kernels.test.ts rebuilds it and
# compares bytes with the committed file, and checks every kernel's loop is vectorized (f32x4).
# -fno-builtin: without a libc, clang must not turn loops into memset/memcpy calls.
set -eu
DIR="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$DIR/optim_kernels.wasm}"
clang --target=wasm32 -O3 -msimd128 -fno-builtin -nostdlib -Wl,--no-entry -Wl,--export-all -Wl,--import-memory \
  -o "$OUT" "$DIR/optim_kernels.c"
