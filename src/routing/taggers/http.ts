// Tags from an LM judge reached over HTTP in the OpenAI chat-completions shape
// (POST {baseUrl}/chat/completions). One request per pair and dimension, with the prompt built as
// allenai/hybrid-preferences src/tagging.py builds it: the dimension's tagging_instruction, then
// "\n\nData:\n[START]\n<|user|>\n{prompt}\n[END]\n"; temperature 0, 100 tokens; the reply is parsed
// as JSON and `reply[dimension]` kept (null, i.e. untagged, when it does not parse, as tagging.py does).

import fs from 'node:fs';
import { routingDataPath } from '../data-path.js';
import { SCALAR, TAG_DIMENSIONS, type TagRecord } from '../features/catalog.js';
import { fail } from '../../errors.js';
import type { RoutingPair } from '../types.js';
import { emptyTags, type Tagger } from './types.js';

export interface TaggingInstruction {
  dimension: string;
  tagging_instruction: string;
  options?: string[] | null;
}

export interface HttpTaggerConfig {
  /** Base URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Requests in flight at once. */
  concurrency: number;
  timeoutMs: number;
  maxTokens: number;
  /** The per-dimension instructions; defaults to the paper's tagging_configs.json. */
  instructions?: TaggingInstruction[];
}

export const DEFAULT_HTTP_TAGGER_CONFIG: Omit<HttpTaggerConfig, 'baseUrl' | 'model'> = {
  concurrency: 4,
  timeoutMs: 60_000,
  maxTokens: 100,
};

const DEFAULT_INSTRUCTIONS_FILE = routingDataPath('hybrid_preferences', 'tagging_configs.json');

export function loadTaggingInstructions(file = DEFAULT_INSTRUCTIONS_FILE): TaggingInstruction[] {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `tagging instructions file not found: ${file}`, { file });
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TaggingInstruction[];
}

export function buildTaggingPrompt(instruction: string, prompt: string): string {
  return `${instruction}\n\nData:\n[START]\n<|user|>\n${prompt}\n[END]\n`;
}

/** Strip a ```json fence some models add, then parse. */
function parseReply(text: string): Record<string, unknown> | null {
  const body = text.trim().replace(/^```(?:json)?\s*/i, '').replace(/```\s*$/, '');
  try {
    const v = JSON.parse(body);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

export function createHttpTagger(partial: Partial<HttpTaggerConfig> & Pick<HttpTaggerConfig, 'baseUrl' | 'model'>): Tagger {
  const config: HttpTaggerConfig = { ...DEFAULT_HTTP_TAGGER_CONFIG, ...partial };
  if (!/^https?:\/\//.test(config.baseUrl)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `http tagger baseUrl must be an http(s) URL, got '${config.baseUrl}'`, { parameter: 'baseUrl' });
  if (!(config.concurrency >= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `http tagger concurrency must be >= 1, got ${config.concurrency}`, { parameter: 'concurrency' });
  const instructions = (config.instructions ?? loadTaggingInstructions()).filter((i) => (TAG_DIMENSIONS as readonly string[]).includes(i.dimension));
  const url = `${config.baseUrl.replace(/\/$/, '')}/chat/completions`;

  async function ask(prompt: string, instruction: TaggingInstruction): Promise<unknown> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) },
      body: JSON.stringify({
        model: config.model,
        messages: [{ role: 'user', content: buildTaggingPrompt(instruction.tagging_instruction, prompt) }],
        temperature: 0,
        max_tokens: config.maxTokens,
      }),
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    if (!res.ok) throw fail('ALIGNKIT_ERR_JUDGE', `tagger endpoint ${url} answered HTTP ${res.status} for dimension ${instruction.dimension}`, { url, status: res.status, field: instruction.dimension });
    const body = (await res.json()) as { choices?: { message?: { content?: string } }[] };
    const content = body.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw fail('ALIGNKIT_ERR_JUDGE', `tagger endpoint ${url} returned no choices[0].message.content for dimension ${instruction.dimension}`, { url, field: instruction.dimension });
    return parseReply(content)?.[instruction.dimension] ?? null;
  }

  return {
    name: 'http',
    async tag(pairs: RoutingPair[]): Promise<TagRecord[]> {
      const jobs = pairs.flatMap((pair, row) => instructions.map((instruction) => ({ row, pair, instruction })));
      const answers = await mapLimit(jobs, config.concurrency, (job) => ask(job.pair.prompt, job.instruction));
      const records = pairs.map(() => emptyTags() as unknown as Record<string, unknown>);
      jobs.forEach((job, i) => {
        const value = answers[i];
        if (value === null || value === undefined) return;
        const dim = job.instruction.dimension;
        if (dim in SCALAR) records[job.row][dim] = Array.isArray(value) ? String(value[0] ?? '') : String(value);
        else records[job.row][dim] = Array.isArray(value) ? value.map(String) : [String(value)];
      });
      return records as unknown as TagRecord[];
    },
  };
}
