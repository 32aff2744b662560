import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLabelStore } from '../../src/routing/store/index.js';
import { annotate, seedStore, startServer, type Ack, type AnnotatorServer } from './annotators.js';

let server: AnnotatorServer | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-durability-'));

afterAll(async () => {
  await server?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('label durability', () => {
  it('every acknowledged label survives a kill -9 of the server', async () => {
    const file = path.join(dir, 'labels.sqlite');
    const { annotators } = await seedStore(file, 120, 8);
    server = await startServer(file, 1);
    const acks: Ack[] = [];
    const handed = new Map<string, Set<string>>();
    const address = () => server!.address;
    // 20 labels one after another, then a concurrent burst of 8 annotators cut short by kill -9.
    await annotate(annotators[0], address, acks, handed, () => acks.length >= 20);
    const killed = { now: false };
    const burst = annotators.map((a) => annotate(a, address, acks, handed, () => killed.now));
    while (acks.length < 40) await new Promise((r) => setTimeout(r, 1));
    await server.kill();
    killed.now = true;
    await Promise.all(burst);
    expect(server.child.signalCode).toBe('SIGKILL');

    const store = await openLabelStore(file);
    const stored = new Map((await store.humanLabels()).map((l) => [`${l.annotatorId}/${l.pairId}`, l.scale]));
    await store.close();
    expect(acks.length).toBeGreaterThanOrEqual(40);
    for (const ack of acks) expect(stored.get(`${ack.annotatorId}/${ack.pairId}`)).toBe(ack.scale);
  });
});
