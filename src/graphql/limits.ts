import {
  BREAK,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getDirectiveValues,
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  specifiedRules,
  valueFromASTUntyped,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import type { Config } from '../config';
import { conditionalSubscriptionRoot } from './subscription-root';

/** Largest GraphQL document accepted, in bytes of its text. */
export const MAX_DOCUMENT_BYTES = 20 * 1024;
/** Most lexical tokens graphql's parser will read (stops parser-exhaustion documents early). */
export const MAX_TOKENS = 2000;
/** Most directive usages in one document. */
export const MAX_DIRECTIVES = 10;
/** Page size a paginated field is costed at when `first`/`last` is not given. */
export const DEFAULT_PAGE_SIZE = 20;
/** The most items one page may ask for (`first` or `last`). */
export const MAX_PAGE_SIZE = 100;
/** Most times one response name may be selected in one selection set (fragments merged in, as graphql-js merges them). */
export const MAX_FIELD_REPEATS = 20;
/** Most repeated selections of object fields in a whole document (each repeat multiplies graphql-js's overlap checks). */
export const MAX_REPEATED_OBJECT_FIELDS = 100;
/** Most errors one validation answers (graphql-js's default is 100): a broken document gets a short list. */
export const MAX_VALIDATION_ERRORS = 10;
/** graphql-js's `validate` options giving at most MAX_VALIDATION_ERRORS errors (it adds one "aborted" error past its cap). */
export const VALIDATION_OPTIONS = { maxErrors: MAX_VALIDATION_ERRORS - 1 };

/** A refusal by one of our limits: its own code (they run outside Apollo's validation, which would relabel it) and a 400. */
function limitError(message: string, code: string, extra: Record<string, unknown> = {}, nodes?: GraphQLError['nodes']): GraphQLError {
  return new GraphQLError(message, { nodes: nodes ?? undefined, extensions: { code, http: { status: 400 }, ...extra } });
}

/**
 * The deepest field nesting of a selection set, fragments included, in graphql-depth-limit's
 * measure (a field with a selection adds one; `__` fields are not counted). Each fragment is
 * measured once (memo), so fan-out documents cost their size, not 2^levels; an unknown or cyclic
 * spread counts 0 and is left to graphql-js's KnownFragmentNames and NoFragmentCycles rules.
 */
function depthMeter(document: DocumentNode): (set: SelectionSetNode) => number {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number>();
  const open = new Set<string>();
  const depth = (set: SelectionSetNode): number => {
    let max = 0;
    for (const sel of set.selections) {
      let d: number;
      if (sel.kind === Kind.FIELD) d = sel.selectionSet && !sel.name.value.startsWith('__') ? 1 + depth(sel.selectionSet) : 0;
      else if (sel.kind === Kind.INLINE_FRAGMENT) d = depth(sel.selectionSet);
      else d = fragmentValue(sel.name.value, fragments, memo, open, (f) => depth(f.selectionSet));
      if (d > max) max = d;
    }
    return max;
  };
  return depth;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(def.name.value)) fragments.set(def.name.value, def);
  return fragments;
}

/** A fragment's value, computed once; 0 for unknown fragments and for a spread inside its own cycle. */
function fragmentValue(
  name: string,
  fragments: Map<string, FragmentDefinitionNode>,
  memo: Map<string, number>,
  open: Set<string>,
  compute: (f: FragmentDefinitionNode) => number,
): number {
  const known = memo.get(name);
  if (known !== undefined) return known;
  const fragment = fragments.get(name);
  if (!fragment || open.has(name)) return 0;
  open.add(name);
  const value = compute(fragment);
  open.delete(name);
  memo.set(name, value);
  return value;
}

type NameCounts = Map<string, { all: number; objects: number }>;

/**
 * graphql-js's OverlappingFieldsCanBeMerged compares every pair of fields that share a response
 * name in a selection set (its fragments merged in), recursing into their selections: 490 copies
 * of `models { id }` took 400 ms. This counts, per selection set, how often each response name is
 * selected (each fragment counted once per set, its counts memoised), so repeats can be capped
 * before that rule runs.
 */
