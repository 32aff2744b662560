// bench/genarm: GenARM against its baselines on held-out HH-RLHF harmless prompts (issue 7's
// acceptance). Methods: plain decoding of the base, best-of-n reranked by the judge RM, ARGS-style
// guidance by the judge RM on partial responses, GenARM with the shipped ARM at two alphas. For each:
// mean judge score (+- standard error), win rate vs plain paired by prompt and seed, KL of the
// produced responses from the base, mean length and tokens/s. Writes a Markdown table.
//
//   node --import ./src/dev/register-ts.mjs bench/genarm/run.mjs [--prompts 64] [--batch 16]
//     [--max-new 48] [--max-prompt 128] [--temperature 1] [--genarm-temperature matched|T] [--n 4] [--k 5] [--weight 1.5]
//     [--alphas 0.5,1] [--seed 0] [--samples 2] [--methods plain,bon,args,genarm] [--out bench/genarm/results.md]
//     [--base data/models/alignkit-base] [--arm data/models/alignkit-arm] [--judge data/models/alignkit-rm]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Generator, generate, argsProcessor, bestOfNKl, keepEnd, meanStdErr, olsSlope, pairedWinRate, sampledLogprobRecorder, sequenceKl } from '../../src/generate/index.ts';
import { OnnxRewardModel } from '../../src/rewards/index.ts';
import { loadPreferenceData } from '../../src/datasets/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: {
  prompts: { type: 'string', default: '64' }, batch: { type: 'string', default: '16' },
  'max-new': { type: 'string', default: '48' }, 'max-prompt': { type: 'string', default: '128' },
  temperature: { type: 'string', default: '1' }, 'genarm-temperature': { type: 'string' }, n: { type: 'string', default: '4' },
  k: { type: 'string', default: '5' }, weight: { type: 'string', default: '1.5' },
  alphas: { type: 'string', default: '0.5,1' }, seed: { type: 'string', default: '0' },
  methods: { type: 'string', default: 'plain,bon,args,genarm' }, samples: { type: 'string', default: '2' },
  out: { type: 'string', default: path.join(root, 'bench/genarm/results.md') },
  base: { type: 'string', default: 'data/models/alignkit-base' }, arm: { type: 'string', default: 'data/models/alignkit-arm' },
  judge: { type: 'string', default: 'data/models/alignkit-rm' },
} });
const S = {
  prompts: Number(values.prompts), batch: Number(values.batch), maxNew: Number(values['max-new']),
  maxPrompt: Number(values['max-prompt']), temperature: Number(values.temperature), n: Number(values.n),
  genarmTemperature: values['genarm-temperature'],
  k: Number(values.k), weight: Number(values.weight), alphas: values.alphas.split(',').map(Number), seed: Number(values.seed),
  methods: new Set(['plain', ...values.methods.split(',')]), samples: Number(values.samples),
};
const DATA = path.resolve(root, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl');
// scripts/build-models.mjs trains the ARM and the RM on rows 1-1900; rows 1901-2312 were never seen.
const FIRST_HELD_ROW = 1900;
const session = { intraOpThreads: 2, allowSpinning: false };

const loadAvg = () => os.loadavg().map((x) => x.toFixed(2)).join(', ');
const loadBefore = loadAvg();
const gen = await Generator.load(path.resolve(root, values.base), [{ dir: path.resolve(root, values.arm), alpha: 1, name: 'arm' }], session);
const judge = await OnnxRewardModel.load(path.resolve(root, values.judge), { session });
const NAMES = { base: path.basename(values.base), arm: path.basename(values.arm), judge: path.basename(values.judge) };
const tok = gen.tokenizer;

const data = await loadPreferenceData(DATA, { kind: 'paired', dropTies: true });
const held = data.examples.slice(FIRST_HELD_ROW);
const seen = new Set();
const prompts = held.map((e) => e.prompt).filter((p) => !seen.has(p) && seen.add(p)).slice(0, S.prompts);
// Each prompt is answered `samples` times; every copy sits in a batch of its own seed.
const texts = Array.from({ length: S.samples }, () => prompts).flat();
const promptIds = texts.map((p) => keepEnd(tok.encode(p), S.maxPrompt));
const batches = [];
for (let b = 0; b * S.batch < texts.length; b++) {
  const at = b * S.batch;
  batches.push({ seed: S.seed + b, texts: texts.slice(at, at + S.batch), ids: promptIds.slice(at, at + S.batch) });
}

/** Judge scores of (prompt, response) pairs; inputs over the RM's limit lose the prompt's start. */
const scorer = async (items) => (await judge.score(items, { truncate: true })).map((s) => s[0]);
const decodeCfg = (seed, temperature = S.temperature) => ({ sampler: 'sample', temperature, maxNewTokens: S.maxNew, seed });
// GenARM's T for weight alpha: `matched` is 1 + alpha, so an ARM equal to the base leaves the base's
// distribution unchanged ((1 + alpha) log p / (1 + alpha)) and only the ARM's tilt moves it.
const genarmTemperature = (alpha) => (S.genarmTemperature === 'matched' ? 1 + alpha : S.genarmTemperature === undefined ? S.temperature : Number(S.genarmTemperature));

/** One decoding pass; method log-probs come from the distribution the sampler actually drew from. */
async function decode(batch, seed, guides = [], extra = [], temperature = S.temperature) {
  const rec = sampledLogprobRecorder();
  const rows = await generate(gen.base, tok, batch.ids, decodeCfg(seed, temperature), guides, undefined, [...extra, rec.processor]);
  return rows.map((r, i) => ({ text: r.text, tokens: r.tokens.length, kl: sequenceKl(rec.logprobs(i, r.tokens), r.baseLogprobs) }));
}

// Each method maps a batch to responses with their KL from the base; all use the batch's seed.
const METHODS = [
  { key: 'plain', name: `plain (${NAMES.base})`, run: (b) => decode(b, b.seed) },
  {
    key: 'bon',
    name: `best-of-${S.n} (${NAMES.judge})`,
    klNote: 'analytic',
    run: async (b) => {
      // Candidate j uses seed + 1000 j, so candidate 0 is exactly the plain response.
      const cands = [];
      for (let j = 0; j < S.n; j++) cands.push(await decode(b, b.seed + 1000 * j));
      const scores = [];
      for (let j = 0; j < S.n; j++) scores.push(await scorer(b.texts.map((prompt, i) => ({ prompt, response: cands[j][i].text }))));
      return b.texts.map((_, i) => {
        let best = 0;
        for (let j = 1; j < S.n; j++) if (scores[j][i] > scores[best][i]) best = j;
        return { ...cands[best][i], kl: bestOfNKl(S.n) };
      });
    },
  },
  {
    key: 'args',
    name: `ARGS (${NAMES.judge}, k ${S.k}, w ${S.weight})`,
    run: (b) => decode(b, b.seed, [], [argsProcessor({ scorer, weight: S.weight, k: S.k, prompts: b.texts, decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }) })]),
  },
  ...S.alphas.map((alpha) => ({ key: 'genarm', name: `GenARM (${NAMES.arm}, alpha ${alpha}, T ${genarmTemperature(alpha)})`, run: (b) => decode(b, b.seed, gen.guides({ arm: alpha }), [], genarmTemperature(alpha)) })),
].filter((m) => S.methods.has(m.key));

