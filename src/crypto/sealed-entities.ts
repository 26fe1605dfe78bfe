import { helper, type EntityManager, type EventArgs, type EventSubscriber, type FlushEventArgs } from '@mikro-orm/core';
import type { ContentCipher, SealedColumn } from './cipher';

/** Who owns a row, directly or through the conversation or attachment it belongs to. */
export type OwnerRef = { userId: string } | { conversationId: string } | { attachmentId: string };

/** One encrypted property: plain text (not persisted) beside its sealed, persisted twin. */
export interface SealedProperty {
  plain: string;
  sealed: string;
  column: SealedColumn;
  bytes?: boolean;
}

/** How the subscriber treats one entity class. */
export interface SealedEntity {
  properties: SealedProperty[];
  rowId(entity: object): string;
  owner(entity: object): OwnerRef;
}

type Bag = Record<string, unknown>;

/**
 * Keeps encrypted columns out of the ORM's sight: each such property has a plain twin that is
 * not persisted. Loading opens the sealed value into the plain one; before every flush, a plain
 * value that changed since it was last opened or sealed is sealed into its twin, so the change
 * set (and the database) only ever sees ciphertext. Services and resolvers use the plain names.
 */
export class SealedEntitySubscriber implements EventSubscriber {
  /** The plain values last opened or sealed, per entity, to tell which ones changed. */
  private readonly known = new WeakMap<object, Map<string, unknown>>();

  constructor(
    private readonly cipher: ContentCipher,
    private readonly entities: Record<string, SealedEntity>,
  ) {}

  getSubscribedEntities(): string[] {
    return Object.keys(this.entities);
  }

  async onLoad(args: EventArgs<object>): Promise<void> {
    const spec = this.entities[args.meta.className];
    if (!spec) return;
    const entity = args.entity as Bag;
    const known = this.knownOf(entity);
    for (const p of spec.properties) {
      const stored = entity[p.sealed];
      if (stored === undefined) continue; // not loaded (partial or lazy)
      const plain = stored === null ? null : await this.open(p, spec.rowId(entity), stored);
      entity[p.plain] = plain;
      known.set(p.plain, plain);
    }
  }

  async beforeFlush(args: FlushEventArgs): Promise<void> {
    const uow = args.uow;
    const candidates = new Set<object>([...uow.getIdentityMap().values(), ...uow.getPersistStack()]);
    for (const entity of candidates) {
      const spec = this.entities[helper(entity).__meta.className];
      if (spec) await this.sealChanged(args.em, spec, entity as Bag);
    }
  }

  /** Seals every plain value that changed since it was last opened or sealed. */
  private async sealChanged(em: EntityManager, spec: SealedEntity, entity: Bag): Promise<void> {
    const known = this.knownOf(entity);
    let ownerId: string | undefined;
    for (const p of spec.properties) {
      const plain = entity[p.plain];
      if (plain === undefined || (known.has(p.plain) && known.get(p.plain) === plain)) continue;
      if (plain === null || plain === '') {
        entity[p.sealed] = plain;
      } else {
        ownerId ??= await this.ownerOf(em, spec.owner(entity));
        entity[p.sealed] = p.bytes
          ? await this.cipher.sealBytes(ownerId, p.column, spec.rowId(entity), plain as Buffer)
          : await this.cipher.sealText(ownerId, p.column, spec.rowId(entity), plain as string);
      }
      known.set(p.plain, plain);
    }
  }

  private open(p: SealedProperty, rowId: string, stored: unknown): Promise<unknown> {
    return p.bytes ? this.cipher.openBytes(p.column, rowId, stored as Buffer) : this.cipher.openText(p.column, rowId, stored as string);
  }

  /** The owner's id: from the loaded or new entity when at hand, else read inside the flush's transaction (its row may be new there). */
  private async ownerOf(em: EntityManager, ref: OwnerRef): Promise<string> {
    if ('userId' in ref) return ref.userId;
    const [table, id]: ['conversation' | 'attachment', string] =
      'conversationId' in ref ? ['conversation', ref.conversationId] : ['attachment', ref.attachmentId];
    return this.cipher.ownerOf(table, id, (sql, params) => em.getConnection().execute(sql, params, 'all', em.getTransactionContext()));
  }

  private knownOf(entity: object): Map<string, unknown> {
    let known: Map<string, unknown> | undefined = this.known.get(entity);
    if (!known) this.known.set(entity, (known = new Map<string, unknown>()));
    return known;
  }
}