function repeatCounter(document: DocumentNode): (set: SelectionSetNode) => NameCounts {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, NameCounts>();
  const open = new Set<string>();
  const add = (into: NameCounts, name: string, all: number, objects: number) => {
    const c = into.get(name);
    if (c) {
      c.all += all;
      c.objects += objects;
    } else into.set(name, { all, objects });
  };
  const counts = (set: SelectionSetNode, into: NameCounts = new Map(), spread = new Set<string>()): NameCounts => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) add(into, (sel.alias ?? sel.name).value, 1, sel.selectionSet ? 1 : 0);
      else if (sel.kind === Kind.INLINE_FRAGMENT) counts(sel.selectionSet, into, spread);
      else if (!spread.has(sel.name.value) && fragments.has(sel.name.value) && !open.has(sel.name.value)) {
        spread.add(sel.name.value);
        let own = memo.get(sel.name.value);
        if (!own) {
          open.add(sel.name.value);
          own = counts(fragments.get(sel.name.value)!.selectionSet);
          open.delete(sel.name.value);
          memo.set(sel.name.value, own);
        }
        for (const [name, c] of own) add(into, name, c.all, c.objects);
      }
    }
    return into;
  };
  return (set) => counts(set);
}

/** QUERY_TOO_COMPLEX when fields are selected over and over (see repeatCounter), else undefined. */
function checkRepeats(document: DocumentNode): GraphQLError | undefined {
  const count = repeatCounter(document);
  let repeatedObjects = 0;
  let refused: GraphQLError | undefined;
  visit(document, {
    SelectionSet(node) {
      for (const [name, c] of count(node)) {
        if (c.all > MAX_FIELD_REPEATS)
          refused = limitError(`Field "${name}" is selected ${c.all} times in one selection set (at most ${MAX_FIELD_REPEATS})`, 'QUERY_TOO_COMPLEX', {
            maxFieldRepeats: MAX_FIELD_REPEATS,
          });
        if (c.all > 1) repeatedObjects += c.objects;
      }
      if (!refused && repeatedObjects > MAX_REPEATED_OBJECT_FIELDS) {
        refused = limitError(`Too many repeated object fields: at most ${MAX_REPEATED_OBJECT_FIELDS} per document`, 'QUERY_TOO_COMPLEX', {
          maxRepeatedObjectFields: MAX_REPEATED_OBJECT_FIELDS,
        });
      }
      return refused ? BREAK : undefined;
    },
  });
  return refused;
}

/**
 * Our document limits, checked in one linear pass before graphql-js's rules run (on HTTP from
 * Apollo's validationDidStart, on WebSocket by OperationPreparer), so a hostile document is
 * answered with one error and never reaches the per-node rules: directive count and unknown
 * directives (directive overloading), alias count, depth per operation, then repeated fields
 * (which would make graphql-js's overlap rule quadratic).
 */
export function checkDocumentLimits(config: Config, schema: GraphQLSchema, document: DocumentNode): GraphQLError | undefined {
  let directives = 0;
  let aliases = 0;
  let unknownDirective: string | undefined;
  visit(document, {
    Directive(node) {
      directives += 1;
      if (unknownDirective === undefined && !schema.getDirective(node.name.value)) unknownDirective = node.name.value;
    },
    Field(node) {
      if (node.alias) aliases += 1;
    },
  });
  if (directives > MAX_DIRECTIVES)
    return limitError(`Too many directives: at most ${MAX_DIRECTIVES} per document`, 'QUERY_TOO_COMPLEX', { maxDirectives: MAX_DIRECTIVES });
  if (unknownDirective !== undefined) return limitError(`Unknown directive "@${unknownDirective}".`, 'GRAPHQL_VALIDATION_FAILED');
  const maxAliases = config.limits.maxAliases;
  if (aliases > maxAliases) return limitError(`Too many aliases: at most ${maxAliases} per document`, 'QUERY_TOO_COMPLEX', { maxAliases });
  const depth = depthMeter(document);
  const max = config.limits.maxDepth;
  for (const def of document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION && depth(def.selectionSet) > max) {
      return limitError(`'${def.name?.value ?? ''}' exceeds maximum operation depth of ${max}`, 'QUERY_TOO_DEEP', { maxDepth: max }, [def]);
    }
  }
  return conditionalSubscriptionRoot(document) ?? checkRepeats(document);
}

/** The validation rules added to graphql-js's own, on HTTP and WebSocket alike (our limits run before, in checkDocumentLimits). */
export function limitRules(config: Config): ValidationRule[] {
  return config.appEnv === 'prod' && !config.limits.allowIntrospection ? [NoSchemaIntrospectionCustomRule] : [];
}

/** All rules for a WebSocket operation: graphql's specified rules plus ours. */
export function allRules(config: Config): ValidationRule[] {
  return [...specifiedRules, ...limitRules(config)];
}

/** The operation a request runs: the named one, or the only one. */
function operationOf(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : undefined;
}