// Warm-up (not timed): the first onnxruntime runs of each session allocate and would bill plain decoding.
await decode({ ids: batches[0].ids.slice(0, 2) }, 0, gen.guides({ arm: 1 }));
await scorer([{ prompt: prompts[0], response: 'warm-up' }]);

const results = [];
for (const m of METHODS) {
  const t0 = performance.now();
  const responses = [];
  for (const b of batches) responses.push(...await m.run(b));
  const seconds = (performance.now() - t0) / 1000;
  const scores = [];
  for (const b of batches) {
    const at = batches.indexOf(b) * S.batch;
    scores.push(...await scorer(b.texts.map((prompt, i) => ({ prompt, response: responses[at + i].text }))));
  }
  const tokens = responses.reduce((a, r) => a + r.tokens, 0);
  results.push({ ...m, responses, scores, seconds, tokens });
  process.stderr.write(`${m.name}: ${seconds.toFixed(1)} s\n`);
}

const plain = results[0].scores;
const f = (x, d = 3) => x.toFixed(d);
// The judge's length sensitivity on plain responses: score per token, by least squares. A method's
// length-adjusted score removes what its length difference from plain would earn at that slope.
const lengthsOf = (r) => r.responses.map((x) => x.tokens);
const slope = olsSlope(lengthsOf(results[0]), plain);
const meanOf = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const plainLength = meanOf(lengthsOf(results[0]));
const lines = [
  '| method | RM score (mean ± s.e.) | length-adjusted score | win rate vs plain (W/T/L) | KL from base (nats, mean ± s.e.) | mean length (tokens) | tokens/s |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => {
    const s = meanStdErr(r.scores);
    const w = pairedWinRate(r.scores, plain);
    const kl = meanStdErr(r.responses.map((x) => x.kl));
    const klText = r.klNote ? `${f(kl.mean)} (analytic log n - (n-1)/n)` : `${f(kl.mean)} ± ${f(kl.stdErr)}`;
    const win = r === results[0] ? '—' : `${(100 * w.rate).toFixed(1)}% (${w.wins}/${w.ties}/${w.losses})`;
    const adjusted = s.mean - slope * (meanOf(lengthsOf(r)) - plainLength);
    return `| ${r.name} | ${f(s.mean)} ± ${f(s.stdErr)} | ${f(adjusted)} | ${win} | ${klText} | ${f(r.tokens / r.responses.length, 1)} | ${f(r.tokens / r.seconds, 1)} |`;
  }),
];
const table = lines.join('\n');
const command = `node --import ./src/dev/register-ts.mjs bench/genarm/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
const report = [
  '# GenARM vs baselines on held-out HH-RLHF harmless prompts', '',
  table, '',
  `- Prompts: the first ${prompts.length} distinct prompts of rows ${FIRST_HELD_ROW + 1}-${data.examples.length} of \`hh_rlhf_harmless_base_test.jsonl\` (never used to train ${NAMES.arm} or ${NAMES.judge}; see scripts/build-models.mjs), each cut to its last ${S.maxPrompt} tokens.`,
  `- Samples: ${S.samples} per prompt (${texts.length} responses per method; standard errors treat them as independent).`,
  `- Decoding: sampling at temperature ${S.temperature}, at most ${S.maxNew} new tokens, stop at EOS, batches of ${S.batch} with seeds ${S.seed}..${S.seed + batches.length - 1} (the same seed per batch for every method; best-of-n candidate j uses seed + 1000 j, so its candidate 0 is the plain response).`,
  `- Judge: ${NAMES.judge} scores every final response with its (untruncated) prompt; inputs over ${judge.maxLength} tokens lose the prompt's start.`,
  `- Length-adjusted score: the mean score minus slope x (mean length - plain's mean length), with the slope of score on length fitted by least squares on the plain responses (${f(slope, 4)} per token): what remains after the judge's measured taste for length.`,
  `- KL: mean over responses of sum_t [log pi_method(y_t) - log pi_base(y_t)], with log pi_method read from the distribution actually sampled from (GenARM: softmax((log pi_base + alpha log pi_arm) / T); ARGS: softmax over the top-${S.k} of log pi_base / T + w r). Best-of-n shows the analytic bound log n - (n-1)/n.`,
  `- tokens/s: tokens of the returned responses per wall second of the method, including the reward-model calls of best-of-n (all ${S.n} candidates decoded and scored) and ARGS (${S.k} partial responses scored per token).`,
  `- Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, onnxruntime 2 intra-op threads; load average (1/5/15 min) ${loadBefore} at start, ${loadAvg()} at end (other work was running).`,
  `- Total wall time ${f(results.reduce((a, r) => a + r.seconds, 0), 0)} s of decoding. Command: \`${command}\``,
  '',
];
fs.writeFileSync(values.out, report.join('\n'));
console.log(table);
