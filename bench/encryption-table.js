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

function scenarioRows(name, x, unit, builds, extra = () => '') {
  const [base, cur] = builds;
  return [
    `| ${label(base)} | ${name} | ${n(x.baseline.perSecond)} ${unit} (rounds ${x.baseline.rounds.map(n).join(', ')})${extra(x.baseline)} | ${ms(x.baseline.p99ms)} | |`,
    `| ${label(cur)} | ${name} | ${n(x.current.perSecond)} ${unit} (rounds ${x.current.rounds.map(n).join(', ')})${extra(x.current)} | ${ms(x.current.p99ms)} | rate ${x.ratio}, p99 ${x.p99Ratio} |`,
  ];
}

function section(r) {
  const errors = (s) => `; ${s.errors} errors${s.repliesNotComplete ? `, ${s.repliesNotComplete} replies not complete` : ''}`;
  const delivered = (s) => `; ${s.chunksDelivered} delivered, ${s.streamErrors} stream errors, p50 ${ms(s.p50ms)}`;
  const cipher = r.cipher.map(
    (c) =>
      `| AES-256-GCM, ${c.bytes / 1024} KB (node:crypto alone) | ${n(c.sealPerSecond)} seals/s (${c.sealMicros} µs) | ${n(c.openPerSecond)} opens/s (${c.openMicros} µs) |`,
  );
  return [
    START,
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.cpus} × ${r.cpuModel}, Node ${r.node}, load average ${r.loadAverageAtStart[0]} at the start; ${r.rounds} rounds of ${r.seconds} s, alternating the builds, medians. Ratio = this build / baseline.`,
    '',
    '| Build | Scenario | Rate | p99 | Ratio |',
    '| --- | --- | --- | --- | --- |',
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
