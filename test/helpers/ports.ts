// A local TCP port nothing listens on: bound to port 0, read, closed. Servers the tests start
// (replicas, PostgreSQL, Redis) listen on it; a test of a service that is down connects to it.
import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
