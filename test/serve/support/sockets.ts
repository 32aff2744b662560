// Real-socket clients for the server tests: raw HTTP/1.1 over net (to send what fetch will not, such
// as a Content-Length that lies), and the server's own Prometheus gauges read over HTTP.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';

/** host and port of a listening app. */
export function addressOf(app: FastifyInstance): { host: string; port: number } {
  const a = app.server.address() as net.AddressInfo;
  return { host: a.address, port: a.port };
}

/** Opens a socket to the app and resolves once connected. */
export function connect(app: FastifyInstance): Promise<net.Socket> {
  const { host, port } = addressOf(app);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** The head of a JSON POST whose Content-Length says `length` (default: the body's true length). */
export function postHead(url: string, body: string, length = Buffer.byteLength(body)): string {
  return `POST ${url} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: keep-alive\r\n\r\n`;
}

/** Everything the server writes on the socket until it closes it or `ms` pass. */
export function readUntilClose(socket: net.Socket, ms = 5000): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, ms);
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

/** A gauge or counter value from /metrics (labels given exactly as rendered, e.g. `{model="a"}`). */
export async function metricValue(app: FastifyInstance, name: string, labels = ''): Promise<number> {
  const text = (await app.inject('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  if (!line) throw new Error(`metric ${name}${labels} not found in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Polls until `read()` returns `want` or `ms` pass; returns the last value read. */
/**
 * Polls `read` until it has returned `want` for `stableMs` in a row (or `ms` ran out) and returns its
 * last value. A single reading of `want` is not enough on a loaded machine: a request whose client
 * already left may still be waiting in a socket buffer, and takes its permit after that reading.
 */
export async function settle(read: () => Promise<number>, want: number, ms = 5000, stableMs = 250): Promise<number> {
  const end = Date.now() + ms;
  let value = await read();
  let since = value === want ? Date.now() : Infinity;
  while (Date.now() < end && !(value === want && Date.now() - since >= stableMs)) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
    if (value !== want) since = Infinity;
    else if (since === Infinity) since = Date.now();
  }
  return value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
