'use strict';
// Path choice: which transport a connection takes, forced-transport errors, fallback to TCP,
// TCP-equivalent address reporting, server options over the user-level path, and identical event
// order to node:net. User-level runs over the in-process 'memory' provider.
const net = require('net');
const os = require('os');
const path = require('path');
const fs = require('fs');
const { expect } = require('chai');
const {
  viaNet, once, closeOf, collect, listen, connectedPair, closeServer, withAutoProviders, sha256,
} = require('./support/facade');

/** Connect and settle: resolves { socket, error } on 'connect' or on 'error', never rejects. */
function tryConnect(options) {
  const socket = viaNet.connect(options);
  const closed = closeOf(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, error: null, closed }));
    socket.once('error', (error) => resolve({ socket, error, closed }));
  });
}

/** User-level transports to compare against TCP: memory always, shm when it is built. */
const USER_TRANSPORTS = ['memory'];
if (viaNet.providerStatus().shm.available) USER_TRANSPORTS.push('shm');

function hasIPv6Loopback() {
  return Object.values(os.networkInterfaces()).some((l) => (l || []).some((i) => i.address === '::1'));
}

describe('facade path choice', function () {
  this.timeout(20000);
  const cleanup = [];
  afterEach(async () => {
    while (cleanup.length) {
      const x = cleanup.pop();
      if (x instanceof net.Server) await closeServer(x);
      else x.destroy();
    }
  });
  const keep = (...xs) => { cleanup.push(...xs); return xs[0]; };

  it('uses the forced user-level transport on both ends', async () => {
    const pair = await connectedPair('memory');
    keep(pair.server, pair.client, pair.accepted);
    expect(pair.client.transport).to.equal('memory');
    expect(pair.accepted.transport).to.equal('memory');
    expect(pair.server.transports).to.deep.equal(['memory']);
  });

  it("'auto' takes the user-level path when a rendezvous exists", async () => {
    await withAutoProviders(['memory'], async () => {
      const server = keep(await listen({}));
      expect(server.transports).to.deep.equal(['memory']);
      const { socket, error } = await tryConnect({ port: server.address().port, host: '127.0.0.1' });
      keep(socket);
      expect(error).to.equal(null);
      expect(socket.transport).to.equal('memory');
    });
  });

  it("'auto' falls back to TCP when no rendezvous exists (plain node:net server)", async () => {
    await withAutoProviders(['memory'], async () => {
      const server = keep(net.createServer((s) => s.end('from net')));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { socket, error } = await tryConnect({ port: server.address().port, host: '127.0.0.1' });
      keep(socket);
      expect(error).to.equal(null);
      expect(socket.transport).to.equal('tcp');
      expect(String(await collect(socket))).to.equal('from net');
    });
  });

  it("transport 'tcp' takes TCP even when a rendezvous exists", async () => {
    const server = keep(await listen({ transport: 'memory' }));
    const { socket, error } = await tryConnect({ port: server.address().port, host: '127.0.0.1', transport: 'tcp' });
    keep(socket);
    expect(error).to.equal(null);
    expect(socket.transport).to.equal('tcp');
  });

  it('a forced transport with no listener is a connect error with ERR_VIA_TRANSPORT_UNAVAILABLE, never a fallback', async () => {
    const server = keep(net.createServer());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const events = [];
    const socket = keep(viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport: 'memory' }));
    socket.on('connect', () => events.push('connect'));
    socket.on('error', (e) => events.push(`error:${e.code}`));
    const hadError = await closeOf(socket);
    expect(events).to.deep.equal(['error:ERR_VIA_TRANSPORT_UNAVAILABLE']);
    expect(hadError).to.equal(true);
  });

  it('a forced transport whose provider is missing says why', async () => {
    const { error, closed } = await tryConnect({ port: 9, host: '127.0.0.1', transport: 'verbs' });
    expect(error.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
    expect(error.message).to.match(/verbs/);
    expect(await closed).to.equal(true);
  });

  it('a forced transport to a host that is not this one fails without any traffic', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never local; the plan fails before any connection is attempted.
    const { error } = await tryConnect({ port: 80, host: '192.0.2.1', transport: 'memory' });
    expect(error.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
    expect(error.message).to.match(/not an address of this host/);
  });

  it('a forced server transport that is unavailable emits error and does not listen', async () => {
    const server = viaNet.createServer({ transport: 'verbs' });
    server.listen(0, '127.0.0.1');
    const [err] = await once(server, 'error');
    expect(err.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
    expect(server.listening).to.equal(false);
  });

  it('the explicit option beats VIA_NET_TRANSPORT, which beats auto', async () => {
    const saved = process.env.VIA_NET_TRANSPORT;
    try {
      const server = keep(await listen({ transport: 'memory' }));
      const port = server.address().port;
      process.env.VIA_NET_TRANSPORT = 'tcp';
      const a = await tryConnect({ port, host: '127.0.0.1', transport: 'memory' });
      keep(a.socket);
      expect(a.socket.transport).to.equal('memory');
      const b = await tryConnect({ port, host: '127.0.0.1' });
      keep(b.socket);
      expect(b.socket.transport).to.equal('tcp');
      process.env.VIA_NET_TRANSPORT = 'memory';
      const c = await tryConnect({ port, host: '127.0.0.1' });
      keep(c.socket);
      expect(c.socket.transport).to.equal('memory');
    } finally {
      if (saved === undefined) delete process.env.VIA_NET_TRANSPORT;
      else process.env.VIA_NET_TRANSPORT = saved;
    }
  });

  it('rejects an invalid transport value like node rejects invalid options', () => {
    for (const make of [
      () => new viaNet.Socket({ transport: 'carrier-pigeon' }),
      () => viaNet.connect({ port: 1, transport: 'carrier-pigeon' }),
      () => viaNet.createServer({ transport: 42 }),
    ]) {
      expect(make).to.throw(TypeError).with.property('code', 'ERR_INVALID_ARG_VALUE');
    }
  });

  it("resolves 'localhost' and emits node's lookup events", async () => {
    const server = keep(await listen({ transport: 'memory' }, undefined, '127.0.0.1'));
    const socket = keep(viaNet.connect({ port: server.address().port, host: 'localhost', transport: 'memory', family: 4 }));
    const lookups = [];
    socket.on('lookup', (err, address, family, host) => lookups.push([err, address, family, host]));
    await once(socket, 'connect');
    expect(socket.transport).to.equal('memory');
    expect(lookups).to.deep.equal([[null, '127.0.0.1', 4, 'localhost']]);
    expect(socket.remoteAddress).to.equal('127.0.0.1');
  });

  it('a failed lookup gives lookup(err), error, close(true), like net, on every setting', async () => {
    const boom = Object.assign(new Error('boom'), { code: 'EBOOM' });
    const lookup = (host, opts, cb) => setImmediate(cb, boom);
    const logs = [];
    for (const [m, transport] of [[net, undefined], [viaNet, 'memory'], [viaNet, undefined]]) {
      await withAutoProviders(['memory'], async () => {
        const log = [];
        const s = m.connect({ port: 1, host: 'localhost', family: 4, lookup, transport });
        s.on('lookup', (err) => log.push(`lookup:${err && err.code}`));
        s.on('error', (err) => log.push(`error:${err === boom}`));
        log.push(`close:${await closeOf(s)}`);
        logs.push(log);
      });
    }
    expect(logs[0]).to.deep.equal(['lookup:EBOOM', 'error:true', 'close:true']);
    expect(logs[1]).to.deep.equal(logs[0]);
    expect(logs[2]).to.deep.equal(logs[0]);
  });

  it('resolves a name once even when it falls back to TCP', async () => {
    await withAutoProviders(['memory'], async () => {
      const server = keep(net.createServer((s) => { s.on('error', () => {}); s.end('x'); }));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      let calls = 0;
      const lookup = (host, opts, cb) => {
        calls++;
        const list = [{ address: '127.0.0.1', family: 4 }];
        setImmediate(() => (opts.all ? cb(null, list) : cb(null, '127.0.0.1', 4)));
      };
      const s = keep(viaNet.connect({ port: server.address().port, host: 'localhost', lookup }));
      const lookups = [];
      s.on('lookup', (err, address, family, host) => lookups.push([err, address, family, host]));
      await once(s, 'connect');
      expect(s.transport).to.equal('tcp');
      expect(calls).to.equal(1);
      expect(lookups).to.deep.equal([[null, '127.0.0.1', 4, 'localhost']]);
    });
  });

  it('forgets the local address on close and keeps a remote address read before, like net', async () => {
    const results = [];
    for (const transport of ['tcp', ...USER_TRANSPORTS]) {
      const pair = await connectedPair(transport);
      const remoteBefore = pair.client.remoteAddress;
      pair.client.destroy();
      await pair.clientClosed;
      results.push([pair.client.localPort, pair.client.localAddress, pair.client.remoteAddress === remoteBefore, pair.client.address()]);
      pair.accepted.destroy();
      await closeServer(pair.server);
    }
    for (const r of results) expect(r).to.deep.equal(results[0]);
    expect(results[0]).to.deep.equal([undefined, undefined, true, {}]);
  });

  it('connects over a unix path through the rendezvous unix:<path>', async () => {
    const sockPath = path.join(os.tmpdir(), `via-facade-${process.pid}-${Date.now()}.sock`);
    const server = keep(viaNet.createServer({ transport: 'memory' }, (s) => s.end('over a path')));
    server.listen(sockPath);
    await once(server, 'listening');
    const { socket, error } = await tryConnect({ path: sockPath, transport: 'memory' });
    keep(socket);
    expect(error).to.equal(null);
    expect(socket.transport).to.equal('memory');
    expect(String(await collect(socket))).to.equal('over a path');
    // Like a node pipe socket: no IP addresses.
    expect(socket.remoteAddress).to.equal(undefined);
    await closeServer(server);
    expect(fs.existsSync(sockPath)).to.equal(false);
  });

  it('close() unregisters the rendezvous: later clients fall back and get ECONNREFUSED from TCP', async () => {
    await withAutoProviders(['memory'], async () => {
      const server = await listen({});
      const port = server.address().port;
      await closeServer(server);
      const { error, socket } = await tryConnect({ port, host: '127.0.0.1' });
      expect(error.code).to.equal('ECONNREFUSED');
      expect(socket.transport).to.equal('tcp');
    });
  });
});

