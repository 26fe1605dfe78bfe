import argon2 from 'argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import type { Config } from '../config';
import { BadUserInputError } from '../graphql/errors';
import { Argon2Gate, type Argon2Lane } from './argon2-gate';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;
const MIN_SCORE = 3;

let checker: ZxcvbnFactory | undefined;

/**
 * The strength checker, built on first use: loading and indexing its dictionaries costs about a
 * second of CPU, which a server start (and every test file that never sets a password) need not pay.
 */
function strengthChecker(): ZxcvbnFactory {
  if (!checker) {
    /* eslint-disable @typescript-eslint/no-require-imports -- a deferred load; `import` would run at start-up */
    const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
    /* eslint-enable @typescript-eslint/no-require-imports */
    checker = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  }
  return checker;
}

/** Refuses a password outside 12–128 characters or weaker than zxcvbn score 3 (given the user's own words). */
export function assertPasswordPolicy(password: string, userInputs: string[] = []): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new BadUserInputError(`Password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, { field: 'password' });
  }
  const inputs = userInputs.filter((u) => u && u.length >= 4).map((u) => u.toLowerCase());
  if (inputs.some((u) => password.toLowerCase().includes(u))) {
    throw new BadUserInputError('Password must not contain your email or name', { field: 'password' });
  }
  const result = strengthChecker().check(password, inputs);
  if (result.score < MIN_SCORE) {
    const hint = result.feedback.warning || result.feedback.suggestions[0] || 'Add more words or characters';
    throw new BadUserInputError(`Password is too easy to guess: ${hint}`, { field: 'password' });
  }
}

/**
 * argon2id hashing at the configured cost (never below OWASP's floor, enforced in config), through
 * a per-process gate (ARGON2_MAX_CONCURRENT at once, ARGON2_MAX_QUEUE waiting; RATE_LIMITED past it).
 */
export class PasswordHasher {
  private readonly options: argon2.HashOptions & { raw?: false };
  private readonly gate: Argon2Gate;
  private dummyHash?: Promise<string>;

  constructor(config: Config) {
    const a = config.auth.argon2;
    this.options = { type: argon2.argon2id, memoryCost: a.memoryKiB, timeCost: a.timeCost, parallelism: a.parallelism };
    this.gate = new Argon2Gate(config.auth.argon2MaxConcurrent, config.auth.argon2MaxQueue);
  }

  hash(password: string, lane: Argon2Lane = 'login'): Promise<string> {
    return this.gate.run(lane, () => argon2.hash(password, this.options));
  }

  /** Verifies; a malformed stored hash counts as a mismatch, never an error the caller sees. */
  async verify(hash: string, password: string, lane: Argon2Lane = 'login'): Promise<boolean> {
    return this.gate.run(lane, async () => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    });
  }

  /** Spends the same time as a real verification, for unknown emails (no timing oracle). */
  async verifyDummy(password: string): Promise<false> {
    // A refused (busy) attempt must not stay cached as the dummy hash.
    this.dummyHash ??= this.hash('dummy password for timing equalisation').catch((err: unknown) => {
      this.dummyHash = undefined;
      throw err;
    });
    await this.verify(await this.dummyHash, password);
    return false;
  }

  /** True when `hash` was made with weaker settings than today's, so it is redone at the next login. */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.options);
    } catch {
      return true;
    }
  }
}
