import { GraphQLError, Kind, OperationTypeNode, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

const CONDITIONAL = new Set(['skip', 'include']);

/** True when the selection set, or a fragment it spreads (each once), carries @skip or @include on a selection. */
function hasCondition(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): boolean {
  for (const sel of set.selections) {
    if (sel.directives?.some((d) => CONDITIONAL.has(d.name.value))) return true;
    if (sel.kind === Kind.INLINE_FRAGMENT && hasCondition(sel.selectionSet, fragments, seen)) return true;
    if (sel.kind === Kind.FRAGMENT_SPREAD && !seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      const fragment = fragments.get(sel.name.value);
      if (fragment && hasCondition(fragment.selectionSet, fragments, seen)) return true;
    }
  }
  return false;
}

/**
 * A subscription whose top-level selection uses @skip or @include, which the GraphQL spec
 * forbids ("Single root field"). graphql-js 16's own rule evaluates those directives with no
 * variables and throws on `if: $var` (a 500), so it is refused here first, as
 * GRAPHQL_VALIDATION_FAILED, on HTTP and WebSocket alike.
 */
export function conditionalSubscriptionRoot(document: DocumentNode): GraphQLError | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION || def.operation !== OperationTypeNode.SUBSCRIPTION) continue;
    if (hasCondition(def.selectionSet, fragments, new Set())) {
      const name = def.name ? `"${def.name.value}" ` : '';
      return new GraphQLError(`Subscription ${name}must not use @skip or @include in its top-level selection.`, {
        nodes: [def],
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
      });
    }
  }
  return undefined;
}
