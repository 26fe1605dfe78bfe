import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEvent } from './audit-event.entity';
import { GENESIS_HASH, expectedHash, type ChainHead, type ChainKey } from './audit-chain';

export interface ChainReport {
  valid: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  /** Why the chain is not valid (absent when it is). */
  reason?: string;
}

function broken(checked: number, seq: bigint, reason: string): ChainReport {
  return { valid: false, checked, firstBrokenSeq: Number(seq), reason };
}

/** Where the walk starts: seq 1 after GENESIS, or, after a retention purge, the checkpoint's hash. */
async function startOfChain(em: EntityManager): Promise<{ after: bigint; prevHash: string } | ChainReport> {
  const [{ min }] = await em.getConnection().execute<{ min: string | null }[]>('select min(seq) as min from audit_event');
  if (min === null || BigInt(min) <= 1n) return { after: 0n, prevHash: GENESIS_HASH };
  const first = BigInt(min);
  const checkpoints = await em
    .getConnection()
    .execute<{ metadata: { purgedThroughSeq?: string; purgedThroughHash?: string } }[]>(
      `select metadata from audit_event where action = 'audit.checkpoint' and metadata->>'purgedThroughSeq' = ? order by seq limit 1`,
      [String(first - 1n)],
    );
  if (checkpoints.length === 0) return broken(0, first, `events before seq ${first} are missing and no retention checkpoint covers them`);
  return { after: first - 1n, prevHash: checkpoints[0].metadata.purgedThroughHash ?? '' };
}

/** The first reason the row does not fit after `prevHash` at `expectedSeq`, or null when it fits. */
function misfit(row: AuditEvent, expectedSeq: bigint, prevHash: string, keyedSeen: boolean, keys: ChainKey[]): string | null {
  if (BigInt(row.seq) !== expectedSeq) return `seq ${expectedSeq} is missing`;
  if (row.prevHash !== prevHash) return `event ${row.seq} does not link to the event before it`;
  // A legacy (plain SHA-256) event after a keyed one is a downgrade: anyone could have computed it.
  if (!row.keyId && keyedSeen) return `event ${row.seq} is not keyed although earlier events are`;
  const want = expectedHash(row, keys);
  if (want === null) return `event ${row.seq} was hashed with a key this server does not hold`;
  if (want !== row.hash) return `event ${row.seq} was altered`;
  return null;
}

/**
 * Recomputes the chain in batches (constant memory) and checks it reaches every head given:
 * the table must not end before a head, and the event at a head's seq must carry its hash.
 */
export async function verifyChain(em: EntityManager, keys: ChainKey[], heads: { head: ChainHead; name: string }[], batchSize: number): Promise<ChainReport> {
  const start = await startOfChain(em);
  if ('valid' in start) return start;
  let { after, prevHash } = start;
  let checked = 0;
  let keyedSeen = false;
  const seen = new Map<bigint, string>();
  const wanted = new Set(heads.map((h) => h.head.seq));
  for (;;) {
    const rows = await em.find(AuditEvent, { seq: { $gt: String(after) } }, { orderBy: { seq: 'asc' }, limit: batchSize, disableIdentityMap: true });
    if (rows.length === 0) break;
    for (const row of rows) {
      const why = misfit(row, after + 1n, prevHash, keyedSeen, keys);
      if (why) return broken(checked, BigInt(row.seq) !== after + 1n ? after + 1n : BigInt(row.seq), why);
      checked += 1;
      keyedSeen ||= Boolean(row.keyId);
      prevHash = row.hash;
      after = BigInt(row.seq);
      if (wanted.has(after)) seen.set(after, row.hash);
    }
  }
  for (const { head, name } of heads) {
    if (head.seq > after)
      return broken(checked, after + 1n, `the table ends at seq ${after}, before the ${name} at seq ${head.seq}: newer events were deleted`);
    const hash = seen.get(head.seq);
    // A head older than the purged prefix cannot be compared; the checkpoint vouches for it.
    if (hash !== undefined && hash !== head.hash) return broken(checked, head.seq, `event ${head.seq} does not match the ${name}: the chain was rewritten`);
  }
  return { valid: true, checked, firstBrokenSeq: null };
}
