import { LineQueue } from './line-queue.js';

describe('LineQueue', () => {
  it('gives lines back in order across pushes, and compacts what it served', () => {
    const queue = new LineQueue();
    const sent = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    const received: string[] = [];
    for (let i = 0; i < sent.length; i += 700) {
      queue.push(sent.slice(i, i + 700));
      for (let n = 0; n < 500 && queue.length > 0; n++) received.push(queue.shift());
    }
    while (queue.length > 0) received.push(queue.shift());
    expect(received).toEqual(sent);
    expect(queue.length).toBe(0);
    queue.push(['a']);
    queue.clear();
    expect(queue.length).toBe(0);
  });
});
