import { useApolloClient } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { graphql } from '../gql';
import { useApp } from '../app-context';
import { describeProblem, problemOf } from '../errors';
import type { AuditRow } from './AuditTable';

const AUDIT_EVENT_ADDED = graphql(`
  subscription AdminAuditEventAdded($afterSeq: Int) {
    auditEventAdded(afterSeq: $afterSeq) {
      ...AdminAuditEventFields
    }
  }
`);

/** The tail keeps the newest this many events; older ones are in the log below it. */
export const TAIL_LIMIT = 500;

export interface AuditTail {
  events: AuditRow[];
  problem: string | null;
  /** How many times the tail resumed (after SLOW_CONSUMER or a reconnect). */
  resumes: number;
  /** The newest seq received: where the tail resumes from. */
  newestSeq: number | null;
}

/** Newest first, one row per seq, at most TAIL_LIMIT. */
function insert(rows: AuditRow[], event: AuditRow): AuditRow[] {
  if (rows.some((r) => r.seq === event.seq)) return rows;
  if (rows.length >= TAIL_LIMIT && event.seq < rows[rows.length - 1].seq) return rows; // already dropped as too old
  const next = [event, ...rows];
  if (rows.length > 0 && event.seq < rows[0].seq) next.sort((a, b) => b.seq - a.seq);
  return next.slice(0, TAIL_LIMIT);
}

/**
 * `auditEventAdded` while `enabled`, starting after `startAfter` (the newest seq on screen).
 * The server replays the stored events after `afterSeq` before the live ones, so the tail
 * resumes without a gap whenever it must start over: after a SLOW_CONSUMER error (this
 * reader fell too far behind and the server ended the operation) and after the socket
 * reconnects (graphql-ws would resend the first `afterSeq`, replaying everything since the
 * tail was opened). Each restart asks from the newest seq received, and rows are kept once
 * per seq, so nothing is missed or shown twice.
 */
export function useAuditTail(enabled: boolean, startAfter: number | null): AuditTail {
  const client = useApolloClient();
  const { socket } = useApp();
  const [events, setEvents] = useState<AuditRow[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [resumes, setResumes] = useState(0);
  const newest = useRef<number | null>(null);
  const startRef = useRef(startAfter);
  useEffect(() => {
    startRef.current = startAfter; // read when the tail is switched on, not a reason to restart it
  }, [startAfter]);

  useEffect(() => {
    if (!enabled) return undefined;
    // What is on screen already (the log's newest row, or what this tail received before).
    const known = Math.max(newest.current ?? -1, startRef.current ?? -1);
    const baseline = known < 0 ? null : known;
    newest.current = baseline;
    setProblem(null);
    let current: { unsubscribe(): void } | null = null;
    let stopped = false;

    const start = () => {
      current?.unsubscribe();
      if (stopped) return;
      current = client
        .subscribe({ query: AUDIT_EVENT_ADDED, variables: { afterSeq: newest.current }, fetchPolicy: 'no-cache', context: { queryDeduplication: false } })
        .subscribe({
          next: ({ data, error }) => {
            if (error) {
              const p = problemOf(error);
              if (p.code === 'SLOW_CONSUMER') {
                setResumes((n) => n + 1);
                queueMicrotask(start);
              } else setProblem(describeProblem(p));
              return;
            }
            const event = data?.auditEventAdded;
            if (!event) return;
            if (baseline !== null && event.seq <= baseline) return;
            newest.current = Math.max(newest.current ?? -1, event.seq);
            setEvents((rows) => insert(rows, event));
          },
        });
    };
    start();

    let dropped = false;
    const offClosed = socket.on('closed', () => {
      dropped = true;
    });
    const offConnected = socket.on('connected', () => {
      if (!dropped) return;
      dropped = false;
      setResumes((n) => n + 1);
      start();
    });
    return () => {
      stopped = true;
      offClosed();
      offConnected();
      current?.unsubscribe();
      current = null;
    };
  }, [enabled, client, socket]);

  return { events, problem, resumes, newestSeq: events[0]?.seq ?? null };
}
