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
});
