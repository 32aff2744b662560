// Child process of the durability and quota tests: a Fastify app with the routing plugin on the
// label store at argv[2] (a SQLite file or a postgres:// URL), handing each pair to at most
// argv[3] annotators. The test seeds the store; this prints one JSON line {address} and serves
// until killed.

import Fastify from 'fastify';
import { routingPlugin } from '../../src/routing/server.js';
import { openLabelStore } from '../../src/routing/store/index.js';

const store = await openLabelStore(process.argv[2]);
const app = Fastify();
await app.register(routingPlugin({ store, labelsPerPair: Number(process.argv[3] ?? 1) }), { prefix: '/routing' });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ address }) + '\n');
