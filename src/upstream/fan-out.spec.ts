import { FanOut } from './fan-out.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('FanOut', () => {
  it('delivers a slice now and the rest in later turns, in order, across broadcasts', async () => {
    const fanOut = new FanOut(3);
    const seen: string[] = [];
    fanOut.run(4, (i) => seen.push(`a${i}`));
    fanOut.run(2, (i) => seen.push(`b${i}`));
    expect(seen).toEqual(['a0', 'a1', 'a2']);
    await nextTurn();
    expect(seen).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b1']);
    fanOut.run(1, (i) => seen.push(`c${i}`));
    expect(seen.at(-1)).toBe('c0');
  });

  it('lets other work run between slices', async () => {
    const fanOut = new FanOut(10);
    let delivered = 0;
    fanOut.run(100, () => delivered++);
    const between: number[] = [];
    for (let turn = 0; turn < 12; turn++) {
      between.push(delivered);
      await nextTurn();
    }
    expect(between.slice(0, 3)).toEqual([10, 20, 30]);
    expect(delivered).toBe(100);
  });

  it("holds the miners' lines once a slice waited past the slow-turn limit, and releases them when the broadcasts are out", async () => {
    let clock = 0;
    const fanOut = new FanOut(2, 20, () => clock);
    let delivered = 0;
    fanOut.run(6, () => delivered++);
    // The first slice goes at once; a turn that comes soon enough holds nothing.
    expect(fanOut.holdsShares).toBe(false);
    clock += 5;
    await nextTurn();
    expect([delivered, fanOut.holdsShares]).toEqual([4, false]);
    // The loop was busy for 30 ms before the next slice: from now on jobs go first.
    clock += 30;
    fanOut.run(2, () => delivered++);
    await nextTurn();
    expect([delivered, fanOut.holdsShares]).toEqual([6, true]);
    let released = false;
    void fanOut.released().then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    await nextTurn();
    await Promise.resolve();
    expect([delivered, fanOut.holdsShares, released, fanOut.holds]).toEqual([8, false, true, 1]);
  });

  it('released() is immediate without a hold, and a hold ends after a second even if broadcasts keep coming', async () => {
    let clock = 0;
    const fanOut = new FanOut(1, 20, () => clock);
    await fanOut.released();
    fanOut.run(3, () => undefined);
    clock += 50;
    await nextTurn();
    expect(fanOut.holdsShares).toBe(true);
    fanOut.run(100, () => undefined);
    clock += 1001;
    await nextTurn();
    expect(fanOut.holdsShares).toBe(false);
  });
});
