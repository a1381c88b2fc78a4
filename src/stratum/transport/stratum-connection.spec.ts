import type { Socket } from 'node:net';
import { StratumConnection } from './stratum-connection.js';

/** A socket that records how it was ended. */
function fakeSocket() {
  const socket = { ended: false, destroyed: false, writableLength: 0, remoteAddress: '10.0.0.9', remotePort: 4000 };
  return Object.assign(socket, {
    end: () => (socket.ended = true),
    destroy: () => (socket.destroyed = true),
    write: () => true,
  }) as unknown as Socket & { ended: boolean };
}

describe('StratumConnection limits', () => {
  it('closes after more junk than the limit within a minute, counting every message', () => {
    const counted: string[] = [];
    const connection = new StratumConnection(fakeSocket(), { maxJunkPerMinute: 3, maxInvalidShareRatio: 0.5 }, (kind) =>
      counted.push(kind),
    );
    for (let i = 0; i < 3; i++) connection.junk('notification');
    expect(connection.isOpen).toBe(true);
    connection.junk('unknown_method');
    expect(connection.closeReason).toBe('too-much-junk');
    expect(counted).toEqual(['notification', 'notification', 'notification', 'unknown_method']);
  });

  it('judges shares by blocks of 100: closed when more than the ratio were invalid', () => {
    const connection = new StratumConnection(fakeSocket(), { maxJunkPerMinute: 100, maxInvalidShareRatio: 0.5 });
    for (let i = 0; i < 100; i++) connection.shareJudged(i % 2 === 0); // exactly half invalid: kept
    expect(connection.isOpen).toBe(true);
    for (let i = 0; i < 99; i++) connection.shareJudged(i < 40);
    expect(connection.isOpen).toBe(true);
    connection.shareJudged(false); // 60 of 100 invalid
    expect(connection.closeReason).toBe('invalid-shares');
  });

  it('says the first time of each kind only', () => {
    const connection = new StratumConnection(fakeSocket());
    expect([connection.firstTime('a'), connection.firstTime('a'), connection.firstTime('b')]).toEqual([true, false, true]);
  });
});
