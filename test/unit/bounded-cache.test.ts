import { BoundedCache } from '../../src/bounded-cache';

describe('BoundedCache', () => {
  it('never holds more than its size: the least recently used entry goes first', () => {
    const cache = new BoundedCache<string, number>(3, 60_000);
    for (const k of ['a', 'b', 'c']) cache.set(k, k.charCodeAt(0));
    expect(cache.get('a')).toBe(97); // now the most recent
    cache.set('d', 100);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([97, 99, 100]);
  });

  it('drops an entry at its own expiry, and never keeps one past the maximum age', () => {
    const cache = new BoundedCache<string, string>(10, 1_000);
    cache.set('short', 'x', 5_500, 5_000);
    cache.set('long', 'y', Infinity, 5_000);
    expect(cache.get('short', 5_499)).toBe('x');
    expect(cache.get('short', 5_500)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.get('long', 5_999)).toBe('y');
    expect(cache.get('long', 6_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
