import {
  beyondSeq,
  beyondTimeId,
  cursorTime,
  keysetPage,
  MAX_PAGE_SIZE,
  orderedTimeIdCursor,
  pageOf,
  pageSize,
  seqCursor,
  timeIdCursor,
  type Direction,
  type TimeIdKey,
} from '../../src/graphql/pagination';

const ID = '0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4';
const badCursor = expect.objectContaining({ message: 'Invalid cursor', extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }) });
const encodeRaw = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('page sizes', () => {
  it('default to 20, allow 1 to 100, and refuse anything else with BAD_USER_INPUT', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(MAX_PAGE_SIZE)).toBe(100);
    for (const bad of [0, -1, 101, 1.5]) {
      expect(() => pageSize(bad)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'first' }) }));
    }
  });
});

describe('the (createdAt, id) cursor', () => {
  it('round-trips a key, to the millisecond', () => {
    const key = { createdAt: new Date('2026-03-04T05:06:07.089Z'), id: ID };
    const cursor = timeIdCursor.encode(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(timeIdCursor.decode(cursor)).toEqual(key);
  });

  it('refuses malformed cursors with BAD_USER_INPUT on `after`', () => {
    const malformed = [
      '',
      '!!!',
      'not base64 json',
      encodeRaw(null),
      encodeRaw(42),
      encodeRaw({ createdAt: '2026-01-01T00:00:00Z', id: ID }),
      encodeRaw(['2026-01-01T00:00:00Z']),
      encodeRaw(['2026-01-01T00:00:00Z', 'not-a-uuid']),
      encodeRaw([12345, ID]),
      encodeRaw(['yesterday', ID]),
      Buffer.from('[1,').toString('base64url'),
    ];
    for (const cursor of malformed) expect(() => timeIdCursor.decode(cursor)).toThrow(badCursor);
  });

  it('refuses times PostgreSQL cannot hold or that were never issued', () => {
    for (const iso of ['-271821-04-20T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '+010000-01-01T00:00:00.000Z']) {
      expect(() => timeIdCursor.decode(encodeRaw([iso, ID]))).toThrow(badCursor);
    }
    expect(cursorTime('1970-01-01T00:00:00.000Z')).toEqual(new Date(0));
    expect(cursorTime('9999-12-31T23:59:59.999Z')).toEqual(new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)));
    expect(cursorTime(0)).toBeUndefined();
  });
});

describe('the seq cursor', () => {
  it('round-trips up to 18 digits', () => {
    for (const seq of ['1', '42', '999999999999999999']) expect(seqCursor.decode(seqCursor.encode(seq))).toBe(seq);
  });

  it('refuses anything but 1 to 18 digits', () => {
    for (const cursor of ['', '-1', '1.5', '1e3', ' 1', 'abc', '1234567890123456789']) expect(() => seqCursor.decode(cursor)).toThrow(badCursor);
  });
});

describe('keyset conditions', () => {
  const key = { createdAt: new Date('2026-01-01T00:00:00Z'), id: ID };

  it('ask for rows strictly past the key in the page direction', () => {
    expect(beyondTimeId(key, 'desc')).toEqual({ $or: [{ createdAt: { $lt: key.createdAt } }, { createdAt: key.createdAt, id: { $lt: ID } }] });
    expect(beyondTimeId(key, 'asc')).toEqual({ $or: [{ createdAt: { $gt: key.createdAt } }, { createdAt: key.createdAt, id: { $gt: ID } }] });
    expect(beyondSeq('7', 'desc')).toEqual({ seq: { $lt: '7' } });
    expect(beyondSeq('7', 'asc')).toEqual({ seq: { $gt: '7' } });
  });
});

