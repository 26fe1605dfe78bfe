import { Worker } from 'node:worker_threads';
import { RateLimitedError } from '../graphql/errors';

/** Pages read from one PDF; the rest is ignored (the text is capped far below what 100 pages hold anyway). */
export const PDF_MAX_PAGES = 100;
/** Characters gathered before the worker stops reading pages (the stored text is cut lower still). */
const PDF_MAX_CHARS = 128 * 1024;
/** Wall time one extraction may take, in its own thread; past it the thread is terminated. */
export const PDF_TIMEOUT_MS = 15_000;
/** Heap of the extraction thread: a PDF built to exhaust memory ends that thread, not the server. */
const PDF_HEAP_MB = 256;
/**
 * Growth of the process's resident memory one extraction may cause. The heap limit does not
 * bound what pdf.js decodes into ArrayBuffers: a 400 KB PDF whose content stream inflates to
 * 400 MB took the process to 930 MB. The thread is killed once the process has grown this much
 * since it started (checked every PDF_MEMORY_CHECK_MS).
 */
export const PDF_MAX_GROWTH_MB = 256;
const PDF_MEMORY_CHECK_MS = 25;
/** Extractions at once in this process, and how many may wait; more is RATE_LIMITED. */
const PDF_CONCURRENCY = 2;
const PDF_MAX_WAITING = 32;

export type PdfText = { ok: true; text: string } | { ok: false; error: 'unreadable' | 'timeout' | 'too_large' };

/**
 * Runs in a worker thread: pdf.js (through unpdf) with script evaluation, font loading and
 * logging off, reading at most PDF_MAX_PAGES pages and PDF_MAX_CHARS characters.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { getDocumentProxy } = require(workerData.lib);
  const pdf = await getDocumentProxy(new Uint8Array(workerData.bytes), { isEvalSupported: false, disableFontFace: true, useSystemFonts: false, verbosity: 0, stopAtErrors: false });
  const pages = Math.min(pdf.numPages, workerData.maxPages);
  let text = '';
  for (let i = 1; i <= pages && text.length < workerData.maxChars; i++) {
    const page = await pdf.getPage(i);
    const content = await page.getTextContent();
    text += content.items.map((item) => (typeof item.str === 'string' ? item.str + (item.hasEOL ? '\\n' : '') : '')).join('') + '\\n';
  }
  parentPort.postMessage({ ok: true, text: text.slice(0, workerData.maxChars) });
})().catch(() => parentPort.postMessage({ ok: false, error: 'unreadable' }));
`;

let running = 0;
const waiting: (() => void)[] = [];

async function slot(): Promise<() => void> {
  if (running >= PDF_CONCURRENCY) {
    if (waiting.length >= PDF_MAX_WAITING) throw new RateLimitedError(2, 'The server is busy reading attachments; try again shortly');
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running += 1;
  return () => {
    running -= 1;
    waiting.shift()?.();
  };
}

/** One extraction in a fresh worker thread, bounded in time and heap; any failure is `unreadable`, never a throw. */
function extractInWorker(bytes: Buffer, timeoutMs: number): Promise<PdfText> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { lib: require.resolve('unpdf'), bytes, maxPages: PDF_MAX_PAGES, maxChars: PDF_MAX_CHARS },
      resourceLimits: { maxOldGenerationSizeMb: PDF_HEAP_MB, maxYoungGenerationSizeMb: 32 },
      // pdf.js may still write warnings: they must not mix into the server's JSON log lines.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (result: PdfText) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(watch);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    const ceiling = process.memoryUsage.rss() + PDF_MAX_GROWTH_MB * 1024 * 1024;
    const watch = setInterval(() => {
      if (process.memoryUsage.rss() > ceiling) finish({ ok: false, error: 'too_large' });
    }, PDF_MEMORY_CHECK_MS);
    worker.once('message', (m: PdfText) => finish(m.ok ? { ok: true, text: String(m.text) } : { ok: false, error: 'unreadable' }));
    worker.once('error', () => finish({ ok: false, error: 'unreadable' }));
    worker.once('exit', () => finish({ ok: false, error: 'unreadable' }));
  });
}

/**
 * The text of a PDF (its first PDF_MAX_PAGES pages), read in a separate thread that is killed
 * after `timeoutMs` (at most PDF_TIMEOUT_MS), past PDF_HEAP_MB of heap or once the process grew
 * PDF_MAX_GROWTH_MB (decoded streams live outside the heap); at most PDF_CONCURRENCY
 * at once, and the bytes are loaded only once a slot is free (waiting files hold no memory). A
 * malformed or hostile file gives `{ ok: false }`, never an exception or a stuck server.
 */
export async function extractPdfText(load: () => Promise<Buffer>, timeoutMs = PDF_TIMEOUT_MS): Promise<PdfText> {
  const release = await slot();
  try {
    return await extractInWorker(await load(), Math.min(timeoutMs, PDF_TIMEOUT_MS));
  } finally {
    release();
  }
}
