// Child process for the kill -9 durability test: a Fastify app with the routing plugin on the
// SQLite file given as argv[2]. It seeds pairs, a routing run and one annotator, then prints
// one JSON line {port, apiKey, pairIds} and serves until killed.

import Fastify from 'fastify';
import { routingPlugin } from '../../src/routing/server.js';
import { openLabelStore } from '../../src/routing/store/label-store.js';

const file = process.argv[2];
const count = Number(process.argv[3] ?? 200);
const store = openLabelStore({ path: file });
const pairs = Array.from({ length: count }, (_, i) => ({ id: `d${i}`, prompt: `prompt ${i}`, responseA: `a ${i}`, responseB: `b ${i}` }));
store.addPairs(pairs);
store.recordRouting({ strategy: 'random', budget: 1 }, pairs.map((p) => ({ pairId: p.id, route: 'human' as const })));
const { apiKey } = store.createAnnotator('durable');
const app = Fastify();
await app.register(routingPlugin({ store }), { prefix: '/routing' });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ address, apiKey, pairIds: pairs.map((p) => p.id) }) + '\n');