describe('keyset pages', () => {
  type Row = TimeIdKey & { name: string };
  const rows: Row[] = ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({ name, id: ID.replace(/.$/, String(i)), createdAt: new Date(Date.UTC(2026, 0, 1 + i)) }));
  const shape = { cursor: timeIdCursor, keyOf: (row: Row) => row, toNode: (row: Row) => row.name };
  // Issue 11: the kit reads both ways, so fetch takes a keyset condition and a direction; an
  // in-memory reader evaluates the conditions beyondTimeId builds (createdAt is unique here).
  type Cond = { $and?: Cond[]; $or?: { createdAt: Record<string, Date> }[] };
  const matches = (row: Row, cond: Cond | undefined): boolean => {
    if (!cond) return true;
    if (cond.$and) return cond.$and.every((c) => matches(row, c));
    const [{ createdAt: bound }] = cond.$or!;
    return bound.$gt ? row.createdAt > bound.$gt : row.createdAt < bound.$lt;
  };
  const fetch = jest.fn(async (keyset: Cond | undefined, limit: number, direction: Direction) => {
    const found = rows.filter((r) => matches(r, keyset));
    return (direction === 'asc' ? found : found.reverse()).slice(0, limit);
  });
  const query = { ...shape, order: 'asc' as const, beyond: beyondTimeId, fetch };

  it('make edges of the rows given, with both cursors and the neighbours given', () => {
    const page = pageOf(rows.slice(0, 2), { hasNextPage: true, hasPreviousPage: false }, shape);
    expect(page.edges.map((e) => e.node)).toEqual(['a', 'b']);
    expect(page.edges.map((e) => timeIdCursor.decode(e.cursor))).toEqual([
      { createdAt: rows[0].createdAt, id: rows[0].id },
      { createdAt: rows[1].createdAt, id: rows[1].id },
    ]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: page.edges[0].cursor, endCursor: page.edges[1].cursor });
    expect(pageOf([], { hasNextPage: false, hasPreviousPage: false }, shape)).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('read first + 1 rows past the decoded cursor, and check `first` before `after`', async () => {
    const first = await keysetPage({ ...query, first: 2, after: null });
    expect(fetch).toHaveBeenLastCalledWith(undefined, 3, 'asc');
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await keysetPage({ ...query, first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.map((e) => e.node)).toEqual(['c', 'd']);
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const last = await keysetPage({ ...query, first: 2, after: second.pageInfo.endCursor });
    expect(last).toEqual({
      edges: [{ node: 'e', cursor: timeIdCursor.encode(rows[4]) }],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: timeIdCursor.encode(rows[4]), endCursor: timeIdCursor.encode(rows[4]) },
    });

    fetch.mockClear();
    await expect(keysetPage({ ...query, first: 0, after: 'garbage' })).rejects.toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ field: 'first' }) }),
    );
    await expect(keysetPage({ ...query, first: 2, after: 'garbage' })).rejects.toThrow(badCursor);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('page back from the end with last/before, edges still in the natural order', async () => {
    const newest = await keysetPage({ ...query, first: null, after: null, last: 2 });
    expect(newest.edges.map((e) => e.node)).toEqual(['d', 'e']);
    expect(newest.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const older = await keysetPage({ ...query, first: null, after: null, last: 2, before: newest.pageInfo.startCursor });
    expect(older.edges.map((e) => e.node)).toEqual(['b', 'c']);
    expect(older.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const oldest = await keysetPage({ ...query, first: null, after: null, last: 2, before: older.pageInfo.startCursor });
    expect(oldest.edges.map((e) => e.node)).toEqual(['a']);
    expect(oldest.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // Both cursors bound the window.
    const between = await keysetPage({ ...query, first: 5, after: timeIdCursor.encode(rows[0]), before: timeIdCursor.encode(rows[3]) });
    expect(between.edges.map((e) => e.node)).toEqual(['b', 'c']);
  });

  it('refuse first with last, and a bad `before` cursor names `before`', async () => {
    await expect(keysetPage({ ...query, first: 2, after: null, last: 2 })).rejects.toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'last' }) }),
    );
    await expect(keysetPage({ ...query, first: null, after: null, last: 101 })).rejects.toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'last' }) }),
    );
    await expect(keysetPage({ ...query, first: null, after: null, last: 2, before: 'garbage' })).rejects.toThrow(
      expect.objectContaining({ message: 'Invalid cursor', extensions: expect.objectContaining({ field: 'before' }) }),
    );
  });
});

describe('ordered cursors', () => {
  it('round-trip under their own order and are refused under another', () => {
    const key = { createdAt: new Date('2026-03-04T05:06:07.089Z'), id: ID };
    const updated = orderedTimeIdCursor('u');
    expect(updated.decode(updated.encode(key))).toEqual(key);
    expect(() => orderedTimeIdCursor('c').decode(updated.encode(key))).toThrow(badCursor);
    expect(() => updated.decode(timeIdCursor.encode(key))).toThrow(badCursor);
    expect(() => timeIdCursor.decode(updated.encode(key))).toThrow(badCursor);
  });
});
