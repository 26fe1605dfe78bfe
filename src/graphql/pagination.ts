import { Field, ObjectType, type ClassType } from 'type-graphql';
import { BadUserInputError } from './errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './limits';

// ---------------------------------------------------------------------------------------------
// Page size
// ---------------------------------------------------------------------------------------------

/** The most items one page may ask for. */
export { MAX_PAGE_SIZE };

/** The page size for a `first` (or `last`, named by `field`) argument: DEFAULT_PAGE_SIZE when absent; 1–100, else BAD_USER_INPUT. */
export function pageSize(first: number | null | undefined, field: 'first' | 'last' = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`${field} must be between 1 and ${MAX_PAGE_SIZE}`, { field });
  }
  return first;
}

/** The page size and direction of `first`/`last`: giving both is BAD_USER_INPUT (Relay leaves it undefined). */
export function pageWindow(first: number | null | undefined, last: number | null | undefined): { size: number; backward: boolean } {
  const hasFirst = first !== null && first !== undefined;
  const hasLast = last !== null && last !== undefined;
  if (hasFirst && hasLast) throw new BadUserInputError('Give first or last, not both', { field: 'last' });
  return hasLast ? { size: pageSize(last, 'last'), backward: true } : { size: pageSize(first), backward: false };
}

// ---------------------------------------------------------------------------------------------
// Cursor codecs
// ---------------------------------------------------------------------------------------------

/** The argument a cursor came in. */
export type CursorField = 'after' | 'before';

/** Turns a row's position into an opaque `after`/`before` string and back. */
export interface CursorCodec<Key> {
  /** The cursor for `key`. */
  encode(key: Key): string;
  /** The key in a cursor this codec issued; anything else is BAD_USER_INPUT on `field` (default `after`). */
  decode(cursor: string, field?: CursorField): Key;
}

