'use strict';
/**
 * WebSocket benchmark client, an ordinary `ws` app, for the echo server test/apps/ws-server.js:
 * binary messages of body.js's deterministic bytes, the sizes in turn (13 B, 4 KB and 64 KB by
 * default), `inflight` of them unanswered at a time (load.js: a message's latency is its echo's
 * round trip), a warm-up and then the timed phase. Every echo is compared with what was sent.
 *
 *   node benchmarks/apps/ws-client.js --port N [--inflight 1] [--seconds 3 | --requests N]
 *        [--warmup-seconds 0.5 | --warmup N] [--sizes 13,4096,65536]
 *
 * Prints one JSON line, once the connection is closed: the timing and latency quantiles (µs),
 * bad (echoes that differ), messages and bytes sent in all (warm-up included).
 */
const WebSocket = require('ws');
const { forPath, pathOf } = require('./body');
const { measure, loadOptions, finish, fail } = require('./load');

const { port, inflight, sizes, warmup, timed } = loadOptions({ sizes: '13,4096,65536', warmup: { seconds: 0.5 }, timed: { seconds: 3 } });
let bad = 0;
let bytes = 0;
let messages = 0;
const inFlight = []; // { expected, resolve } of each message not echoed yet, in order

const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: 1 << 20 });
ws.on('message', (data, isBinary) => {
  const { expected, resolve } = inFlight.shift();
  if (!isBinary || !data.equals(expected)) bad++;
  resolve();
});
ws.on('error', fail);

function request(i) {
  const { data } = forPath(pathOf(sizes, i));
  messages++;
  bytes += data.length;
  return new Promise((resolve) => {
    inFlight.push({ expected: data, resolve });
    ws.send(data);
  });
}

ws.once('open', () => {
  measure({ inflight, warmup, timed, request }).then((figures) => {
    ws.close();
    ws.once('close', () => finish({ inflight, ...figures, bad, messages, bytes }));
  }, fail);
});
