// Closed-loop load in its own process, as bench/load-worker.js, but each client with its own
// body and token (sendMessage takes a per-user lock, so one user would measure the lock), and a
// 200 carrying GraphQL errors counts as an error. Used by bench/encryption.js:
// node bench/send-worker.js '{"port":…,"seconds":…,"clients":[{"token":…,"body":{…}}]}' prints JSON.
'use strict';
const http = require('node:http');

const { port, seconds, clients } = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients.length });
const latencies = [];
let errors = 0;
let firstError;

function one(payload, token) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const headers = { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${token}` };
    const req = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const text = Buffer.concat(parts).toString();
        if (res.statusCode !== 200 || text.includes('"errors"')) {
          errors++;
          firstError ??= text.slice(0, 300);
        }
        resolve();
      });
    });
    req.on('error', (err) => {
      errors++;
      firstError ??= err.message;
      resolve();
    });
    req.end(payload);
  });
}

async function main() {
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    clients.map(async ({ token, body }) => {
      const payload = Buffer.from(JSON.stringify(body));
      while (Date.now() < end) await one(payload, token);
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  const result = {
    requests: latencies.length,
    errors,
    perSecond: Math.round(latencies.length / seconds),
    p50ms: +q(0.5).toFixed(2),
    p99ms: +q(0.99).toFixed(2),
  };
  if (firstError) result.firstError = firstError;
  console.log(JSON.stringify(result));
}

void main();
