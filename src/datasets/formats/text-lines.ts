// Streaming helpers for the text formats: read a file in chunks of a chosen size as UTF-8 text, and
// write text with backpressure, so files larger than memory pass through a bounded buffer.

import fs from 'node:fs';
import { once } from 'node:events';

/** Yields the file's text in chunks; Node's stream decoder keeps multi-byte characters whole across chunk edges. */
export async function* readTextChunks(file: string, chunkSize: number): AsyncGenerator<string> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: chunkSize });
  for await (const chunk of stream) yield chunk as string;
}

/** Yields complete lines (without the newline or a trailing \r) from chunks that cut lines anywhere. */
export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  const trimCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);
  // Pieces of a line that spans chunks, joined once its newline arrives (no quadratic re-concatenation).
  let carry: string[] = [];
  for await (const chunk of chunks) {
    if (!chunk.includes('\n')) {
      carry.push(chunk);
      continue;
    }
    const pieces = chunk.split('\n');
    carry.push(pieces[0]!);
    yield trimCr(carry.join(''));
    for (let i = 1; i < pieces.length - 1; i++) yield trimCr(pieces[i]!);
    carry = [pieces[pieces.length - 1]!];
  }
  const rest = carry.join('');
  if (rest.length > 0) yield trimCr(rest);
}

/** A text sink that waits for the disk when the stream's buffer is full. */
export interface TextSink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

export function openTextSink(file: string): TextSink {
  const stream = fs.createWriteStream(file, { encoding: 'utf8' });
  let failure: Error | undefined;
  stream.on('error', (e) => {
    failure = e;
  });
  return {
    async write(text: string): Promise<void> {
      if (failure) throw failure;
      if (!stream.write(text)) await once(stream, 'drain');
    },
    async close(): Promise<void> {
      if (failure) throw failure;
      stream.end();
      await once(stream, 'finish');
    },
  };
}

export const BYTE_ORDER_MARK = '\uFEFF';
