// Paired held-out evaluation of online RL policies (issue #15's acceptance: "raise the gold reward of
// held-out prompts over the starting policy by more than two standard errors at a reported KL").
// Every policy answers the same prompts with the same sampler seeds (common random numbers: a policy
// that moved little draws nearly the tokens its start drew), `samples` responses per prompt, sampled
// as the run's rollouts sample (src/generate rollout: temperature 1, no truncation, log-probs
// recorded at sampling time). The unit of the standard error is the prompt: each policy's mean
// gold reward over its samples of a prompt, and the change from the first policy is the mean of the
// per-prompt differences with their standard error (sd / sqrt(prompts)). KL to the reference is
// measured as the runs measure it (src/train/rl/stages.ts sequenceKl): sum over a response's tokens
// of log pi - log pi_ref, averaged over the sampled responses.
//
//   node --import ./src/dev/register-ts.mjs bench/rl/gold/eval.mjs --policy START --policy END [--policy ...]
//     --prompts FILE --gold DIR [--reference DIR (default: the first policy)] [--limit 412] [--samples 4]
//     [--seed 1] [--max-new-tokens 32] [--max-prompt-length 64] [--threads 1] [--out FILE.json]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readPrompts } from '../../../src/datasets/index.ts';
import { encodePrompt, fitPrompt, meanStdErr, rollout, sequenceKl } from '../../../src/generate/index.ts';
import { CausalLM, loadModelDir } from '../../../src/models/index.ts';
import { hashString } from '../../../src/random.ts';
import { loadReward, ReferenceLogProbs } from '../../../src/train/index.ts';
import { perResponse } from '../../../src/train/rl/per-response.ts';

/** Prompts per decoding batch. */
const CHUNK = 32;

/**
 * Samples of one policy on the prompts: for sample s and chunk c the sampler seed is a hash of
 * (seed, s, c), whatever the policy, so two policies' samples are paired draw for draw.
 */
export async function samplePolicy(dir, prompts, o) {
  const lm = await CausalLM.load(dir, { session: o.session });
  const rows = [];
  for (let s = 0; s < o.samples; s++)
    for (let at = 0; at < prompts.length; at += CHUNK) {
      const chunk = prompts.slice(at, at + CHUNK);
      const out = await rollout(lm, lm.tokenizer, chunk.map((p) => p.ids), { maxNewTokens: o.maxNewTokens, seed: hashString(`gold-eval:${o.seed}:${s}:${at}`) });
      out.forEach((r, i) => rows.push({ promptIndex: at + i, prompt: chunk[i].ids, tokens: r.tokens, text: r.text, logps: r.logprobs, ended: r.finishReason !== 'length' }));
    }
  await lm.session.release();
  return rows;
}

/** Per-response KL to the reference, sum_t log pi(y_t) - log pi_ref(y_t), the runs' `kl`. */
async function klTo(reference, rows, padId) {
  const refLogps = await perResponse(rows, padId, (batch) => reference.tokenLogprobs(batch));
  return rows.map((r, i) => sequenceKl(r.logps, Array.from(refLogps[i])));
}

/** Mean of `values` per prompt (rows hold `samples` responses of each prompt). */
function perPrompt(rows, values, n) {
  const sum = new Float64Array(n);
  const count = new Float64Array(n);
  rows.forEach((r, i) => {
    sum[r.promptIndex] += values[i];
    count[r.promptIndex] += 1;
  });
  return Array.from(sum, (s, i) => s / count[i]);
}

/** The prompts as the runs encode them: their last maxPromptLength tokens kept (--on-long-prompt truncate). */
async function loadPrompts(file, limit, tokenizer, maxPromptLength) {
  const texts = await readPrompts(file, limit);
  return texts.map((text, row) => ({ text, ids: fitPrompt(encodePrompt(tokenizer, text), maxPromptLength, 'truncate', { source: file, row, limitFrom: '--max-prompt-length' }).ids }));
}

/**
 * Each policy's gold reward and KL to the reference on the same prompts and seeds, and every
 * policy after the first against the first: the mean per-prompt change and its standard error.
 */