describe('facade address reporting', function () {
  this.timeout(20000);

  async function addressesOf(transport, listenHost, connectHost) {
    const server = await listen({ transport }, undefined, listenHost);
    const acceptedP = once(server, 'connection');
    const client = viaNet.connect({ port: server.address().port, host: connectHost, transport });
    await once(client, 'connect');
    const [accepted] = await acceptedP;
    const view = (s) => ({
      localAddress: s.localAddress, localFamily: s.localFamily,
      remoteAddress: s.remoteAddress, remoteFamily: s.remoteFamily,
      address: { address: s.address().address, family: s.address().family },
    });
    const result = {
      transport: client.transport,
      client: view(client),
      accepted: view(accepted),
      ports: {
        clientRemoteIsServer: client.remotePort === server.address().port,
        acceptedLocalIsServer: accepted.localPort === server.address().port,
        clientLocalIsAcceptedRemote: client.localPort === accepted.remotePort,
        clientLocalInRange: client.localPort > 1023 && client.localPort < 65536,
        addressPort: client.address().port === client.localPort,
      },
    };
    client.destroy();
    accepted.destroy();
    await closeServer(server);
    return result;
  }

  const cases = [['127.0.0.1', '127.0.0.1'], ['::', '127.0.0.1'], ['0.0.0.0', '127.0.0.1']];
  if (hasIPv6Loopback()) cases.push(['::1', '::1'], ['::', '::1']);
  for (const transport of USER_TRANSPORTS) {
    for (const [listenHost, connectHost] of cases) {
      it(`reports what TCP reports over ${transport}: server on ${listenHost}, client to ${connectHost}`, async () => {
        const tcp = await addressesOf('tcp', listenHost, connectHost);
        const user = await addressesOf(transport, listenHost, connectHost);
        expect(tcp.transport).to.equal('tcp');
        expect(user.transport).to.equal(transport);
        expect(user.client).to.deep.equal(tcp.client);
        expect(user.accepted).to.deep.equal(tcp.accepted);
        expect(user.ports).to.deep.equal(tcp.ports);
        expect(Object.values(user.ports).every(Boolean)).to.equal(true);
      });
    }
  }

  it('refuses a target the TCP listener would not accept: fallback gives the kernel\'s answer', async function () {
    if (!hasIPv6Loopback()) this.skip();
    await withAutoProviders(['memory'], async () => {
      const server = await listen({}, undefined, '::1');
      try {
        const { error, socket } = await tryConnect({ port: server.address().port, host: '127.0.0.1' });
        expect(error && error.code).to.equal('ECONNREFUSED');
        expect(socket.transport).to.equal('tcp');
      } finally {
        await closeServer(server);
      }
    });
  });
});

