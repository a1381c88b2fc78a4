import { createServer, type Server } from 'node:net';
import { ephemeralRangeStart, listenBelowEphemeralRange } from './listen-port.js';

describe('listenBelowEphemeralRange', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  it('reads the first port of the kernel range, and falls back to 32768', () => {
    expect(ephemeralRangeStart(() => '40000\t60999\n')).toBe(40_000);
    expect(ephemeralRangeStart(() => 'junk')).toBe(32_768);
    expect(
      ephemeralRangeStart(() => {
        throw new Error('no /proc');
      }),
    ).toBe(32_768);
  });

  it('listens on a port below the ephemeral range, a different one each time it is taken', async () => {
    const top = ephemeralRangeStart();
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const server = createServer();
      servers.push(server);
      const port = await listenBelowEphemeralRange(server);
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(top);
      expect((server.address() as { port: number }).port).toBe(port);
      ports.add(port);
    }
    // Twenty servers listening at once: twenty ports (a taken one is retried, never shared).
    expect(ports.size).toBe(20);
  });

  it('says why when it cannot listen at all', async () => {
    const server = createServer();
    servers.push(server);
    await expect(listenBelowEphemeralRange(server, '192.0.2.1', 2)).rejects.toThrow(/EADDRNOTAVAIL|EACCES/);
  });
});
