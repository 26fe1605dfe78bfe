import {
  Kind,
  OperationTypeNode,
  createSourceEventStream,
  execute,
  getNullableType,
  getOperationAST,
  isLeafType,
  isNonNullType,
  isObjectType,
  subscribe,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLOutputType,
  type SelectionSetNode,
} from 'graphql';

/**
 * Subscriptions whose events are plain data: each root field's resolver returns the event as it
 * is, and the listed fields of each object type are read straight off their parent (no resolver,
 * no rule but `allow`). Declared by the feature that owns them (the kit names none).
 */
export interface PlainSubscriptions {
  roots: readonly string[];
  /** By object type name: the fields whose value is the parent's property of that name. */
  fields: Readonly<Record<string, readonly string[]>>;
}

/** Builds one event's `data` by hand, or returns undefined when only full execution can (then it runs). */
type Build = (value: unknown) => Record<string, unknown> | undefined;

/** Thrown inside a build: this event needs the full execution (a null in a non-null field, a value the scalar refuses). */
const FALLBACK = new Error('needs the full execution'); // one instance: a throw costs no stack capture

const opaque: Build = () => {
  throw FALLBACK;
};

function leafOf(type: GraphQLOutputType): ((v: unknown) => unknown) | undefined {
  const inner = getNullableType(type);
  return isLeafType(inner) ? (v) => inner.serialize(v) : undefined;
}

/**
 * The builder for `selection` on `type`, or undefined when the selection is not a known shape:
 * only plain fields and `__typename`, aliases allowed, no fragment, directive, argument or
 * repeated response key (those take the full path, which handles every document).
 */
function compileObject(type: GraphQLOutputType, selection: SelectionSetNode | undefined, plain: PlainSubscriptions): Build | undefined {
  const object = getNullableType(type);
  if (!isObjectType(object) || !selection) return undefined;
  const allowed = new Set(plain.fields[object.name] ?? []);
  const steps: { key: string; name: string; nonNull: boolean; leaf?: (v: unknown) => unknown; nested?: Build }[] = [];
  const keys = new Set<string>();
  for (const node of selection.selections) {
    if (node.kind !== Kind.FIELD || node.directives?.length || node.arguments?.length) return undefined;
    const key = node.alias?.value ?? node.name.value;
    if (keys.has(key)) return undefined;
    keys.add(key);
    if (node.name.value === '__typename') {
      if (node.selectionSet) return undefined;
      steps.push({ key, name: '__typename', nonNull: true, leaf: () => object.name });
      continue;
    }
    const def = object.getFields()[node.name.value];
    if (!def || !allowed.has(def.name)) return undefined;
    const leaf = node.selectionSet ? undefined : leafOf(def.type);
    // A plain object field whose own selection is not (a computed field inside): null is still
    // built by hand; an event that carries a value there takes the full execution.
    const nested = node.selectionSet ? (compileObject(def.type, node.selectionSet, plain) ?? opaque) : undefined;
    if (!leaf && !nested) return undefined;
    steps.push({ key, name: def.name, nonNull: isNonNullType(def.type), leaf, nested });
  }
  return (value) => {
    if (value === null || value === undefined || typeof value !== 'object') throw FALLBACK;
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const s of steps) {
      const v = s.name === '__typename' ? object.name : source[s.name];
      if (v === null || v === undefined) {
        if (s.nonNull) throw FALLBACK;
        out[s.key] = null;
        continue;
      }
      const done = s.leaf ? s.leaf(v) : (s.nested as Build)(v);
      if (done === undefined || done === null) throw FALLBACK;
      out[s.key] = done;
    }
    return out;
  };
}

/** The per-event builder of `args`' operation when it is a plain subscription of a known shape, else undefined. */
export function planPlainSubscription(args: ExecutionArgs, plain: PlainSubscriptions): Build | undefined {
  const op = getOperationAST(args.document, args.operationName);
  const root = args.schema.getSubscriptionType();
  if (!op || op.operation !== OperationTypeNode.SUBSCRIPTION || !root || op.directives?.length || op.selectionSet.selections.length !== 1) return undefined;
  const field = op.selectionSet.selections[0];
  if (field.kind !== Kind.FIELD || field.directives?.length || !plain.roots.includes(field.name.value)) return undefined;
  const def = root.getFields()[field.name.value];
  if (!def || !isNonNullType(def.type)) return undefined;
  const event = compileObject(def.type, field.selectionSet, plain);
  if (!event) return undefined;
  const key = field.alias?.value ?? field.name.value;
  return (payload) => {
    try {
      return { [key]: event(payload) };
    } catch {
      // FALLBACK, or a scalar that refused the value: the full execution reports it as GraphQL does.
      return undefined;
    }
  };
}

/** `source`'s events mapped through `map`; ending it (return, or an error) ends the source, as graphql's own mapping does. */
function mapEvents(
  source: AsyncIterator<unknown>,
  map: (payload: unknown) => ExecutionResult | Promise<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const close = async () => {
    await source.return?.();
    return { value: undefined, done: true } as const;
  };
  const it: AsyncIterableIterator<ExecutionResult> & Pick<AsyncGenerator<ExecutionResult>, 'return' | 'throw'> = {
    next: async () => {
      let r: IteratorResult<unknown>;
      try {
        r = await source.next();
      } catch (err) {
        await source.return?.().catch(() => undefined);
        throw err;
      }
      if (r.done) return { value: undefined, done: true };
      return { value: await map(r.value), done: false };
    },
    return: close,
    throw: async (err: unknown) => {
      await close();
      throw err;
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

/**
 * graphql's `subscribe`, except that a plain subscription of a known shape is authorized and
 * started once (its `subscribe` resolver runs with every rule and middleware, as before) and then
 * each event's result is built by hand from the compiled selection, with no per-event execution
 * or middleware. Anything else, and any event the builder cannot take, runs the full execution.
 */
export function plainSubscribe(plain: PlainSubscriptions) {
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const build = planPlainSubscription(args, plain);
    if (!build) return subscribe(args);
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    return mapEvents(stream[Symbol.asyncIterator](), (payload) => {
      const data = build(payload);
      return data ? { data } : execute({ ...args, rootValue: payload });
    });
  };
}
