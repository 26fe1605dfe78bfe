import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { graphql } from '../gql';
import type { AuditFilter, SortOrder } from '../gql/graphql';
import { describeProblem, problemOf } from '../errors';
import { LoadMore, useLoadMore } from '../ui/load-more';
import { matchesFilter } from './audit-filter';
import { AuditFilterForm } from './AuditFilterForm';
import { AuditTable, type AuditRow } from './AuditTable';
import { ChainCheck } from './ChainCheck';
import { TAIL_LIMIT, useAuditTail } from './useAuditTail';

const AUDIT_EVENTS = graphql(`
  query AdminAuditEvents($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {
    auditEvents(filter: $filter, first: $first, after: $after, order: $order) {
      edges {
        cursor
        node {
          ...AdminAuditEventFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const PAGE = 50;

/** The live tail above the log: new events as they are written, narrowed by the same filter. */
function LiveTail({ startAfter, filter }: { startAfter: number | null; filter: AuditFilter }) {
  const [on, setOn] = useState(false);
  const tail = useAuditTail(on, startAfter);
  const shown = tail.events.filter((e) => matchesFilter(e, filter));
  return (
    <section
      aria-labelledby="tail-h"
      className="tail"
      data-testid="live-tail"
      data-live={on}
      data-kept={tail.events.length}
      data-newest-seq={tail.newestSeq ?? ''}
    >
      <div className="tail-head">
        <h3 id="tail-h">Live tail</h3>
        <label className="check">
          <input type="checkbox" name="liveTail" checked={on} onChange={(e) => setOn(e.target.checked)} />
          Follow new events
        </label>
        {on && (
          <span className="muted" data-testid="tail-status">
            Live · {shown.length} of {tail.events.length} new events match the filter (the newest {TAIL_LIMIT} are kept)
            {tail.resumes > 0 && ` · resumed ${tail.resumes}×`}
          </span>
        )}
      </div>
      {tail.problem && (
        <p className="error" role="alert">
          {tail.problem}
        </p>
      )}
      {shown.length > 0 && <AuditTable events={shown} testId="tail-table" caption="New events (live)" />}
    </section>
  );
}

/** Audit log (ADMIN, AUDITOR): chain check, every filter, pages merged by "Load more", and the live tail. */
export function AuditPage() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [order, setOrder] = useState<SortOrder>('DESC');
  const { data, error, loading, fetchMore, refetch } = useQuery(AUDIT_EVENTS, {
    variables: { filter, order, first: PAGE },
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  const page = data?.auditEvents;
  const rows: AuditRow[] = page?.edges.map((e) => e.node) ?? [];
  const newestShown = rows.reduce<number | null>((max, r) => (max === null || r.seq > max ? r.seq : max), null);

  const after = page?.pageInfo.endCursor;
  const more = useLoadMore(after ? () => fetchMore({ variables: { after } }) : null);

  return (
    <div data-testid="audit-page">
      <ChainCheck />
      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Audit log</h2>
        <AuditFilterForm
          onApply={(f, o) => {
            setFilter(f);
            setOrder(o);
          }}
        />
        <LiveTail startAfter={newestShown} filter={filter} />
        <div className="buttons">
          <button onClick={() => void refetch()}>Refresh</button>
        </div>
        {error && (
          <p className="error" role="alert">
            {describeProblem(problemOf(error))}
          </p>
        )}
        <AuditTable events={rows} testId="audit-table" caption={order === 'DESC' ? 'Events, newest first' : 'Events, oldest first'} />
        {page && rows.length === 0 && <p className="muted">No event matches.</p>}
        {loading && !page && <p className="muted">Loading…</p>}
        <LoadMore more={more} hasNextPage={page?.pageInfo.hasNextPage} busy={loading} />
      </section>
    </div>
  );
}