export async function evaluatePolicies({ policies, reference, prompts: file, gold, limit = 412, samples = 4, seed = 1, maxNewTokens = 32, maxPromptLength = 64, threads = 1 }) {
  const session = { intraOpThreads: threads, allowSpinning: false };
  const tokenizer = (await loadModelDir(policies[0])).tokenizer;
  const prompts = await loadPrompts(file, limit, tokenizer, maxPromptLength);
  const scorer = await loadReward([gold], { method: 'mean', lambda: 0 }, { render: (p) => p }, 'gold');
  const ref = await ReferenceLogProbs.create((await loadModelDir(reference ?? policies[0])).onnxFile, { session });
  const measured = [];
  for (const dir of policies) {
    const t0 = performance.now();
    const rows = await samplePolicy(dir, prompts, { samples, seed, maxNewTokens, session });
    const items = rows.map((r) => ({ prompt: prompts[r.promptIndex].text, response: r.text }));
    const golds = (await scorer.scoreDetailed(items, { truncate: true })).rewards;
    const kls = await klTo(ref, rows, tokenizer.padTokenId);
    measured.push({
      policy: dir,
      gold: meanStdErr(perPrompt(rows, golds, prompts.length)),
      goldPerPrompt: perPrompt(rows, golds, prompts.length),
      kl: meanStdErr(kls),
      length: meanStdErr(rows.map((r) => r.tokens.length)).mean,
      eosFraction: rows.filter((r) => r.ended).length / rows.length,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  await ref.release();
  const start = measured[0].goldPerPrompt;
  const changes = measured.slice(1).map((m) => {
    const d = meanStdErr(m.goldPerPrompt.map((g, i) => g - start[i]));
    return { policy: m.policy, change: d.mean, stdErr: d.stdErr, standardErrors: d.mean / d.stdErr };
  });
  return {
    settings: { prompts: file, limit: prompts.length, samples, seed, maxNewTokens, maxPromptLength, gold, reference: reference ?? policies[0] },
    policies: measured.map(({ goldPerPrompt, ...m }) => m),
    changes,
    goldPerPrompt: Object.fromEntries(measured.map((m) => [m.policy, m.goldPerPrompt.map((g) => Number(g.toFixed(5)))])),
  };
}

if (import.meta.filename === path.resolve(process.argv[1] ?? '')) {
  const { values: a } = parseArgs({ options: {
    policy: { type: 'string', multiple: true }, reference: { type: 'string' }, prompts: { type: 'string' }, gold: { type: 'string' },
    limit: { type: 'string', default: '412' }, samples: { type: 'string', default: '4' }, seed: { type: 'string', default: '1' },
    'max-new-tokens': { type: 'string', default: '32' }, 'max-prompt-length': { type: 'string', default: '64' }, threads: { type: 'string', default: '1' }, out: { type: 'string' },
  } });
  if (!a.policy || a.policy.length < 1 || !a.prompts || !a.gold) throw new Error('usage: eval.mjs --policy START [--policy END ...] --prompts FILE --gold DIR [--reference DIR] [--samples 4] [--limit 412] [--out FILE]');
  const r = await evaluatePolicies({
    policies: a.policy, reference: a.reference, prompts: a.prompts, gold: a.gold, limit: Number(a.limit), samples: Number(a.samples), seed: Number(a.seed),
    maxNewTokens: Number(a['max-new-tokens']), maxPromptLength: Number(a['max-prompt-length']), threads: Number(a.threads),
  });
  for (const m of r.policies) console.log(`${m.policy}: gold ${m.gold.mean.toFixed(4)} ± ${m.gold.stdErr.toFixed(4)} (prompts), KL ${m.kl.mean.toFixed(3)} ± ${m.kl.stdErr.toFixed(3)}, ${m.length.toFixed(1)} tokens, EOS ${(100 * m.eosFraction).toFixed(0)}%, ${m.seconds.toFixed(0)} s`);
  for (const c of r.changes) console.log(`${c.policy}: change ${c.change >= 0 ? '+' : ''}${c.change.toFixed(4)} ± ${c.stdErr.toFixed(4)} (paired over ${r.settings.limit} prompts x ${r.settings.samples} samples) = ${c.standardErrors.toFixed(1)} SE`);
  if (a.out) fs.writeFileSync(a.out, `${JSON.stringify(r, null, 2)}\n`);
}
