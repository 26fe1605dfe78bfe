// Writes the results of bench/compare.js between `<!-- peers:start -->` and `<!-- peers:end -->`
// in bench/BENCHMARKS.md (appending the markers once if missing); the rest of the file stays.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILE = path.join(__dirname, 'BENCHMARKS.md');
const START = '<!-- peers:start -->';
const END = '<!-- peers:end -->';

const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : 'n/a');
const ms = (x) => (typeof x === 'number' ? `${x} ms` : 'n/a');
const verdict = (ok) => (ok ? 'met' : '**not met**');

function streamRows(stream) {
  if (stream.error) return [`| (c) Stream relay | failed: ${stream.error.replace(/[|\n]/g, ' ')} | | | **not measured** |`];
  return [
    `| (c) Stream relay, ${n(stream.streams)} concurrent streams × ${stream.chunksPerStream} chunks: delivered chunks/s (fewest delivered in a round) | ${n(stream.parley.eventsPerSecond)} (${stream.parley.chunksDelivered}) | ${n(stream.bareRelay.eventsPerSecond)} (${stream.bareRelay.chunksDelivered}) | ${stream.eventsPerSecondRatio} | ≥ 0.8: ${verdict(stream.eventsPerSecondRatio >= 0.8)} |`,
    `| (c) Chunk-to-client delay p50 / p99 | ${ms(stream.parley.delayP50ms)} / ${ms(stream.parley.delayP99ms)} | ${ms(stream.bareRelay.delayP50ms)} / ${ms(stream.bareRelay.delayP99ms)} | | p99 < 10 ms: ${verdict(stream.parley.delayP99ms < 10)} |`,
    `| (c) Memory per idle authenticated WebSocket (${stream.idleSockets} sockets) | ${(stream.bytesPerIdleAuthenticatedSocket / 1000).toFixed(1)} KB | | | < 30 KB: ${verdict(stream.bytesPerIdleAuthenticatedSocket < 30_000)} |`,
  ];
}

function rows(r) {
  const { me, messagePage: page, stream, underAttack: attack, coldStart } = r;
  const ratioRow = (name, x) =>
    `| ${name} | ${n(x.parley.perSecond)} req/s, p99 ${ms(x.parley.p99ms)} | ${n(x.peer.perSecond)} req/s, p99 ${ms(x.peer.p99ms)} | ${x.ratio} | ≥ 0.8: ${verdict(x.ratio >= 0.8)} |`;
  const flood = (name, f) =>
    `| ${name}: p99 of \`me\` (4 clients) | ${ms(f.victimP99ms)} (${n(f.victimPerSecond)} req/s, ${f.victimErrors} errors); flood ${n(f.floodPerSecond)} attempts/s; event-loop delay p99 ${ms(f.eventLoopP99ms)} | same query with no flood: p99 ${ms(attack.quietVictimP99ms)} | | < 50 ms: ${verdict(f.victimP99ms < 50)} |`;
  return [
    '| Scenario | Parley | Peer | Ratio | Target |',
    '| --- | --- | --- | --- | --- |',
    ratioRow('(a) `query Me { me { id email role displayName createdAt } }`, 16 clients', me),
    ratioRow('(b) `conversation(id) { messages(first: 50) { … every field } }`, 16 clients', page),
    ...streamRows(stream),
    flood('(d) 200 clients flooding `login` with bad captchas', attack.badCaptcha),
    flood('(d) 50 clients flooding `login` with solved captchas and wrong passwords', attack.wrongPassword),
    `| (e) Cold start: \`node dist/src/main.js\` to \`/readyz\` 200, empty \`DATA_DIR\` | ${ms(coldStart.medianMs)} (rounds: ${coldStart.rounds.join(', ')} ms) | | | < 5 s: ${verdict(coldStart.medianMs < 5000)} |`,
  ];
}

function section(r) {
  return [
    START,
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.cpus} × ${r.cpuModel}, Node ${r.node}; ${r.rounds} rounds of ${r.seconds} s, medians.`,
    '',
    ...rows(r),
    '',
    r.stream.error ? '' : `Streams that ended in an error, all rounds: Parley ${r.stream.parley.streamErrors}, relay ${r.stream.bareRelay.streamErrors}.`,
    `Login floods, last round's outcomes: bad captchas ${JSON.stringify(r.underAttack.badCaptcha.floodOutcomes ?? 'by HTTP status only')}; wrong passwords ${JSON.stringify(r.underAttack.wrongPassword.floodOutcomes)}.`,
    END,
  ].join('\n');
}

/** Replaces the text between `startMarker` and `endMarker` (markers included in `section`) in BENCHMARKS.md, or appends it. */
function replaceSection(startMarker, endMarker, section) {
  const text = fs.readFileSync(FILE, 'utf8');
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  const next = start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + endMarker.length) : `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(FILE, next);
}

function writeTable(results) {
  replaceSection(START, END, section(results));
}

module.exports = { writeTable, replaceSection };
