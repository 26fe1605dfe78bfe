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
