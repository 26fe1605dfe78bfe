// Where a CPU profile spent its time: node bench/profile-summary.js <file.cpuprofile> [top=25]
// prints self time summed per function and per package or source file (node_modules/<package>,
// dist/src/<file>, node: internals, GC, idle), largest first, as a share of all samples.
'use strict';
const fs = require('node:fs');

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.js <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

/** The package (or file) a script URL belongs to. */
function owner(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const src = /\/(dist\/src\/.*|bench\/.*)$/.exec(url);
  if (src) return src[1];
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

const byFunction = new Map();
const byOwner = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const fn = `${functionName || '(anonymous)'} ${owner(url, functionName || '(anonymous)')}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
  const o = owner(url, functionName || '(anonymous)');
  byOwner.set(o, (byOwner.get(o) ?? 0) + dt);
  total += dt;
});

function print(title, map) {
  console.log(`\n${title} (self time, of ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}
print('By package or file', byOwner);
print('By function', byFunction);
