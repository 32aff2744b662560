#!/usr/bin/env node
// DPO step throughput (TRL's sigmoid loss on summed response log-probs against cached reference
// sums, forward + backward + AdamW) of alignkit's run path (buildRunGraph + buildBatch) against
// PyTorch eager on the same model shape and batch: see bench/training-bench.mjs.
//   node bench/dpo/run.mjs [--model tiny|gpt2-small|qwen-0.5b] [--train full|lora] [--rows N] [--seq T] [--prompt P]
//        [--rounds 5] [--min-seconds 1] [--gemm] [--recompute] [--binding c-api|node] [--pinned CORE] [--no-torch] [--no-check] [--dist] [--json]
import { runTrainingBench } from '../training-bench.mjs';

await runTrainingBench('dpo');
