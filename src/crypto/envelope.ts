import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelopes. A sealed value is
 *   [0xE1 version] [16-byte data key id] [12-byte nonce] [ciphertext] [16-byte tag]
 * and its associated data is the header plus the caller's binding (table, column, row id), so a
 * value copied to another row, column or key fails to open. Text columns hold "\u0001" + base64
 * of that (user input never holds U+0001: input hygiene refuses control characters).
 */
export const ENVELOPE_VERSION = 0xe1;
const HEADER = 1 + 16;
const NONCE = 12;
const TAG = 16;
/** Bytes a sealed value adds to its plaintext. */
export const ENVELOPE_OVERHEAD = HEADER + NONCE + TAG;
/** Prefix of a sealed value in a text column. */
export const TEXT_MARK = '\u0001';

/** A sealed value that does not open: tampered, moved, truncated, or its key is gone. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

function uuidBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function uuidOf(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Seals `plain` under `key` (id `keyId`, a UUID), bound to `binding`. */
export function seal(key: Buffer, keyId: string, plain: Buffer, binding: string): Buffer {
  const header = Buffer.concat([Buffer.of(ENVELOPE_VERSION), uuidBytes(keyId)]);
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.concat([header, Buffer.from(binding, 'utf8')]));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

/** The data key id a sealed value names, or undefined when `value` is not shaped like one. */
export function sealedKeyId(value: Buffer): string | undefined {
  if (value.length < ENVELOPE_OVERHEAD || value[0] !== ENVELOPE_VERSION) return undefined;
  return uuidOf(value.subarray(1, HEADER));
}

/** Opens a sealed value with `key`; IntegrityError when it was altered, moved or sealed under another key. */
export function open(key: Buffer, value: Buffer, binding: string): Buffer {
  if (sealedKeyId(value) === undefined) throw new IntegrityError('stored value is not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, value.subarray(HEADER, HEADER + NONCE));
  decipher.setAAD(Buffer.concat([value.subarray(0, HEADER), Buffer.from(binding, 'utf8')]));
  decipher.setAuthTag(value.subarray(value.length - TAG));
  try {
    return Buffer.concat([decipher.update(value.subarray(HEADER + NONCE, value.length - TAG)), decipher.final()]);
  } catch {
    throw new IntegrityError('stored value failed its integrity check');
  }
}

/** A sealed value as text-column text. */
export function toText(sealed: Buffer): string {
  return TEXT_MARK + sealed.toString('base64');
}

/** The sealed bytes of text-column text, or undefined when the text is not a sealed value (a plain row from before encryption). */
export function fromText(text: string): Buffer | undefined {
  if (!text.startsWith(TEXT_MARK)) return undefined;
  const bytes = Buffer.from(text.slice(1), 'base64');
  return sealedKeyId(bytes) === undefined ? undefined : bytes;
}

/** Key-encryption: a data key wrapped under a key-encryption key, bound to its own id and owner. */
export function wrapKey(kek: Buffer, dataKey: Buffer, binding: string): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(Buffer.from(`parley/data-key/v1|${binding}`, 'utf8'));
  return Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
}

export function unwrapKey(kek: Buffer, wrapped: Buffer, binding: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE));
  decipher.setAAD(Buffer.from(`parley/data-key/v1|${binding}`, 'utf8'));
  decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(NONCE, wrapped.length - TAG)), decipher.final()]);
  } catch {
    throw new IntegrityError('a wrapped data key failed its integrity check (wrong DATA_ENCRYPTION_KEYS?)');
  }
}
