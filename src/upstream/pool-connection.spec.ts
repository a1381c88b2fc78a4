import { createServer, Server } from 'node:net';
import { PoolConnection, PoolConnectionListener } from './pool-connection.js';

/** The reason of the first failed attempt of a public-only connection to host:port. */
function firstFailure(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const ignore = () => undefined;
    const listener: PoolConnectionListener = {
      onReady: () => resolve('connected'),
      onAuthorizeFailed: ignore,
      onJob: ignore,
      onDifficulty: ignore,
      onExtranonce: ignore,
      onVersionMask: ignore,
      onProtocolError: ignore,
      onDown: (reason) => {
        connection.close();
        resolve(reason);
      },
    };
    const options = {
      userAgent: 't',
      maxLineLength: 1024,
      connectTimeoutMs: 2000,
      submitTimeoutMs: 1000,
      versionRollingMask: null,
      publicOnly: true,
    };
    const connection = new PoolConnection({ host, port, user: 'u', password: 'p' }, options, listener, 'test');
    connection.start();
  });
}

describe('PoolConnection with publicOnly', () => {
  let server: Server;
  let accepted = 0;
  let port = 0;

  beforeAll(async () => {
    server = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('never opens a socket to a loopback address, given as an IP or as a name that resolves to one', async () => {
    expect(await firstFailure('127.0.0.1', port)).toBe('127.0.0.1 is not a public address (--pools.allowPrivate)');
    expect(await firstFailure('localhost', port)).toMatch(/is not a public address \(--pools\.allowPrivate\)$/);
    expect(accepted).toBe(0);
  });
});
