import type { GraphQLSchema } from 'graphql';
import type { IMiddlewareFunction } from 'graphql-middleware';
import { BadUserInputError } from './errors';

// C0 controls other than tab and newline, DEL, and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/u;
const MAX_DEPTH = 8;

function clean(value: unknown, path: string, depth: number): unknown {
  if (typeof value === 'string') {
    const text = value.replace(/\r\n/g, '\n').normalize('NFC');
    if (FORBIDDEN.test(text)) throw new BadUserInputError(`${path} contains control characters`, { field: path });
    return text;
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v, i) => clean(v, `${path}[${i}]`, depth + 1));
  // Only plain input objects are walked; scalars parsed into objects (DateTime's Date) stay as they are.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = clean(v, `${path}.${k}`, depth + 1);
  return out;
}

/**
 * Every string argument of every root field: CRLF folded to LF, NFC-normalised, and refused
 * (BAD_USER_INPUT) when it holds NUL or another control character other than tab and newline.
 * Lookalike and invisible-character tricks stop here, before any service sees the input.
 */
export function inputHygiene(schema: GraphQLSchema): Record<string, IMiddlewareFunction> {
  // Queries and mutations: their arguments reach services. Subscription arguments are ids and
  // offsets validated where the subscription starts; wrapping them would re-run on every event.
  const roots = [schema.getQueryType(), schema.getMutationType()].filter((t) => t !== null && t !== undefined);
  return Object.fromEntries(
    roots
      .map((root) => root.name)
      .map((type) => [
        type,
        (async (resolve, parent, args, context, info) => {
          const cleaned = clean(args, info.fieldName, 0) as Record<string, unknown>;
          return resolve(parent, cleaned, context, info) as unknown;
        }) as IMiddlewareFunction,
      ]),
  );
}
