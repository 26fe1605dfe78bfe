import { graphql } from '../gql';
import type { AdminAuditEventFieldsFragment } from '../gql/graphql';
import { formatTime, jsonText } from './format';

/** The columns of the audit table; the log query and the live tail both select them. */
export const ADMIN_AUDIT_EVENT_FIELDS = graphql(`
  fragment AdminAuditEventFields on AuditEvent {
    id
    seq
    at
    actorId
    actorRole
    action
    resourceType
    resourceId
    outcome
    ip
    requestId
    metadata
  }
`);

export type AuditRow = AdminAuditEventFieldsFragment;

/**
 * Audit events as a table. Every value is text: metadata is shown as indented JSON inside a
 * `<pre>`, so whatever a record holds (an attacker can put text in some fields) stays inert.
 */
export function AuditTable({ events, testId, caption }: { events: readonly AuditRow[]; testId: string; caption: string }) {
  return (
    <table className="audit" data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Seq</th>
          <th scope="col">Time</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          <th scope="col">Resource</th>
          <th scope="col">Outcome</th>
          <th scope="col">IP</th>
          <th scope="col">Request</th>
          <th scope="col">Metadata</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr
            key={e.seq}
            data-testid="audit-row"
            data-seq={e.seq}
            data-action={e.action}
            data-outcome={e.outcome}
            data-actor-id={e.actorId ?? ''}
            data-resource-type={e.resourceType ?? ''}
            data-resource-id={e.resourceId ?? ''}
            data-ip={e.ip ?? ''}
          >
            <td className="num">{e.seq}</td>
            <td title={e.at}>{formatTime(e.at)}</td>
            <td>
              <span className="mono">{e.actorId ?? '—'}</span>
              {e.actorRole && <div className="muted">{e.actorRole}</div>}
            </td>
            <td className="mono nowrap">{e.action}</td>
            <td>
              {e.resourceType ?? '—'}
              {e.resourceId && <div className="mono muted">{e.resourceId}</div>}
            </td>
            <td>
              <span className={`outcome outcome-${e.outcome.toLowerCase()}`}>{e.outcome}</span>
            </td>
            <td className="mono nowrap">{e.ip ?? '—'}</td>
            <td className="mono">{e.requestId ?? '—'}</td>
            <td>
              <pre className="metadata">{jsonText(e.metadata)}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
