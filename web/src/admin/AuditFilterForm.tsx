import { useState, type FormEvent } from 'react';
import type { AuditFilter, AuditOutcome, SortOrder } from '../gql/graphql';
import { localInputToIso } from './format';

const OUTCOMES: AuditOutcome[] = ['SUCCESS', 'FAILURE', 'DENIED'];
const TEXT_FIELDS = [
  ['actorId', 'Actor id'],
  ['action', 'Action (exact)'],
  ['actionPrefix', 'Action prefix'],
  ['resourceType', 'Resource type'],
  ['resourceId', 'Resource id'],
  ['ip', 'IP'],
] as const;

type TextField = (typeof TEXT_FIELDS)[number][0];
type Draft = Record<TextField | 'from' | 'to', string> & { outcome: AuditOutcome | ''; excludeReads: boolean };

const EMPTY: Draft = {
  actorId: '',
  action: '',
  actionPrefix: '',
  resourceType: '',
  resourceId: '',
  ip: '',
  from: '',
  to: '',
  outcome: '',
  excludeReads: false,
};

/** The filter the form holds, leaving out what is empty (an absent field does not narrow). */
function toFilter(d: Draft): AuditFilter {
  const filter: AuditFilter = {};
  for (const [name] of TEXT_FIELDS) if (d[name].trim()) filter[name] = d[name].trim();
  if (d.excludeReads) filter.excludeReads = true;
  if (d.outcome) filter.outcome = d.outcome;
  const from = localInputToIso(d.from);
  const to = localInputToIso(d.to);
  if (from) filter.from = from;
  if (to) filter.to = to;
  return filter;
}

/** Every `AuditFilter` field and the order; applied on submit. */
export function AuditFilterForm({ onApply }: { onApply: (filter: AuditFilter, order: SortOrder) => void }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [order, setOrder] = useState<SortOrder>('DESC');
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(toFilter(draft), order);
  }
  function clear() {
    setDraft(EMPTY);
    setOrder('DESC');
    onApply({}, 'DESC');
  }

  return (
    <form className="filters" onSubmit={submit} aria-label="Filter audit events" data-testid="audit-filter">
      {TEXT_FIELDS.map(([name, label]) => (
        <label key={name}>
          {label}
          <input name={name} value={draft[name]} onChange={(e) => set(name, e.target.value)} />
        </label>
      ))}
      <label>
        Outcome
        <select name="outcome" value={draft.outcome} onChange={(e) => set('outcome', e.target.value as AuditOutcome | '')}>
          <option value="">any</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
      <label>
        From (local time)
        <input name="from" type="datetime-local" step={1} value={draft.from} onChange={(e) => set('from', e.target.value)} />
      </label>
      <label>
        To (local time)
        <input name="to" type="datetime-local" step={1} value={draft.to} onChange={(e) => set('to', e.target.value)} />
      </label>
      <label>
        Order
        <select name="order" value={order} onChange={(e) => setOrder(e.target.value as SortOrder)}>
          <option value="DESC">newest first</option>
          <option value="ASC">oldest first</option>
        </select>
      </label>
      <label className="check">
        <input name="excludeReads" type="checkbox" checked={draft.excludeReads} onChange={(e) => set('excludeReads', e.target.checked)} />
        Leave out reads (data.read)
      </label>
      <div className="buttons">
        <button type="submit">Apply filter</button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
