'use strict';
// An unmodified node:http server and an unmodified client (keep-alive http.Agent and global fetch),
// two processes preloaded with via-net/register: everything runs over shm, and intact.
const { expect } = require('chai');
const fs = require('fs');
const path = require('path');
const { scratchDir, startServer, runClient, readObservations } = require('./support/app-harness');
const { smallBodiesSha } = require('./apps/http-body');

const GB = 1 << 30;
const MB = 1 << 20;

describe('apps: HTTP (node:http, http.Agent, fetch) over via-net/register', function () {
  this.timeout(170_000);
  let dir;
  let server;

  beforeEach(() => { dir = scratchDir('via-net-http-'); });
  afterEach(async () => {
    if (server) await server.stop();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run({ requests, agentBig, fetchBig, env }) {
    const serverObs = path.join(dir, 'server.obs');
    const clientObs = path.join(dir, 'client.obs');
    server = startServer('http-server.js', [], { ready: /^PORT (\d+)$/, observeFile: serverObs, env });
    const port = Number((await server.started)[1]);
    const result = await runClient('http-client.js', [port, requests, agentBig, fetchBig], { observeFile: clientObs, env, timeoutMs: 150_000 });
    const sent = (id) => server.lines.map((l) => /^SENT (\S+) (\S+)$/.exec(l)).find((m) => m && m[1] === id);
    // The server prints SENT once its last write is flushed: it may come just after the client is done.
    for (let i = 0; i < 100 && !(sent('agent') && sent('fetch')); i++) await new Promise((r) => server.child.stdout.once('data', r));
    return {
      result, client: readObservations(clientObs), server: readObservations(serverObs),
      sentSha: (id) => sent(id)[2],
    };
  }

  it('10,000 keep-alive requests each with http.Agent and fetch, a 1 GB streamed body, all over shm', async () => {
    const requests = 10_000;
    const { result, client, server: srv, sentSha } = await run({ requests, agentBig: GB, fetchBig: 64 * MB });
    const expected = smallBodiesSha(requests);
    expect(result.agentSmall, 'http.Agent bodies').to.equal(expected);
    expect(result.fetchSmall, 'fetch bodies').to.equal(expected);
    expect(result.agentBig.bytes).to.equal(GB);
    expect(result.agentBig.sha256, '1 GB body').to.equal(sentSha('agent'));
    expect(result.fetchBig.bytes).to.equal(64 * MB);
    expect(result.fetchBig.sha256, 'fetch big body').to.equal(sentSha('fetch'));

    // Keep-alive: connections are reused (http.Agent keeps <= 8; undici's pool grows to a few dozen
    // under 32 concurrent requests, as it does over plain TCP), every one of them over shm on both ends.
    expect(client.length).to.be.within(2, 200);
    expect(srv).to.have.length(client.length);
    expect(client.every((o) => o.transport === 'shm' && o.registered)).to.equal(true);
    expect(srv.every((o) => o.role === 'server' && o.transport === 'shm')).to.equal(true);
  });

  it('with VIA_NET_TRANSPORT=tcp, register does nothing: the same apps run over kernel TCP', async () => {
    const requests = 500;
    const env = { VIA_NET_TRANSPORT: 'tcp' };
    const { result, client, server: srv, sentSha } = await run({ requests, agentBig: 16 * MB, fetchBig: 4 * MB, env });
    expect(result.agentSmall).to.equal(smallBodiesSha(requests));
    expect(result.fetchSmall).to.equal(smallBodiesSha(requests));
    expect(result.agentBig.sha256).to.equal(sentSha('agent'));
    expect(result.fetchBig.sha256).to.equal(sentSha('fetch'));
    expect(client.length).to.be.greaterThan(0);
    expect(srv).to.have.length(client.length);
    expect(client.concat(srv).every((o) => o.transport === null && o.registered === false)).to.equal(true);
  });
});
