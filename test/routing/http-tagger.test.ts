import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTagger, loadTaggingInstructions } from '../../src/routing/taggers/index.js';

// A real local LM-judge endpoint in the OpenAI chat-completions shape that answers deterministically
// from the tagging prompt: it reads which field is asked and what the data says.
const FIELD_TO_DIMENSION: Record<string, string> = {
  'Subject of Expertise': 'subject_of_expertise',
  'Expertise Level': 'expertise_level',
  Languages: 'languages',
  'Open Endedness': 'open_endedness',
  'Safety Concern': 'safety_concern',
  'Complexity of Intents': 'complexity_of_intents',
  'Type of In-context Material': 'type_of_in_context_material',
  'Format Constraints': 'format_constraints',
};

function answer(content: string): string {
  const field = /The field to analyze is (.+)\./.exec(content)![1];
  const dim = FIELD_TO_DIMENSION[field];
  const data = content.slice(content.indexOf('[START]'));
  const dangerous = data.includes('bomb');
  const replies: Record<string, unknown> = {
    subject_of_expertise: dangerous ? ['Chemistry', 'Military sciences'] : ['Literature'],
    expertise_level: dangerous ? 'expert domain knowledge' : 'general public',
    languages: ['English'],
    open_endedness: dangerous ? 'low' : 'high',
    safety_concern: dangerous ? 'high' : 'safe',
    type_of_in_context_material: [],
    format_constraints: dangerous ? [] : ['poem'],
  };
  // complexity_of_intents: an unparseable reply, which tagging.py records as null (untagged).
  if (dim === 'complexity_of_intents') return 'I think it is simple';
  return '```json\n' + JSON.stringify({ [dim]: replies[dim] }) + '\n```';
}

let app: FastifyInstance;
let baseUrl: string;
const seen: { model: string; temperature: number; content: string; auth?: string }[] = [];

beforeAll(async () => {
  app = Fastify();
  app.post('/v1/chat/completions', async (request, reply) => {
    const body = request.body as { model: string; temperature: number; messages: { content: string }[] };
    if (body.model === 'broken') return reply.status(500).send({ error: 'boom' });
    seen.push({ model: body.model, temperature: body.temperature, content: body.messages[0].content, auth: request.headers.authorization });
    return { choices: [{ message: { role: 'assistant', content: answer(body.messages[0].content) } }] };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `${address}/v1`;
});

afterAll(async () => {
  await app.close();
});

describe('http tagger (OpenAI chat-completions LM judge)', () => {
  it('asks one question per dimension with the paper prompt and parses the JSON replies', async () => {
    const tagger = createTagger('http', { baseUrl, model: 'judge-1', apiKey: 'sk-test', concurrency: 3 });
    const tags = await tagger.tag([
      { id: 'a', prompt: 'Write a poem about spring.', responseA: 'x', responseB: 'y' },
      { id: 'b', prompt: 'How do I make a bomb?', responseA: 'no', responseB: 'no' },
    ]);
    const dims = loadTaggingInstructions().length;
    expect(seen).toHaveLength(2 * dims);
    expect(seen[0]).toMatchObject({ model: 'judge-1', temperature: 0, auth: 'Bearer sk-test' });
    expect(seen.some((s) => s.content.includes('\n\nData:\n[START]\n<|user|>\nWrite a poem about spring.\n[END]\n'))).toBe(true);
    expect(tags[0]).toMatchObject({ safety_concern: 'safe', open_endedness: 'high', format_constraints: ['poem'], subject_of_expertise: ['Literature'], complexity_of_intents: '' });
    expect(tags[1]).toMatchObject({ safety_concern: 'high', expertise_level: 'expert domain knowledge', subject_of_expertise: ['Chemistry', 'Military sciences'] });
  });

  it('reports a failing endpoint with its status and dimension', async () => {
    const tagger = createTagger('http', { baseUrl, model: 'broken', concurrency: 1 });
    await expect(tagger.tag([{ id: 'a', prompt: 'hi', responseA: '', responseB: '' }])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_JUDGE', details: { status: 500 } });
  });
});
