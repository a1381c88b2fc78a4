import { createServer, Server } from 'node:net';
import { PoolConnection, PoolConnectionListener } from './pool-connection.js';

/** A listener that hears only readiness and going down. */
function listenerFor(onReady: () => void, onDown: (reason: string) => void): PoolConnectionListener {
  const ignore = () => undefined;
  return {
    onReady,
    onAuthorizeFailed: ignore,
    onJob: ignore,
    onDifficulty: ignore,
    onExtranonce: ignore,
    onVersionMask: ignore,
    onProtocolError: ignore,
    onDown,
  };
}

/** The reason of the first failed attempt of a public-only connection to host:port. */
function firstFailure(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const listener = listenerFor(
      () => resolve('connected'),
      (reason) => {
        connection.close();
        resolve(reason);
      },
    );
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

describe('PoolConnection share deadlines (one timer for every pending request)', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    // A pool that answers the handshake and the shares whose nonce is even; the odd ones it never answers.
    server = createServer((socket) => {
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const message = JSON.parse(buffer.slice(0, newline)) as { id: number; method: string; params: string[] };
          buffer = buffer.slice(newline + 1);
          const answer = (result: unknown) => socket.write(`${JSON.stringify({ id: message.id, result, error: null })}\n`);
          if (message.method === 'mining.subscribe') answer([[['mining.notify', 's']], '0000aaaa', 4]);
          else if (message.method === 'mining.authorize' || message.method === 'mining.configure') answer(true);
          else if (message.method === 'mining.submit' && Number.parseInt(message.params[4], 16) % 2 === 0) answer(true);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('gives up each unanswered share at its own deadline, also those sent after the first ones expired', async () => {
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const listener = listenerFor(
      () => ready(),
      () => undefined,
    );
    const options = {
      userAgent: 't',
      maxLineLength: 4096,
      connectTimeoutMs: 2000,
      submitTimeoutMs: 300,
      versionRollingMask: null,
      publicOnly: false,
    };
    const connection = new PoolConnection({ host: '127.0.0.1', port, user: 'u', password: 'p' }, options, listener, 'test');
    connection.start();
    await isReady;
    const timed = (nonce: number) => {
      const sentAt = Date.now();
      return connection
        .submit('j', '00000000', '5f5e1000', nonce.toString(16).padStart(8, '0'))
        .then((verdict) => ({ verdict, ms: Date.now() - sentAt }));
    };
    try {
      const first = [timed(1), timed(2), timed(3)];
      await new Promise((resolve) => setTimeout(resolve, 250));
      const second = [timed(4), timed(5)];
      const [one, two, three] = await Promise.all(first);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(connection.sharesInFlight).toBe(1); // nonce 5, sent 250 ms later, is not due yet
      const [four, five] = await Promise.all(second);
      expect(two.verdict.accepted).toBe(true);
      expect(four.verdict.accepted).toBe(true);
      for (const late of [one, three, five]) {
        expect(late.verdict).toMatchObject({ accepted: false, timedOut: true });
        expect(late.ms).toBeGreaterThanOrEqual(295);
        expect(late.ms).toBeLessThan(1500);
      }
      expect(connection.sharesInFlight).toBe(0);
    } finally {
      connection.close();
    }
  });
});
