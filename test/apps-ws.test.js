'use strict';
// An unmodified `ws` server and client in two processes preloaded with via-net/register:
// 100,000 messages of mixed sizes go over shm and come back intact.
const { expect } = require('chai');
const fs = require('fs');
const path = require('path');
const { scratchDir, startServer, runClient, readObservations } = require('./support/app-harness');

describe('apps: WebSocket (ws) over via-net/register', function () {
  this.timeout(170_000);
  let dir;
  let server;

  beforeEach(() => { dir = scratchDir('via-net-ws-'); });
  afterEach(async () => {
    if (server) await server.stop();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(messages, env) {
    const serverObs = path.join(dir, 'server.obs');
    const clientObs = path.join(dir, 'client.obs');
    server = startServer('ws-server.js', [], { ready: /^PORT (\d+)$/, observeFile: serverObs, env });
    const port = Number((await server.started)[1]);
    const result = await runClient('ws-client.js', [port, messages, 20261121], { observeFile: clientObs, env, timeoutMs: 150_000 });
    const received = () => server.lines.map((l) => /^RECEIVED (\d+) (\d+) (\S+) (\S+)$/.exec(l)).find(Boolean);
    // The server reports when it sees the close, which may be just after the client exits.
    for (let i = 0; i < 100 && !received(); i++) await new Promise((r) => server.child.stdout.once('data', r));
    const [, count, bytes, sha, transport] = received();
    return {
      result, serverSide: { count: Number(count), bytes: Number(bytes), sha, transport },
      client: readObservations(clientObs), server: readObservations(serverObs),
    };
  }

  it('100,000 messages of mixed sizes, echoed, all over shm', async () => {
    const { result, serverSide, client, server: srv } = await run(100_000);
    expect(result.messages).to.equal(100_000);
    expect(serverSide.count).to.equal(100_000);
    expect(serverSide.bytes).to.equal(result.bytes);
    expect(serverSide.sha, 'what the server received').to.equal(result.sent);
    expect(result.echoed, 'what came back').to.equal(result.sent);
    expect(result.transport).to.equal('shm');
    expect(serverSide.transport).to.equal('shm');
    expect(client.map((o) => o.transport)).to.deep.equal(['shm']);
    expect(srv.map((o) => o.transport)).to.deep.equal(['shm']);
  });

  it('with VIA_NET_TRANSPORT=tcp, register does nothing: the same apps run over kernel TCP', async () => {
    const { result, serverSide, client, server: srv } = await run(5_000, { VIA_NET_TRANSPORT: 'tcp' });
    expect(serverSide.sha).to.equal(result.sent);
    expect(result.echoed).to.equal(result.sent);
    expect(result.transport).to.equal(undefined);
    expect(client.concat(srv).map((o) => [o.transport, o.registered])).to.deep.equal([[null, false], [null, false]]);
  });
});
