import {
  beyondSeq,
  beyondTimeId,
  cursorTime,
  keysetPage,
  MAX_PAGE_SIZE,
  pageOf,
  pageSize,
  seqCursor,
  timeIdCursor,
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

  it('make edges of the first `size` rows and use the extra row only for hasNextPage', () => {
    const page = pageOf(rows.slice(0, 3), 2, shape);
    expect(page.edges.map((e) => e.node)).toEqual(['a', 'b']);
    expect(page.edges.map((e) => timeIdCursor.decode(e.cursor))).toEqual([
      { createdAt: rows[0].createdAt, id: rows[0].id },
      { createdAt: rows[1].createdAt, id: rows[1].id },
    ]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: page.edges[1].cursor });
    expect(pageOf(rows.slice(0, 2), 2, shape).pageInfo.hasNextPage).toBe(false);
    expect(pageOf([], 2, shape)).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('read first + 1 rows past the decoded cursor, and check `first` before `after`', async () => {
    const fetch = jest.fn(async (beyond: TimeIdKey | undefined, limit: number) =>
      rows.filter((r) => !beyond || r.createdAt > beyond.createdAt).slice(0, limit),
    );
    const first = await keysetPage({ ...shape, first: 2, after: null, fetch });
    expect(fetch).toHaveBeenLastCalledWith(undefined, 3);
    const second = await keysetPage({ ...shape, first: 2, after: first.pageInfo.endCursor, fetch });
    expect(second.edges.map((e) => e.node)).toEqual(['c', 'd']);
    const last = await keysetPage({ ...shape, first: 2, after: second.pageInfo.endCursor, fetch });
    expect(last).toEqual({
      edges: [{ node: 'e', cursor: timeIdCursor.encode(rows[4]) }],
      pageInfo: { hasNextPage: false, endCursor: timeIdCursor.encode(rows[4]) },
    });

    fetch.mockClear();
    await expect(keysetPage({ ...shape, first: 0, after: 'garbage', fetch })).rejects.toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ field: 'first' }) }),
    );
    await expect(keysetPage({ ...shape, first: 2, after: 'garbage', fetch })).rejects.toThrow(badCursor);
    expect(fetch).not.toHaveBeenCalled();
  });
});
