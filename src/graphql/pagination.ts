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
