import { Field, ObjectType, type ClassType } from 'type-graphql';
import { BadUserInputError } from './errors';
import { DEFAULT_PAGE_SIZE } from './limits';

// ---------------------------------------------------------------------------------------------
// Page size
// ---------------------------------------------------------------------------------------------

/** The most items one page may ask for. */
export const MAX_PAGE_SIZE = 100;

/** The page size for a `first` argument: DEFAULT_PAGE_SIZE when absent; 1–100, else BAD_USER_INPUT. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'first' });
  }
  return first;
}

// ---------------------------------------------------------------------------------------------
// Cursor codecs
// ---------------------------------------------------------------------------------------------

/** Turns a row's position into an opaque `after` string and back. */
export interface CursorCodec<Key> {
  /** The cursor for `key`. */
  encode(key: Key): string;
  /** The key in a cursor this codec issued; anything else is BAD_USER_INPUT on `after`. */
  decode(cursor: string): Key;
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

function invalidCursor(): BadUserInputError {
  return new BadUserInputError('Invalid cursor', { field: 'after' });
}

/** A position over (createdAt, id): conversations, messages, users. */
export interface TimeIdKey {
  createdAt: Date;
  id: string;
}

/** Cursors over (createdAt, id): base64url of `[iso time, uuid]`, the time range-checked by cursorTime. */
export const timeIdCursor: CursorCodec<TimeIdKey> = {
  encode: ({ createdAt, id }) => Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url'),
  decode(cursor) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw invalidCursor();
    }
    if (!Array.isArray(parsed)) throw invalidCursor();
    const [iso, id] = parsed as unknown[];
    // Range-checked: a date PostgreSQL cannot hold (year -271821) would fail in the database instead.
    const createdAt = cursorTime(iso);
    if (!createdAt || typeof id !== 'string' || !UUID.test(id)) throw invalidCursor();
    return { createdAt, id };
  },
};

/** Cursors over a bigint sequence (the audit trail's seq): its decimal digits, at most 18 of them. */
export const seqCursor: CursorCodec<string> = {
  encode: (seq) => seq,
  decode(cursor) {
    if (!/^\d{1,18}$/.test(cursor)) throw invalidCursor();
    return cursor;
  },
};

// ---------------------------------------------------------------------------------------------
// Keyset pages
// ---------------------------------------------------------------------------------------------

/** The order a keyset page runs in. */
export type Direction = 'asc' | 'desc';

/** A MikroORM filter fragment, merged into the caller's own `where`. */
export type KeysetCondition = Record<string, unknown>;

/** The MikroORM condition for rows strictly beyond `key` in `direction`: (createdAt, id) past the key's. */
export function beyondTimeId(key: TimeIdKey, direction: Direction): KeysetCondition {
  const op = direction === 'asc' ? '$gt' : '$lt';
  return { $or: [{ createdAt: { [op]: key.createdAt } }, { createdAt: key.createdAt, id: { [op]: key.id } }] };
}

/** The MikroORM condition for rows strictly beyond `seq` in `direction`. */
export function beyondSeq(seq: string, direction: Direction): KeysetCondition {
  return { seq: { [direction === 'asc' ? '$gt' : '$lt']: seq } };
}

/** What a paged field returns, before GraphQL sees it (the shape of every `…Connection`). */
export interface Page<Node> {
  edges: { node: Node; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** How to read one keyset page: the arguments, the cursor codec and a reader of `limit` rows past a key. */
export interface KeysetQuery<Row, Key, Node> {
  first: number | null | undefined;
  after: string | null | undefined;
  cursor: CursorCodec<Key>;
  /** The position of a row. */
  keyOf(row: Row): Key;
  /** The row as the API shows it. */
  toNode(row: Row): Node;
  /** Up to `limit` rows in page order, strictly beyond `beyond` (from the start when undefined). */
  fetch(beyond: Key | undefined, limit: number): Promise<Row[]>;
}

/** The page made of rows read as `size + 1`: the first `size` become edges, the extra one only sets hasNextPage. */
export function pageOf<Row, Key, Node>(rows: Row[], size: number, query: Pick<KeysetQuery<Row, Key, Node>, 'cursor' | 'keyOf' | 'toNode'>): Page<Node> {
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    edges: page.map((row) => ({ node: query.toNode(row), cursor: query.cursor.encode(query.keyOf(row)) })),
    pageInfo: { hasNextPage: rows.length > size, endCursor: last === undefined ? null : query.cursor.encode(query.keyOf(last)) },
  };
}

/**
 * One keyset page: checks `first` (pageSize) then `after` (the codec), reads `first + 1` rows
 * so hasNextPage needs no count, and gives edges and pageInfo.
 */
export async function keysetPage<Row, Key, Node>(query: KeysetQuery<Row, Key, Node>): Promise<Page<Node>> {
  const size = pageSize(query.first);
  const beyond = query.after ? query.cursor.decode(query.after) : undefined;
  return pageOf(await query.fetch(beyond, size + 1), size, query);
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

    @Field({ description: 'Its position, for `after`.' })
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
