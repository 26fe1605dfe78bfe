import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';
import { BarChart } from './BarChart';

const SECURITY_SUMMARY = graphql(`
  query AdminSecuritySummary($since: DateTime!) {
    securitySummary(since: $since) {
      failedLogins
      lockedAccounts
      rateLimited
      reusedRefreshTokens
      topFailingIps {
        ip
        count
      }
    }
  }
`);

const RANGES = [
  { key: 'hour', label: 'Last hour', ms: 3_600_000 },
  { key: 'day', label: 'Last 24 hours', ms: 86_400_000 },
  { key: 'week', label: 'Last 7 days', ms: 7 * 86_400_000 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

function sinceFor(key: RangeKey): string {
  const range = RANGES.find((r) => r.key === key) ?? RANGES[1];
  return new Date(Date.now() - range.ms).toISOString();
}

/**
 * Security activity counted from the audit trail, as a bar chart and the IPs with the most
 * failed logins. `since` is fixed when a range is picked (or on Refresh), not on every render,
 * so the query's variables stay stable.
 */
export function SecuritySummaryPage() {
  const [range, setRange] = useState<RangeKey>('day');
  const [since, setSince] = useState(() => sinceFor('day'));
  const { data, error, loading } = useQuery(SECURITY_SUMMARY, { variables: { since }, fetchPolicy: 'network-only' });
  const s = data?.securitySummary;

  function pick(key: RangeKey) {
    setRange(key);
    setSince(sinceFor(key));
  }

  return (
    <section aria-labelledby="summary-h" data-testid="summary-page">
      <h2 id="summary-h">Security summary</h2>
      <div className="buttons" role="radiogroup" aria-label="Period">
        {RANGES.map((r) => (
          <label key={r.key} className="check">
            <input type="radio" name="since" value={r.key} checked={range === r.key} onChange={() => pick(r.key)} />
            {r.label}
          </label>
        ))}
        <button onClick={() => setSince(sinceFor(range))}>Refresh</button>
      </div>
      {error && (
        <p className="error" role="alert">
          {describeProblem(problemOf(error))}
        </p>
      )}
      {loading && !s && <p className="muted">Loading…</p>}
      {s && (
        <figure className="summary" data-testid="summary" data-since={since} aria-busy={loading}>
          <BarChart
            testId="summary-chart"
            title={`Security events since ${new Date(since).toLocaleString()}`}
            bars={[
              { key: 'failedLogins', label: 'Failed logins', value: s.failedLogins },
              { key: 'lockedAccounts', label: 'Locked accounts', value: s.lockedAccounts },
              { key: 'rateLimited', label: 'Rate limited', value: s.rateLimited },
              { key: 'reusedRefreshTokens', label: 'Reused tokens', value: s.reusedRefreshTokens },
            ]}
          />
          <figcaption className="muted">Counted from the audit trail since {new Date(since).toLocaleString()}.</figcaption>
        </figure>
      )}
      {s && (
        <table data-testid="top-failing-ips" className="narrow">
          <caption>IPs with the most failed logins</caption>
          <thead>
            <tr>
              <th scope="col">IP</th>
              <th scope="col">Failed logins</th>
            </tr>
          </thead>
          <tbody>
            {s.topFailingIps.map((row) => (
              <tr key={row.ip} data-ip={row.ip} data-count={row.count}>
                <td className="mono">{row.ip}</td>
                <td className="num">{row.count}</td>
              </tr>
            ))}
            {s.topFailingIps.length === 0 && (
              <tr>
                <td colSpan={2} className="muted">
                  No failed logins in this period.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
