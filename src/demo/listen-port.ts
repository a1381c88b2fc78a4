import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';

/** Ports below this are left alone (well-known and registered services). */
const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux; 32768 where it cannot be read). */
export function ephemeralRangeStart(read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): number {
  try {
    const first = Number.parseInt(read().trim().split(/\s+/)[0], 10);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Listens on a free port below the kernel's ephemeral range. A simulated pool that stops and starts again
 * on its port (a pool going away and coming back) would otherwise find it taken meanwhile: a port of the
 * ephemeral range is what every outgoing connection and every `listen(0)` on the machine gets, and a busy
 * test run makes thousands. Below the range only another explicit pick can collide, and that is retried.
 */
export async function listenBelowEphemeralRange(server: Server, host = '127.0.0.1', attempts = 50): Promise<number> {
  const top = ephemeralRangeStart();
  if (top - LOWEST < 1000) return listen(server, 0, host);
  for (let attempt = 1; ; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
    try {
      return await listen(server, port, host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'EADDRINUSE' && code !== 'EACCES') || attempt >= attempts) throw error;
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve((server.address() as { port: number }).port);
    });
  });
}
