import { BadUserInputError } from './errors';
import { DEFAULT_PAGE_SIZE } from './limits';

/** The most items one page may ask for. */
export const MAX_PAGE_SIZE = 100;

/** The page size for a `first` argument: DEFAULT_PAGE_SIZE when absent; 1–100, else BAD_USER_INPUT. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'first' });
  }
  return first;
}

/** The earliest and latest times a cursor may carry: anything outside was never issued, and PostgreSQL's timestamp range is narrower than JavaScript's. */
const CURSOR_MIN = Date.UTC(1970, 0, 1);
const CURSOR_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The time in a decoded cursor, or undefined when it is not an ISO string within CURSOR_MIN–CURSOR_MAX. */
export function cursorTime(iso: unknown): Date | undefined {
  if (typeof iso !== 'string') return undefined;
  const t = new Date(iso);
  const ms = t.getTime();
  return Number.isNaN(ms) || ms < CURSOR_MIN || ms > CURSOR_MAX ? undefined : t;
}
