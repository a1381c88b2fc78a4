import { PrefixAllocator } from './prefix-allocator.js';

describe('PrefixAllocator', () => {
  it('gives 256 distinct one-byte prefixes before any is shared, then spreads evenly', () => {
    const allocator = new PrefixAllocator(1, () => 0.5);
    const first = Array.from({ length: 256 }, () => allocator.allocate());
    expect(new Set(first).size).toBe(256);
    expect(first[0]).toBe('80');
    const next = Array.from({ length: 44 }, () => allocator.allocate());
    expect(new Set(next).size).toBe(44);
  });

  it('reuses a released prefix only after the free ones', () => {
    const allocator = new PrefixAllocator(1, () => 0);
    const a = allocator.allocate();
    allocator.allocate();
    allocator.release(a);
    expect(allocator.allocate()).toBe('02');
    for (let i = 0; i < 253; i++) allocator.allocate();
    expect(allocator.allocate()).toBe(a); // the only free value left
  });

  it('sizes prefixes by bytes', () => {
    const allocator = new PrefixAllocator(2, () => 0.999999);
    expect(allocator.allocate()).toBe('ffff');
    expect(allocator.allocate()).toBe('0000');
  });
});