/** False when @skip/@include leave the field out (graphql-query-complexity honoured them too). */
function included(node: FieldNode, variables: Record<string, unknown>): boolean {
  if (!node.directives?.length) return true;
  try {
    return getDirectiveValues(GraphQLSkipDirective, node, variables)?.if !== true && getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  } catch {
    return true; // a bad variable is reported by execution; cost it as present
  }
}

/** The value of a field's argument `name` (literal or variable), undefined when absent or null. */
function argValue(node: FieldNode, name: string, variables: Record<string, unknown>): unknown {
  const arg = node.arguments?.find((a) => a.name.value === name)?.value;
  if (arg?.kind === Kind.INT) return Number(arg.value);
  return arg?.kind === Kind.VARIABLE ? (variables[arg.name.value] ?? undefined) : undefined;
}

/** BAD_USER_INPUT, as the resolvers would answer it, but before any cost is computed or drawn. */
function pageArgError(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } } });
}

/**
 * The page size a paginated field asks for: its `first` or `last`, else DEFAULT_PAGE_SIZE.
 * Both given, or a size over MAX_PAGE_SIZE or under 0, is BAD_USER_INPUT here, so such a
 * request is refused as bad input rather than as too costly, on HTTP and WebSocket alike.
 */
function pageSize(node: FieldNode, variables: Record<string, unknown>): number {
  const first = argValue(node, 'first', variables);
  const last = argValue(node, 'last', variables);
  if (first !== undefined && last !== undefined) throw pageArgError('Give first or last, not both', 'last');
  const field = last !== undefined ? 'last' : 'first';
  const value = last ?? first;
  if (typeof value !== 'number') return DEFAULT_PAGE_SIZE; // absent, or a bad variable execution will report
  if (value > MAX_PAGE_SIZE || value < 0) throw pageArgError(`${field} must be between 1 and ${MAX_PAGE_SIZE}`, field);
  return value > 0 ? value : DEFAULT_PAGE_SIZE;
}

/**
 * The cost of an operation, counting objects: a scalar or enum field is free, an object field
 * costs 1 plus its selection, and a paginated field (one taking `first`) costs 1 plus `first`
 * or `last` (DEFAULT_PAGE_SIZE when absent) times its selection; page sizes out of range are
 * BAD_USER_INPUT (see pageSize). Each fragment is costed once (memo),
 * so the computation is linear in the document whatever its fragment fan-out.
 */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> = {}, operationName?: string | null): number {
  const operation = operationOf(document, operationName);
  if (!operation) return 0;
  // A variable the request leaves out takes its default from the document: `$n: Int = 100` pages 100.
  const defaults: Record<string, unknown> = {};
  for (const v of operation.variableDefinitions ?? []) if (v.defaultValue) defaults[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
  variables = { ...defaults, ...variables };
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number>();
  const open = new Set<string>();
  const cost = (set: SelectionSetNode, parent: GraphQLNamedType | undefined): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
        const type = field && getNamedType(field.type);
        if (!field || !sel.selectionSet || !isCompositeType(type) || !included(sel, variables)) continue;
        const children = cost(sel.selectionSet, type);
        total += 1 + (field.args.some((a) => a.name === 'first' || a.name === 'last') ? pageSize(sel, variables) : 1) * children;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += cost(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent);
      } else {
        total += fragmentValue(sel.name.value, fragments, memo, open, (f) => cost(f.selectionSet, schema.getType(f.typeCondition.name.value)));
      }
    }
    return total;
  };
  return cost(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined);
}

/** The cost of an operation; throws QUERY_TOO_COMPLEX (with the cost) past MAX_QUERY_COST. */
export function assertCost(
  config: Config,
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName?: string | null,
): number {
  const cost = queryCost(schema, document, variables ?? {}, operationName);
  if (cost > config.limits.maxCost) {
    const shown = Math.min(cost, Number.MAX_SAFE_INTEGER); // fan-out documents can cost astronomically
    throw new GraphQLError(`Query is too complex: cost ${shown} is over the limit of ${config.limits.maxCost}`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', cost: shown, maxCost: config.limits.maxCost, http: { status: 400 } },
    });
  }
  return cost;
}

/** True when the text is over the document size limit. */
export function documentTooLarge(query: unknown): boolean {
  return typeof query === 'string' && Buffer.byteLength(query, 'utf8') > MAX_DOCUMENT_BYTES;
}

/** The operation kinds in a document (for checks that apply to one kind). */
export function operationKinds(document: DocumentNode): string[] {
  return document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).map((d) => (d as { operation: string }).operation);
}
