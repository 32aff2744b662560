#!/bin/sh
# Rebuild the kernel modules from optim_kernels.c (Debian 12: apt-get install -y clang lld):
#   optim_kernels.wasm          imports a plain memory (one thread, the arena's default where threads = 1);
#   optim_kernels.threads.wasm  imports a shared memory (one instance per thread over the same arena):
#                               atomics + bulk-memory are what wasm-ld requires for --shared-memory, and
#                               __stack_pointer is exported so that each instance gets a stack of its own.
# The outputs are byte-reproducible for a given clang; test/optim/kernels.test.ts rebuilds them and
# compares bytes with the committed files, and checks every kernel's loop is vectorized (f32x4).
# -fno-builtin: without a libc, clang must not turn loops into memset/memcpy calls.
set -eu
DIR="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$DIR}"
FLAGS="--target=wasm32 -O3 -msimd128 -fno-builtin -nostdlib -Wl,--no-entry -Wl,--export-all -Wl,--import-memory"
clang $FLAGS -o "$OUT/optim_kernels.wasm" "$DIR/optim_kernels.c"
clang $FLAGS -matomics -mbulk-memory -mmutable-globals -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -Wl,--export=__stack_pointer -o "$OUT/optim_kernels.threads.wasm" "$DIR/optim_kernels.c"
