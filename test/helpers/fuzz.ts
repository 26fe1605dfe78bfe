import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  astFromValue,
  buildSchema,
  print,
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { ERROR_CODES } from '../../src/graphql/errors';
import { ROOT } from './paths';

/** The schema clients see, as published in schema.graphql. */
export function publishedSchema(): GraphQLSchema {
  return buildSchema(fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
}

/** Error codes API.md lists, but INTERNAL_SERVER_ERROR: a fuzzed input must get a clear coded refusal, never an unexpected error. */
export const EXPECTED_CODES = new Set<string>(ERROR_CODES.filter((c) => c !== 'INTERNAL_SERVER_ERROR'));

/** What must never reach a client: a stack frame, a source path, SQL or a driver's message. */
export const LEAKS =
  /\bat .+:\d+:\d+|\.(ts|js):\d+|node_modules|\/work\/|\/src\/|\bselect .+ from\b|\binsert into\b|\brelation "|syntax error at|violates .* constraint|Internal server error|TypeError|ReferenceError|Cannot read propert/i;

/** Strings a client can send: unicode, NUL, lone surrogates, huge (within BODY_LIMIT), numbers as text. */
export const fuzzString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\uD800',
    '\uDFFF\uD800',
    '𝕏🧨\u202E',
    "'; drop table x; --",
    '%00',
    '../../etc/passwd',
    '-1',
    '1e309',
    'null',
  ),
  fc.integer({ min: 1, max: 5 }).map((n) => 'é'.repeat(n * 40_000)),
);

const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2 });

/** Int values: small, at the 32-bit edges, and (shape-breaking) past them, fractions and numbers as text. */
function fuzzInt(valid: boolean): fc.Arbitrary<unknown> {
  const edges = fc.oneof(fc.integer({ min: -5, max: 100 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31)));
  return valid ? edges : fc.oneof(edges, fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300, 0.5, '7'));
}

/** Values for a scalar: its own kind (ids of the caller's own things among them), or any JSON when shapes may break. */
function scalarValue(name: string, ids: string[], valid: boolean): fc.Arbitrary<unknown> {
  const own: Record<string, fc.Arbitrary<unknown>> = {
    String: fuzzString,
    ID: fc.oneof(fc.constantFrom(...ids), fc.uuid(), fuzzString),
    Int: fuzzInt(valid),
    Float: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fuzzInt(valid)),
    Boolean: fc.boolean(),
    DateTime: fc.oneof(
      fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
      fc.constantFrom('2026-02-30T00:00:00Z', '0000-00-00', '9999-12-31T23:59:59Z'),
      fuzzString,
    ),
  };
  const mine = own[name] ?? anyJson;
  return valid ? mine : fc.oneof({ arbitrary: mine, weight: 4 }, { arbitrary: anyJson, weight: 1 });
}

/**
 * Values for an argument or input type. `valid`: the declared shape (required fields present,
 * enums from the enum, 32-bit ints) with hostile contents, so inputs reach the resolvers;
 * otherwise also wrong shapes (extra or missing fields, nulls, wrong kinds).
 */
export function inputValue(type: GraphQLInputType, ids: string[], valid: boolean, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    const inner = inputValue(type.ofType, ids, valid, depth);
    return valid ? inner : fc.oneof({ arbitrary: inner, weight: 9 }, { arbitrary: fc.constant(null), weight: 1 });
  }
  if (depth > 3) return valid ? fc.constant(null) : anyJson;
  const value = namedValue(type, ids, valid, depth);
  return valid ? fc.oneof({ arbitrary: value, weight: 4 }, { arbitrary: fc.constant(null), weight: 1 }) : value;
}

function namedValue(type: GraphQLInputType, ids: string[], valid: boolean, depth: number): fc.Arbitrary<unknown> {
  if (isListType(type)) {
    const list = fc.array(inputValue(type.ofType, ids, valid, depth + 1), { maxLength: 4 });
    return valid ? list : fc.oneof(list, inputValue(type.ofType, ids, valid, depth + 1));
  }
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name));
    return valid ? values : fc.oneof(values, fuzzString);
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const model = Object.fromEntries(fields.map((f) => [f.name, inputValue(f.type, ids, valid, depth + 1)]));
    const required = fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => f.name);
    if (valid) return fc.record(model, { requiredKeys: required });
    const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), anyJson, { maxKeys: 2 });
    return fc.oneof(
      { arbitrary: fc.tuple(fc.record(model, { requiredKeys: [] }), extra).map(([r, e]) => ({ ...e, ...r })), weight: 4 },
      { arbitrary: anyJson, weight: 1 },
    );
  }
  return scalarValue(isScalarType(type) ? type.name : 'JSON', ids, valid);
}

