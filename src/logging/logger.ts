import { Writable } from 'node:stream';
import winston from 'winston';
import type { LogLevel } from '../config';
import { redact } from './redact';

export type Logger = winston.Logger;

/** Winston format that passes every entry through `redact`, keeping winston's symbol keys. */
const redactFormat = winston.format((info) => {
  const clean = redact({ ...info }) as Record<string, unknown>;
  for (const key of Object.keys(info)) delete (info as Record<string, unknown>)[key];
  Object.assign(info, clean);
  return info;
});

/** A JSON logger on stdout (or `stream`, for tests), with secrets redacted from every entry. */
export function createLogger(opts: { level: LogLevel; stream?: Writable; service?: string }): Logger {
  const transport = opts.stream ? new winston.transports.Stream({ stream: opts.stream }) : new winston.transports.Console();
  return winston.createLogger({
    level: opts.level,
    defaultMeta: { service: opts.service ?? 'parley' },
    format: winston.format.combine(winston.format.errors({ stack: true }), redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