describe('facade server options over the user-level path', function () {
  this.timeout(20000);

  it('counts both kinds of connection in getConnections() and waits for both on close', async () => {
    await withAutoProviders(['memory'], async () => {
      const server = await listen({});
      const port = server.address().port;
      const accepted = [];
      server.on('connection', (s) => accepted.push(s));
      const a = await tryConnect({ port, host: '127.0.0.1' });
      const b = await tryConnect({ port, host: '127.0.0.1', transport: 'tcp' });
      expect([a.socket.transport, b.socket.transport]).to.deep.equal(['memory', 'tcp']);
      while (accepted.length < 2) await once(server, 'connection');
      const count = await new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      expect(count).to.equal(2);
      expect(accepted.map((s) => s.transport).sort()).to.deep.equal(['memory', 'tcp']);
      for (const s of accepted) expect(s).to.be.instanceOf(viaNet.Socket).and.instanceOf(net.Socket);
      let closed = false;
      server.close(() => { closed = true; });
      a.socket.end();
      await a.closed;
      expect(closed).to.equal(false); // the TCP connection is still open
      b.socket.end();
      await once(server, 'close');
    });
  });

  /** maxConnections = 1: the second client is accepted then dropped. Returns what both sides saw. */
  async function dropScenario(transport) {
    const server = await listen({ transport });
    server.maxConnections = 1;
    const port = server.address().port;
    const firstAccepted = once(server, 'connection');
    const first = await tryConnect({ port, host: '127.0.0.1', transport });
    await firstAccepted;
    const drops = [];
    const dropped = new Promise((resolve) => server.on('drop', (d) => { drops.push(d); resolve(); }));
    const events = [];
    const second = viaNet.connect({ port, host: '127.0.0.1', transport });
    let localPort;
    second.on('connect', () => { localPort = second.localPort; });
    for (const e of ['connect', 'end']) second.on(e, () => events.push(e));
    second.on('error', (e) => events.push(`error:${e.code}`));
    second.resume();
    events.push(`close:${await closeOf(second)}`);
    await dropped;
    first.socket.destroy();
    await closeServer(server);
    const d = drops[0];
    return {
      events,
      transport: second.transport,
      drop: {
        nullPrototype: Object.getPrototypeOf(d) === null,
        localPort: d.localPort === port,
        remotePort: d.remotePort === localPort,
        addresses: [d.localAddress, d.localFamily, d.remoteAddress, d.remoteFamily],
      },
    };
  }

  for (const transport of USER_TRANSPORTS) {
    it(`honours maxConnections over ${transport} exactly like TCP (accept, close, 'drop')`, async () => {
      const tcp = await dropScenario('tcp');
      const user = await dropScenario(transport);
      expect(tcp.events).to.deep.equal(['connect', 'end', 'close:false']);
      expect(user.transport).to.equal(transport);
      expect({ ...user, transport: 'tcp' }).to.deep.equal(tcp);
    });
  }

  it('honours pauseOnConnect and allowHalfOpen', async () => {
    const pair = await connectedPair('memory', { pauseOnConnect: true, allowHalfOpen: true });
    const { client, accepted, server } = pair;
    expect(accepted.isPaused()).to.equal(true);
    expect(accepted.allowHalfOpen).to.equal(true);
    client.end('held');
    const got = collect(accepted);
    accepted.resume();
    expect(String(await got)).to.equal('held');
    expect(accepted.writable).to.equal(true);
    accepted.end('after half-close');
    expect(String(await collect(client))).to.equal('after half-close');
    await closeServer(server);
  });

  it('applies noDelay and keepAlive server options without error', async () => {
    const pair = await connectedPair('memory', { noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
    const data = Buffer.alloc(1000, 7);
    const got = collect(pair.client);
    for (let i = 0; i < 10; i++) pair.accepted.write(data.subarray(i * 100, i * 100 + 100));
    pair.accepted.end();
    expect(sha256(await got)).to.equal(sha256(data));
    await closeServer(pair.server);
  });
});

describe('facade event order is node:net\'s', function () {
  this.timeout(20000);

  /** Record the events of both sockets; consecutive 'data' events are merged. */
  function recorder(socket, log) {
    const push = (e) => { if (!(e === 'data' && log[log.length - 1] === 'data')) log.push(e); };
    for (const e of ['lookup', 'connect', 'ready', 'data', 'end', 'finish', 'timeout']) socket.on(e, () => push(e));
    socket.on('error', (err) => push(`error:${err.code}`));
    socket.on('close', (h) => push(`close:${h}`));
  }

  async function scenario(transport, kind) {
    const server = await listen({ transport });
    const serverLog = [];
    const clientLog = [];
    const serverClosed = new Promise((resolve) => {
      server.on('connection', (s) => {
        recorder(s, serverLog);
        s.on('close', resolve);
        if (kind === 'echo') {
          const chunks = [];
          s.on('data', (c) => chunks.push(c));
          s.on('end', () => s.end(Buffer.concat(chunks)));
        }
      });
    });
    const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport });
    recorder(client, clientLog);
    client.on('connect', () => {
      if (kind === 'echo') client.end('ping');
      if (kind === 'destroy') client.destroy();
      if (kind === 'reset') client.resetAndDestroy();
    });
    await closeOf(client);
    await serverClosed;
    await closeServer(server);
    return { clientLog, serverLog };
  }

  for (const transport of USER_TRANSPORTS) {
    for (const kind of ['echo', 'destroy', 'reset']) {
      it(`same events, same order over ${transport} as over TCP: ${kind}`, async () => {
        const tcp = await scenario('tcp', kind);
        const user = await scenario(transport, kind);
        expect(user).to.deep.equal(tcp);
      });
    }
  }

  it('same events for a refused connection (auto falls back, TCP refuses)', async () => {
    await withAutoProviders(['memory'], async () => {
      const probe = net.createServer();
      probe.listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const port = probe.address().port;
      await closeServer(probe);
      const logs = [];
      for (const make of [() => net.connect(port, '127.0.0.1'), () => viaNet.connect(port, '127.0.0.1')]) {
        const log = [];
        const s = make();
        recorder(s, log);
        await closeOf(s);
        logs.push(log);
      }
      expect(logs[1]).to.deep.equal(logs[0]);
      expect(logs[0]).to.deep.equal(['error:ECONNREFUSED', 'close:true']);
    });
  });
});