/** `__typename` for an object result, nothing for a leaf. */
function leafSelection(t: GraphQLNamedType): string {
  return isCompositeType(t) ? ' { __typename }' : '';
}

/** A document calling `field` of `root` with every argument as a variable of its declared type. */
/** Variables for a field's arguments: all of the declared shape (hostile contents), or any shape. */
export function argumentValues(args: readonly GraphQLArgument[], ids: string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.boolean().chain((valid) =>
    fc.record(Object.fromEntries(args.map((a) => [a.name, inputValue(a.type, ids, valid)])), {
      requiredKeys: valid ? args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined).map((a) => a.name) : [],
    }),
  );
}

export function operationFor(kind: 'query' | 'mutation', root: GraphQLObjectType, field: string): string {
  const f = root.getFields()[field];
  const vars = f.args.map((a: GraphQLArgument) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = f.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${kind} Fuzz${vars ? `(${vars})` : ''} { ${field}${args ? `(${args})` : ''}${leafSelection(getNamedType(f.type))} }`;
}

/** A GraphQL literal for a value (strings quoted as JSON, which GraphQL strings accept). */
function literal(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v ?? null);
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  return `{ ${Object.entries(v)
    .filter(([k]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(k))
    .map(([k, x]) => `${k}: ${literal(x)}`)
    .join(', ')} }`;
}

/** The literal graphql-js would print for `v` as a `type` (enums unquoted), or a plain one when `v` does not fit the type. */
function typedLiteral(v: unknown, type: GraphQLInputType): string {
  try {
    const ast = astFromValue(v, type);
    if (ast) return print(ast);
  } catch {
    // not a value of that type: printed as it is, for the server to refuse
  }
  return literal(v);
}

const NAME = fc.stringMatching(/^[_a-z][_0-9a-zA-Z]{0,6}$/);

/**
 * Random selection sets over `type`: real and made-up fields, aliases, arguments as literals
 * (right and wrong), inline fragments, nesting past the depth limit.
 */
export function selectionOf(schema: GraphQLSchema, type: GraphQLObjectType, ids: string[], depth: number): fc.Arbitrary<string> {
  const fields = Object.values(type.getFields());
  const one = fc.tuple(fc.constantFrom(...fields), fc.option(NAME, { nil: undefined }), fc.boolean()).chain(([f, alias, withFragment]) => {
    const named = getNamedType(f.type);
    const args = f.args.length
      ? fc.tuple(
          ...f.args.map((a) =>
            fc
              .integer({ min: 0, max: 4 })
              .chain((n) => inputValue(a.type, ids, n > 0))
              .map((v) => `${a.name}: ${typedLiteral(v, a.type)}`),
          ),
        )
      : fc.constant([]);
    const sub: fc.Arbitrary<string> =
      isObjectType(named) && depth < 9
        ? selectionOf(schema, named, ids, depth + 1).map((s) => (withFragment ? ` { ... on ${named.name} ${s} }` : ` ${s}`))
        : fc.constant(leafSelection(named));
    return fc.tuple(args, sub).map(([a, s]) => `${alias ? `${alias}: ` : ''}${f.name}${a.length ? `(${a.join(', ')})` : ''}${s}`);
  });
  const madeUp = NAME.map((n) => `${n}${depth % 2 ? ' { id }' : ''}`);
  return fc.array(fc.oneof({ arbitrary: one, weight: 12 }, { arbitrary: madeUp, weight: 1 }), { minLength: 1, maxLength: 3 }).map((s) => `{ ${s.join(' ')} }`);
}

/** A random document built from the schema, with named fragments, variables and directives sometimes. */
export function randomDocument(schema: GraphQLSchema, ids: string[]): fc.Arbitrary<{ query: string; variables?: unknown }> {
  const roots = [
    ['query', schema.getQueryType()!],
    ['mutation', schema.getMutationType()!],
    ['subscription', schema.getSubscriptionType()!],
  ] as const;
  return fc
    .tuple(fc.constantFrom(...roots), fc.integer({ min: 0, max: 3 }), fc.option(fc.dictionary(fc.constantFrom('b', 'v'), anyJson), { nil: undefined }))
    .chain(([[kind, root], shape, variables]) =>
      selectionOf(schema, root, ids, 0).map((sel) => {
        if (shape === 1) return { query: `${kind} Op($b: Boolean = true) ${sel.replace(/^\{/, '{ __typename @include(if: $b) ')}`, variables };
        if (shape === 2) return { query: `${kind} ${sel.replace(/^\{/, '{ ...F ')} fragment F on ${root.name} { __typename }`, variables };
        if (shape === 3) return { query: `${kind} A ${sel} ${kind} B { __typename }`, variables };
        return { query: `${kind} ${sel}`, variables };
      }),
    );
}
