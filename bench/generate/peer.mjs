#!/usr/bin/env node
// One side of bench/generate as a child process (bench/torch-peer.mjs's JSON-lines protocol, so each
// side's load time and peak RSS are its own): `alignkit` (CausalLM + generate, greedy) or
// `transformers` (@huggingface/transformers AutoModelForCausalLM.generate, greedy) on the same ONNX
// directory, batch and prompts. argv[2] is the JSON config {side, model, batch, tokens, threads, guide?, parallel?}.
// Ops: {op: 'run', n} decodes n times and answers {ms: [...], cpuMs: [...], result} (the last run's new tokens).
// Both sides run onnxruntime with the same session settings (intra-op threads, no spinning), so only
// the pipelines around the session differ.
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { servePeer, timedRuns } from '../torch-peer.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CFG = JSON.parse(process.argv[2]);
const PROMPTS = ['Once upon a time', 'The little dog', 'In the morning', 'She said', 'A long way from home', 'Tom and his sister', 'It was raining', 'The old man'];

const t0 = performance.now();
const SIDES = {
  async alignkit() {
    const { CausalLM } = await import(path.join(root, 'src/models/index.ts'));
    const { generate } = await import(path.join(root, 'src/generate/index.ts'));
    // `parallel` (opt-in, reported apart): onnxruntime runs independent branches (GenARM's base and ARM) on two inter-op threads.
    const session = { intraOpThreads: CFG.threads, allowSpinning: false, ...(CFG.parallel && { executionMode: 'parallel', interOpThreads: 2 }) };
    const base = await CausalLM.load(path.resolve(root, CFG.model), { session });
    const arm = CFG.guide ? await CausalLM.load(path.resolve(root, CFG.guide), { session }) : undefined;
    const ids = prompts(base.tokenizer.encode.bind(base.tokenizer));
    const guides = arm ? [{ model: arm, alpha: 1 }] : [];
    return async () => (await generate(base, base.tokenizer, ids, { sampler: 'greedy', maxNewTokens: CFG.tokens, stopAtEos: false }, guides)).map((r) => r.tokens);
  },
  async transformers() {
    const t = await import('@huggingface/transformers');
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = `${path.resolve(root, path.dirname(CFG.model))}${path.sep}`;
    const name = path.basename(CFG.model);
    const model = await t.AutoModelForCausalLM.from_pretrained(name, { local_files_only: true, dtype: 'fp32', session_options: { intraOpNumThreads: CFG.threads, extra: { session: { intra_op: { allow_spinning: '0' } } } } });
    const tokenizer = await t.AutoTokenizer.from_pretrained(name, { local_files_only: true });
    const ids = prompts((s) => tokenizer.encode(s));
    const L = ids[0].length;
    const B = ids.length;
    const input_ids = new t.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [B, L]);
    const attention_mask = new t.Tensor('int64', new BigInt64Array(B * L).fill(1n), [B, L]);
    return async () => {
      const out = await model.generate({ input_ids, attention_mask, max_new_tokens: CFG.tokens, min_new_tokens: CFG.tokens, do_sample: false });
      const d = Array.from(out.data, Number);
      return Array.from({ length: B }, (_, b) => d.slice(b * (L + CFG.tokens) + L, (b + 1) * (L + CFG.tokens)));
    };
  },
};

/** The batch's prompts cut to one common length, so neither side pads (transformers.js pads on the right by default). */
function prompts(encode) {
  const ids = Array.from({ length: CFG.batch }, (_, i) => encode(PROMPTS[i % PROMPTS.length]));
  const L = Math.min(...ids.map((r) => r.length));
  return ids.map((r) => r.slice(0, L));
}

const decode = await SIDES[CFG.side]();
await servePeer({ side: CFG.side, loadMs: performance.now() - t0 }, { run: timedRuns(decode) });
