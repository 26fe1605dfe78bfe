// Runs `load` from bench/lib.js in its own process, so the load generator does not share the
// server's event loop: node bench/load-worker.js '<json options>' prints the result as JSON.
'use strict';
const { load } = require('./lib');

const { port, body, concurrency, seconds, headers } = JSON.parse(process.argv[2]);
load(port, body, concurrency, seconds, headers).then((r) => console.log(JSON.stringify(r)));
