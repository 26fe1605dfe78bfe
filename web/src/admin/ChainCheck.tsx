import { useApolloClient } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import type { AdminVerifyAuditChainQuery } from '../gql/graphql';
import { describeProblem, problemOf } from '../errors';

const VERIFY_AUDIT_CHAIN = graphql(`
  query AdminVerifyAuditChain($expectedHead: AuditHeadInput) {
    verifyAuditChain(expectedHead: $expectedHead) {
      valid
      checked
      firstBrokenSeq
      reason
    }
  }
`);

type Report = AdminVerifyAuditChainQuery['verifyAuditChain'];

function ReportView({ report }: { report: Report }) {
  return (
    <div className={report.valid ? 'chain chain-valid' : 'chain chain-broken'} role="status" data-testid="chain-result" data-valid={report.valid}>
      <strong>{report.valid ? 'The chain is intact.' : 'The chain is BROKEN.'}</strong>
      <dl>
        <dt>Valid</dt>
        <dd data-testid="chain-valid">{report.valid ? 'yes' : 'no'}</dd>
        <dt>Events checked</dt>
        <dd data-testid="chain-checked">{report.checked}</dd>
        <dt>First broken seq</dt>
        <dd data-testid="chain-first-broken">{report.firstBrokenSeq ?? '—'}</dd>
        <dt>Reason</dt>
        <dd data-testid="chain-reason">{report.reason ?? '—'}</dd>
      </dl>
    </div>
  );
}

/**
 * Recomputes the keyed hash chain on the server. An auditor can paste the head from an
 * `audit.head` log line (seq and hash): a table cut short after a restart is caught only
 * against such a head. Always asks the server (never a cached answer).
 */
export function ChainCheck() {
  const client = useApolloClient();
  const [seq, setSeq] = useState('');
  const [hash, setHash] = useState('');
  const [report, setReport] = useState<Report | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function verify(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    setReport(null);
    const expectedHead = seq.trim() && hash.trim() ? { seq: Number(seq), hash: hash.trim() } : null;
    try {
      const { data } = await client.query({ query: VERIFY_AUDIT_CHAIN, variables: { expectedHead }, fetchPolicy: 'network-only' });
      if (data) setReport(data.verifyAuditChain);
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="chain-h" data-testid="chain-check">
      <h2 id="chain-h">Chain verification</h2>
      <form className="filters" onSubmit={verify} aria-label="Verify the audit chain">
        <label>
          Expected head seq (optional)
          <input name="headSeq" type="number" min={1} value={seq} onChange={(e) => setSeq(e.target.value)} />
        </label>
        <label className="wide">
          Expected head hash (optional)
          <input name="headHash" pattern="[0-9a-fA-F]{64}" title="64 hex characters" value={hash} onChange={(e) => setHash(e.target.value)} />
        </label>
        <div className="buttons">
          <button type="submit" disabled={busy || (seq.trim() === '') !== (hash.trim() === '')}>
            {busy ? 'Verifying…' : 'Verify chain'}
          </button>
        </div>
      </form>
      {(seq.trim() === '') !== (hash.trim() === '') && <p className="muted">Give both the seq and the hash of the head, or neither.</p>}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {report && <ReportView report={report} />}
    </section>
  );
}
