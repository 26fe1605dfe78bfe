import { BadUserInputError } from '../graphql/errors';

const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"_]+\.[^\s@<>()[\]\\,;:"_]{2,}$/u;
// Control characters other than tab and newline (C0, DEL, C1).
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
const TAGS = /<[^>]*>?/g;

/** Trims, NFC-normalises and lower-cases an email; refuses one that is not a plausible address. */
export function normalizeEmail(raw: string): string {
  const email = raw.normalize('NFC').trim().toLowerCase();
  if (email.length > 254 || CONTROL.test(email) || !EMAIL.test(email)) {
    throw new BadUserInputError('Email address is not valid', { field: 'email' });
  }
  return email;
}

/** Plain-text display name: tags and control characters stripped, trimmed, 1 to 64 characters. */
export function cleanDisplayName(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const name = raw
    .normalize('NFC')
    .replace(TAGS, '')
    .replace(new RegExp(CONTROL.source, 'gu'), '')
    .replace(/[\t\n\r]/g, ' ')
    .trim();
  if (name.length < 1 || [...name].length > 64) {
    throw new BadUserInputError('Display name must be 1 to 64 characters of plain text', { field: 'displayName' });
  }
  return name;
}
