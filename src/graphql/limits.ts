import {
  GraphQLError, Kind, NoSchemaIntrospectionCustomRule, specifiedRules,
  type ASTVisitor, type DocumentNode, type GraphQLSchema, type ValidationContext, type ValidationRule,
} from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Config } from '../config';

/** Largest GraphQL document accepted, in bytes of its text. */
export const MAX_DOCUMENT_BYTES = 20 * 1024;
/** Most lexical tokens graphql's parser will read (stops parser-exhaustion documents early). */
export const MAX_TOKENS = 2000;
/** Most directive usages in one document. */
export const MAX_DIRECTIVES = 10;
/** Page size a paginated field is costed at when `first` is not given. */
export const DEFAULT_PAGE_SIZE = 20;

/**
 * Validation errors of our limits carry their code here; Apollo re-labels every validation
 * error GRAPHQL_VALIDATION_FAILED, and formatError restores the limit's own code.
 */
export const LIMIT_CODE = 'limitCode';

function limitError(message: string, code: string, extra: Record<string, unknown> = {}, nodes?: GraphQLError['nodes']): GraphQLError {
  return new GraphQLError(message, { nodes: nodes ?? undefined, extensions: { code, [LIMIT_CODE]: code, ...extra } });
}

/** graphql-depth-limit, its errors coded QUERY_TOO_DEEP. Fragments are expanded, so they cannot hide depth. */
function depthRule(max: number): ValidationRule {
  const inner = depthLimit(max) as ValidationRule;
  return (context: ValidationContext) => {
    const coded = new Proxy(context, {
      get(target, prop) {
        if (prop === 'reportError') return (err: GraphQLError) => target.reportError(limitError(err.message, 'QUERY_TOO_DEEP', { maxDepth: max }, err.nodes));
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return inner(coded);
  };
}

/** Counts aliases across the whole document (fragments included, `__typename` too). */
function aliasRule(max: number): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Field(node) {
        if (node.alias && ++count === max + 1) {
          context.reportError(limitError(`Too many aliases: at most ${max} per document`, 'QUERY_TOO_COMPLEX', { maxAliases: max }, [node]));
        }
      },
    } as ASTVisitor;
  };
}

/** Refuses documents using more than MAX_DIRECTIVES directives (directive overloading). */
function directiveRule(max: number): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Directive(node) {
        if (++count === max + 1) context.reportError(limitError(`Too many directives: at most ${max} per document`, 'QUERY_TOO_COMPLEX', { maxDirectives: max }, [node]));
      },
    } as ASTVisitor;
  };
}

/** The validation rules every operation passes, on HTTP and WebSocket alike (graphql's own rules are added by the caller). */
export function limitRules(config: Config): ValidationRule[] {
  const rules = [depthRule(config.limits.maxDepth), aliasRule(config.limits.maxAliases), directiveRule(MAX_DIRECTIVES)];
  if (config.appEnv === 'prod' && !config.limits.allowIntrospection) rules.push(NoSchemaIntrospectionCustomRule);
  return rules;
}

/** All rules for a WebSocket operation: graphql's specified rules plus ours. */
export function allRules(config: Config): ValidationRule[] {
  return [...specifiedRules, ...limitRules(config)];
}

/**
 * A paginated field (one with a `first` argument) costs `first` (or the default page size)
 * times its selection; any other field costs 1 plus its selection.
 */
const paginationEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.args.some((a) => a.name === 'first')) {
    const first = typeof args.first === 'number' && args.first > 0 ? args.first : DEFAULT_PAGE_SIZE;
    return 1 + first * Math.max(1, childComplexity);
  }
  return undefined;
};

/** The cost of an operation; throws QUERY_TOO_COMPLEX (with the cost) past MAX_QUERY_COST. */
export function assertCost(config: Config, schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string | null): number {
  const cost = getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    operationName: operationName ?? undefined,
    estimators: [paginationEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
  if (cost > config.limits.maxCost) {
    throw new GraphQLError(`Query is too complex: cost ${cost} is over the limit of ${config.limits.maxCost}`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost: config.limits.maxCost, http: { status: 400 } },
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
