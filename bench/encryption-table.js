// Writes the results of bench/encryption.js between `<!-- encryption:start -->` and
// `<!-- encryption:end -->` in bench/BENCHMARKS.md (appending the markers once if missing).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILE = path.join(__dirname, 'BENCHMARKS.md');
const START = '<!-- encryption:start -->';
const END = '<!-- encryption:end -->';

const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : 'n/a');
const ms = (x) => (typeof x === 'number' ? `${x} ms` : 'n/a');

/** "plain text" or "ciphertext": what the build's own database held after the seeding. */
function label(b) {
  return `${b.key === 'baseline' ? 'baseline' : 'this build'} \`${b.commit}\` (rows: ${b.storesPlainText ? 'plain text' : 'ciphertext'})`;
}

/** CPU per operation of the server process: ms, or µs below a tenth of a millisecond. */
const cpu = (x) => (typeof x !== 'number' ? 'n/a' : x < 0.1 ? `${+(x * 1000).toFixed(1)} µs` : `${+x.toFixed(2)} ms`);

function scenarioRows(name, x, unit, builds, extra) {
  const row = (b, s, ratio) =>
    `| ${label(b)} | ${name} | ${n(s.perSecond)} ${unit} (rounds ${s.rounds.map(n).join(', ')})${extra(s)} | ${ms(s.p99ms)} | ${cpu(s.cpuMsPerOp)} | ${ratio} |`;
  return [
    row(builds[0], x.baseline, ''),
    row(builds[1], x.current, `rate ${x.ratio} (rounds ${x.ratioRange.join(' to ')}), p99 ${x.p99Ratio}, CPU ${x.cpuRatio}`),
  ];
}

function section(r) {
  const errors = (s) => `; ${s.errors} errors${s.repliesNotComplete ? `, ${s.repliesNotComplete} replies not complete` : ''}`;
  const delivered = (s) => `; ${s.chunksDelivered} delivered, ${s.errors} stream errors, p50 ${ms(s.p50ms)}`;
  const cipher = r.cipher.map(
    (c) =>
      `| AES-256-GCM, ${c.bytes / 1024} KB (node:crypto alone) | ${n(c.sealPerSecond)} seals/s (${c.sealMicros} µs) | ${n(c.openPerSecond)} opens/s (${c.openMicros} µs) |`,
  );
  return [
    START,
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.cpus} × ${r.cpuModel}, Node ${r.node}, load average ${r.loadAverageAtStart[0]} at the start; ${r.rounds} rounds of ${r.seconds} s, alternating the builds, medians. CPU: the Parley process's own CPU time per request (per delivered chunk for streams), PostgreSQL's not included. Ratios: this build / baseline, the median of the rounds' ratios.`,
    '',
    '| Build | Scenario | Rate | p99 | CPU | Ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...scenarioRows(`\`sendMessage\`, ${r.clients} users at once`, r.sendMessage, 'req/s', r.builds, errors),
    ...scenarioRows(`50-message page read, ${r.clients} clients`, r.messagePage, 'req/s', r.builds, errors),
    ...scenarioRows(`${n(r.stream.streams)} streams × ${r.stream.chunksPerStream} chunks (p99: chunk to client)`, r.stream, 'chunks/s', r.builds, delivered),
    '',
    '| Cipher alone | Seal | Open |',
    '| --- | --- | --- |',
    ...cipher,
    END,
  ].join('\n');
}

function writeTable(results) {
  const text = fs.readFileSync(FILE, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    start >= 0 && end > start ? text.slice(0, start) + section(results) + text.slice(end + END.length) : `${text.trimEnd()}\n\n${section(results)}\n`;
  fs.writeFileSync(FILE, next);
}

module.exports = { writeTable };
