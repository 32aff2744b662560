// A bounded, seeded fuzzer of the server's POST routes: each case starts from a valid body of its
// route and applies a few mutations (a field replaced by an arbitrary value, a required field
// dropped, an unknown field added, the whole body replaced, a body that is not JSON at all, a wrong
// content type). Values are the kind that break servers: lone surrogates, NUL, very long strings,
// numbers at and past float limits (1e400 arrives as Infinity), prototype keys, deep nesting.
import { mulberry32, type Rng } from '../../../src/random.js';

export interface FuzzCase {
  route: string;
  /** The raw request body. */
  body: string;
  contentType: string;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

const STRINGS = ['', 'a', ' ', '\u0000', '\ud800', '\udfff', 'x\ud83d', '🙂'.repeat(50), '<|endoftext|>', '__proto__', 'constructor', '../../etc/passwd', '%00', 'Ω≈ç√∫', '\n\nHuman: hi\n\nAssistant:', 'null', '1e400'];
const NUMBERS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 53 + 1, -(2 ** 53), 1e308, -1e308, 1e-39, 5e-324, 1e38, -1e38, 3.4e38];
/** Literal JSON numbers JSON.stringify cannot write: they parse to Infinity or lose precision. */
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '0.1e1'];

function deep(depth: number, leaf: string, array: boolean): string {
  return array ? '['.repeat(depth) + leaf + ']'.repeat(depth) : '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}

/** An arbitrary JSON value, as text (so it can hold what JSON.stringify cannot write). */
export function anyJson(rng: Rng, depth = 0): string {
  const kind = rng.int(depth > 2 ? 6 : 10);
  switch (kind) {
    case 0: return 'null';
    case 1: return pick(rng, ['true', 'false']);
    case 2: return JSON.stringify(pick(rng, NUMBERS));
    case 3: return pick(rng, RAW_NUMBERS);
    case 4: return JSON.stringify(pick(rng, STRINGS));
    case 5: return JSON.stringify('w'.repeat(pick(rng, [100, 5000, 70_000])));
    case 6: return `[${Array.from({ length: rng.int(40) }, () => anyJson(rng, depth + 1)).join(',')}]`;
    case 7: return `{${Array.from({ length: rng.int(6) }, () => `${JSON.stringify(pick(rng, [...STRINGS, 'prompt', 'response', 'role', 'content', 'items', 'query']))}:${anyJson(rng, depth + 1)}`).join(',')}}`;
    case 8: return deep(pick(rng, [100, 5000]), anyJson(rng, depth + 1), rng.next() < 0.5);
    default: return JSON.stringify([{ role: pick(rng, STRINGS), content: pick(rng, STRINGS) }]);
  }
}

/** A valid body of each POST route, as JSON text of its fields. */
export const VALID: Record<string, Record<string, string>> = {
  '/v1/score': { items: '[{"prompt":"What is 2+2?","response":"4"},{"response":"hello"}]', combine: '"mean"' },
  '/v1/compare': { prompt: '"Name a prime."', responses: '["7","8"]' },
  '/predict': { inputs: '[["a question","an answer"],["one text"]]', raw_scores: 'true' },
  '/get_reward': { query: '["Q: hi\\nA: hello"]', prompts: '["Q: hi\\nA:"]' },
  '/v1/generate': { prompt: '"Once upon a time"', max_tokens: '4', temperature: '0.8', stream: 'false' },
  '/v1/best-of-n': { prompt: '"Once"', n: '2', max_tokens: '3', seed: '7' },
};

const FIELD_NAMES = ['items', 'prompt', 'response', 'responses', 'inputs', 'query', 'prompts', 'models', 'truncate', 'combine', 'lambda', 'max_tokens', 'temperature', 'top_k', 'top_p', 'repetition_penalty', 'stop', 'seed', 'greedy', 'alphas', 'stream', 'n', 'raw_scores', '__proto__', 'constructor'];

function mutate(rng: Rng, fields: Record<string, string>): Record<string, string> {
  const out = { ...fields };
  const keys = Object.keys(out);
  if (keys.length === 0) return { [pick(rng, FIELD_NAMES)]: anyJson(rng) };
  switch (rng.int(4)) {
    case 0: out[pick(rng, keys)] = anyJson(rng); break;
    case 1: delete out[pick(rng, keys)]; break;
    case 2: out[pick(rng, FIELD_NAMES)] = anyJson(rng); break;
    default: {
      // A valid field with one element or property replaced inside it.
      const key = pick(rng, keys);
      const v = out[key]!;
      out[key] = v.startsWith('[') ? `[${anyJson(rng)}${v.length > 2 ? ',' + v.slice(1) : ']'}` : anyJson(rng);
    }
  }
  return out;
}

const asBody = (fields: Record<string, string>) => `{${Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** `perRoute` cases for each route, reproducible from `seed`. */
export function fuzzCases(seed: number, perRoute: number): FuzzCase[] {
  const rng = mulberry32(seed);
  const cases: FuzzCase[] = [];
  for (const [route, valid] of Object.entries(VALID)) {
    for (let i = 0; i < perRoute; i++) {
      const r = rng.next();
      let body: string;
      let contentType = 'application/json';
      if (r < 0.08) body = anyJson(rng); // the whole body replaced
      else if (r < 0.13) body = asBody(valid).slice(0, rng.int(asBody(valid).length)); // cut short: not JSON
      else if (r < 0.16) body = String.fromCharCode(...Array.from({ length: rng.int(64) }, () => rng.int(256)));
      else if (r < 0.18) [body, contentType] = [asBody(valid), pick(rng, ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data'])];
      else {
        let fields = valid;
        for (let m = 1 + rng.int(3); m > 0; m--) fields = mutate(rng, fields);
        body = asBody(fields);
      }
      cases.push({ route, body, contentType });
    }
  }
  return cases;
}
