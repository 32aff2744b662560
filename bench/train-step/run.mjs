#!/usr/bin/env node
// Training step throughput (next-token loss, forward + backward, plus AdamW with --mode adamw, the
// default) of alignkit against PyTorch eager on the same model shape, side by side: see
// bench/training-bench.mjs for what is measured and printed.
//   node bench/train-step/run.mjs [--model tiny|gpt2-small|qwen-0.5b] [--mode adamw|fwd-bwd] [--train full|lora]
//        [--rows N] [--seq T] [--rounds 5] [--min-seconds 1] [--gemm] [--recompute] [--no-ort-arena] [--no-memory-reuse] [--binding c-api|node] [--pinned CORE] [--no-torch] [--no-check] [--dist] [--json]
//        [--optim-threads N] (the arena's optimizer threads; default 2 on two cores) [--spinning during-run|on|off] (onnxruntime's intra-op spinning; default during-run, the Trainer's)
import { runTrainingBench } from '../training-bench.mjs';

await runTrainingBench('next-token');
