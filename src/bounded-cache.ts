/**
 * A small in-memory cache bounded in size and time: at most `maxEntries` entries (the least
 * recently used goes first), each dropped once its own expiry passes. Hot-path caches (verified
 * access tokens, document verdicts) use it so none can grow without limit or serve stale data
 * for longer than its owner allows.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  /** The value, unless absent or expired (an expired entry is removed). */
  get(key: K, now = Date.now()): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.until <= now) return undefined;
    this.entries.set(key, hit); // most recently used last
    return hit.value;
  }

  /** Stores `value` until `until` (epoch ms), never longer than the cache's own maximum age. */
  set(key: K, value: V, until = Infinity, now = Date.now()): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, until: Math.min(until, now + this.maxAgeMs) });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
