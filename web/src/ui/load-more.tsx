import { useState } from 'react';
import { describeProblem, problemOf } from '../errors';

/**
 * "Load more" for a relay-style list: `next` fetches the following page (null when there is
 * none); the cache's relayStylePagination appends it. A failure is kept as a sentence to show.
 */
export function useLoadMore(next: (() => Promise<unknown>) | null): { loadMore(): Promise<void>; loading: boolean; problem: string | null } {
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  async function loadMore() {
    if (!next) return;
    setProblem(null);
    setLoading(true);
    try {
      await next();
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    } finally {
      setLoading(false);
    }
  }
  return { loadMore, loading, problem };
}

/** The button under a list (only while there is a next page) and why the last attempt failed. */
export function LoadMore({ more, hasNextPage, busy = false }: { more: ReturnType<typeof useLoadMore>; hasNextPage: boolean | undefined; busy?: boolean }) {
  return (
    <>
      {more.problem && <p className="error">{more.problem}</p>}
      {hasNextPage && (
        <button onClick={() => void more.loadMore()} disabled={busy || more.loading}>
          {more.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </>
  );
}
