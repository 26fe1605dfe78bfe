import type { AuditFilter } from '../gql/graphql';
import type { AuditRow } from './AuditTable';

/**
 * Whether an event passes a filter, with the server's meaning of each field: the live tail
 * subscribes to every new event and narrows in the browser, so it shows what the log would.
 */
export function matchesFilter(e: AuditRow, f: AuditFilter): boolean {
  const at = Date.parse(e.at);
  return (
    (!f.actorId || e.actorId === f.actorId) &&
    (!f.action || e.action === f.action) &&
    (!f.actionPrefix || e.action.startsWith(f.actionPrefix)) &&
    (!f.excludeReads || e.action !== 'data.read') &&
    (!f.resourceType || e.resourceType === f.resourceType) &&
    (!f.resourceId || e.resourceId === f.resourceId) &&
    (!f.outcome || e.outcome === f.outcome) &&
    (!f.ip || e.ip === f.ip) &&
    (!f.from || at >= Date.parse(f.from)) &&
    (!f.to || at < Date.parse(f.to))
  );
}