/** The earliest and latest times a cursor may carry: anything outside was never issued, and PostgreSQL's timestamp range is narrower than JavaScript's. */
const CURSOR_MIN = Date.UTC(1970, 0, 1);
const CURSOR_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The time in a decoded cursor, or undefined when it is not an ISO string within CURSOR_MIN–CURSOR_MAX. */
export function cursorTime(iso: unknown): Date | undefined {
  if (typeof iso !== 'string') return undefined;
  const t = new Date(iso);
  const ms = t.getTime();
  return Number.isNaN(ms) || ms < CURSOR_MIN || ms > CURSOR_MAX ? undefined : t;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalidCursor(field: CursorField = 'after'): BadUserInputError {
  return new BadUserInputError('Invalid cursor', { field });
}

/** A position over (createdAt, id): conversations, messages, users. */
export interface TimeIdKey {
  createdAt: Date;
  id: string;
}

/** The JSON array in a base64url cursor, or undefined when it is not one. */
function cursorArray(cursor: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The (time, id) key of `[iso, uuid]`, the time range-checked (a date PostgreSQL cannot hold would fail in the database instead). */
function timeIdOf(iso: unknown, id: unknown): TimeIdKey | undefined {
  const createdAt = cursorTime(iso);
  return createdAt && typeof id === 'string' && UUID.test(id) ? { createdAt, id } : undefined;
}

/** Cursors over (createdAt, id): base64url of `[iso time, uuid]`, the time range-checked by cursorTime. */
export const timeIdCursor: CursorCodec<TimeIdKey> = {
  encode: ({ createdAt, id }) => Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url'),
  decode(cursor, field) {
    const parsed = cursorArray(cursor);
    const key = parsed && parsed.length === 2 ? timeIdOf(parsed[0], parsed[1]) : undefined;
    if (!key) throw invalidCursor(field);
    return key;
  },
};

/**
 * Cursors over (time, id) for a list that can be sorted several ways: base64url of
 * `[order, iso time, uuid]`, so a cursor issued under one order is refused under another.
 */
export function orderedTimeIdCursor(order: string): CursorCodec<TimeIdKey> {
  return {
    encode: ({ createdAt, id }) => Buffer.from(JSON.stringify([order, createdAt.toISOString(), id])).toString('base64url'),
    decode(cursor, field) {
      const parsed = cursorArray(cursor);
      const key = parsed && parsed.length === 3 && parsed[0] === order ? timeIdOf(parsed[1], parsed[2]) : undefined;
      if (!key) throw invalidCursor(field);
      return key;
    },
  };
}

/** Cursors over a bigint sequence (the audit trail's seq): its decimal digits, at most 18 of them. */
export const seqCursor: CursorCodec<string> = {
  encode: (seq) => seq,
  decode(cursor, field) {
    if (!/^\d{1,18}$/.test(cursor)) throw invalidCursor(field);
    return cursor;
  },
};

// ---------------------------------------------------------------------------------------------
// Keyset pages
// ---------------------------------------------------------------------------------------------

/** The order a keyset page runs in. */
export type Direction = 'asc' | 'desc';

/** The other direction. */
export function reverse(direction: Direction): Direction {
  return direction === 'asc' ? 'desc' : 'asc';
}

/** A MikroORM filter fragment, merged into the caller's own `where`. */
export type KeysetCondition = Record<string, unknown>;

/** The MikroORM condition for rows strictly beyond `key` in `direction`: (`field`, id) past the key's (field: createdAt unless told). */
export function beyondTimeId(key: TimeIdKey, direction: Direction, field = 'createdAt'): KeysetCondition {
  const op = direction === 'asc' ? '$gt' : '$lt';
  return { $or: [{ [field]: { [op]: key.createdAt } }, { [field]: key.createdAt, id: { [op]: key.id } }] };
}

/** The MikroORM condition for rows strictly beyond `seq` in `direction`. */
export function beyondSeq(seq: string, direction: Direction): KeysetCondition {
  return { seq: { [direction === 'asc' ? '$gt' : '$lt']: seq } };
}

/** `where` narrowed by a keyset condition (kept apart in `$and`, so a `$or` of the caller's survives). */
export function withKeyset(where: KeysetCondition, keyset: KeysetCondition | undefined): KeysetCondition {
  if (!keyset) return where;
  const and = Array.isArray(where.$and) ? (where.$and as unknown[]) : [];
  return { ...where, $and: [...and, keyset] };
}

/** What a paged field returns, before GraphQL sees it (the shape of every `…Connection`). */
export interface Page<Node> {
  edges: { node: Node; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

/** How to read one keyset page: the arguments, the list's order, the cursor codec and a reader of rows. */
export interface KeysetQuery<Row, Key, Node> {
  first: number | null | undefined;
  after: string | null | undefined;
  last?: number | null;
  before?: string | null;
  /** The order edges come in (the connection's natural order). */
  order: Direction;
  cursor: CursorCodec<Key>;
  /** The position of a row. */
  keyOf(row: Row): Key;
  /** The row as the API shows it. */
  toNode(row: Row): Node;
  /** The condition for rows strictly beyond `key` when reading in `direction`. */
  beyond(key: Key, direction: Direction): KeysetCondition;
  /** Up to `limit` rows matching `keyset` (every row when undefined), read in `direction`. */
  fetch(keyset: KeysetCondition | undefined, limit: number, direction: Direction): Promise<Row[]>;
}

/** Every condition given, as one (undefined when none). */
function allOf(conditions: (KeysetCondition | undefined)[]): KeysetCondition | undefined {
  const present = conditions.filter((c): c is KeysetCondition => c !== undefined);
  return present.length === 0 ? undefined : present.length === 1 ? present[0] : { $and: present };
}

/**
 * One keyset page under Relay's rules: checks `first`/`last` (pageWindow) then the cursors,
 * reads `size + 1` rows from the `after` end (`first`) or the `before` end (`last`) so the far
 * side needs no count, and gives edges in the natural order. The near side (hasPreviousPage
 * with `after`, hasNextPage with `before`) is one indexed read of a single row; without that
 * cursor the page starts at the list's end, so it is false.
 */
export async function keysetPage<Row, Key, Node>(query: KeysetQuery<Row, Key, Node>): Promise<Page<Node>> {
  const { size, backward } = pageWindow(query.first, query.last);
  const after = query.after ? query.cursor.decode(query.after, 'after') : undefined;
  const before = query.before ? query.cursor.decode(query.before, 'before') : undefined;
  const forth = query.order;
  const back = reverse(forth);
  const bounds = allOf([after && query.beyond(after, forth), before && query.beyond(before, back)]);
  const rows = await query.fetch(bounds, size + 1, backward ? back : forth);
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  const more = rows.length > size;
  // The near side: a row past the page's near edge (or past the cursor when the page is empty).
  const nearCursor = backward ? before : after;
  const nearRow = backward ? page[page.length - 1] : page[0];
  const nearDirection = backward ? forth : back;
  const near =
    nearCursor !== undefined &&
    (await query.fetch(query.beyond(nearRow === undefined ? nearCursor : query.keyOf(nearRow), nearDirection), 1, nearDirection)).length > 0;
  return pageOf(page, { hasNextPage: backward ? near : more, hasPreviousPage: backward ? more : near }, query);
}

/** The page of `rows` (already in order, already cut to size) with the given neighbours. */
export function pageOf<Row, Key, Node>(
  rows: Row[],
  neighbours: { hasNextPage: boolean; hasPreviousPage: boolean },
  query: Pick<KeysetQuery<Row, Key, Node>, 'cursor' | 'keyOf' | 'toNode'>,
): Page<Node> {
  const edges = rows.map((row) => ({ node: query.toNode(row), cursor: query.cursor.encode(query.keyOf(row)) }));
  return {
    edges,
    pageInfo: { ...neighbours, startCursor: edges[0]?.cursor ?? null, endCursor: edges[edges.length - 1]?.cursor ?? null },
  };
}

// ---------------------------------------------------------------------------------------------
// GraphQL types
// ---------------------------------------------------------------------------------------------

@ObjectType({ description: 'Cursor pagination state.' })
export class PageInfo {
  @Field({ description: 'True when another page follows.' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;

  @Field({ description: 'True when items come before this page (always computed for `last`/`before`; with `after`, whether anything precedes the page).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `before` for the previous page.' })
  startCursor!: string | null;
}

/**
 * The base of a `…Edge` type: `node` of `nodeType` (described by `nodeDescription`) and its cursor.
 * Use as `@ObjectType({ description }) class MessageEdge extends Edge(MessageView, 'The message.') {}`.
 */
export function Edge<Node extends object>(nodeType: ClassType<Node>, nodeDescription: string) {
  @ObjectType() // abstract: no resolver returns it, and type-graphql 2 emits only reachable types (it has no `isAbstract`)
  abstract class EdgeBase {
    @Field(() => nodeType, { description: nodeDescription })
    node!: Node;

    @Field({ description: 'Its position, for `after` or `before`.' })
    cursor!: string;
  }
  return EdgeBase;
}

/**
 * The base of a `…Connection` type: `edges` of `edgeType` (described by `edgesDescription`) and pageInfo.
 * Use as `@ObjectType({ description }) class MessageConnection extends Connection(MessageEdge, 'The messages.') {}`.
 */
export function Connection<EdgeType extends object>(edgeType: ClassType<EdgeType>, edgesDescription: string) {
  @ObjectType() // abstract: no resolver returns it, and type-graphql 2 emits only reachable types (it has no `isAbstract`)
  abstract class ConnectionBase {
    @Field(() => [edgeType], { description: edgesDescription })
    edges!: EdgeType[];

    @Field(() => PageInfo, { description: 'Whether more follow.' })
    pageInfo!: PageInfo;
  }
  return ConnectionBase;
}
