'use strict';
// The node:net surface: every export, instanceof both ways, and errors identical to node:net's for
// the same mistakes (under every transport setting, since validation must never depend on the path).
const net = require('net');
const { expect } = require('chai');
const { viaNet, once, closeOf, connectedPair, closeServer, listen } = require('./support/facade');

/** What a call throws, as comparable fields (or null). */
function thrown(fn) {
  try {
    fn();
    return null;
  } catch (err) {
    return { name: err.name, code: err.code, message: err.message };
  }
}

describe('facade API surface', () => {
  it('exports every name node:net exports, with the same kind of value', () => {
    for (const key of Object.keys(net)) {
      expect(viaNet, key).to.have.property(key);
      expect(typeof viaNet[key], key).to.equal(typeof net[key]);
    }
  });

  it("re-exports net's utilities unchanged", () => {
    for (const key of ['isIP', 'isIPv4', 'isIPv6', 'BlockList', 'SocketAddress', 'getDefaultAutoSelectFamily',
      'setDefaultAutoSelectFamily', 'getDefaultAutoSelectFamilyAttemptTimeout', 'setDefaultAutoSelectFamilyAttemptTimeout']) {
      expect(viaNet[key], key).to.equal(net[key]);
    }
    expect(viaNet.Stream).to.equal(viaNet.Socket);
    expect(viaNet.createConnection).to.equal(viaNet.connect);
  });

  it('keeps instanceof true both ways', () => {
    const s = new viaNet.Socket();
    expect(s).to.be.instanceOf(net.Socket).and.instanceOf(viaNet.Socket);
    const server = viaNet.createServer();
    expect(server).to.be.instanceOf(net.Server).and.instanceOf(viaNet.Server);
    expect(viaNet.connect({ port: 1, host: '127.0.0.1', transport: 'tcp' }).on('error', () => {})).to.be.instanceOf(net.Socket);
    s.destroy();
  });

  it('lets Socket and Server be called without new, as node does', () => {
    const s = viaNet.Socket();
    const server = viaNet.Server();
    expect(s).to.be.instanceOf(viaNet.Socket).and.instanceOf(net.Socket);
    expect(server).to.be.instanceOf(viaNet.Server).and.instanceOf(net.Server);
    class Sub extends viaNet.Socket {}
    expect(new Sub()).to.be.instanceOf(viaNet.Socket).and.instanceOf(Sub);
    // Any net.Socket is a via-net Socket (servers accept TCP as plain net.Socket); not a Sub.
    expect(new net.Socket()).to.be.instanceOf(viaNet.Socket).and.not.instanceOf(Sub);
    s.destroy();
  });

  it('reports the available transports', () => {
    const status = viaNet.providerStatus();
    expect(status.tcp).to.deep.equal({ available: true, reason: null });
    for (const name of ['shm', 'verbs']) {
      expect(status[name].available).to.be.a('boolean');
      if (!status[name].available) expect(status[name].reason).to.be.a('string').and.not.equal('');
    }
    expect(viaNet.transports()).to.include('tcp');
  });
});

describe('facade errors are node:net\'s', () => {
  const badCalls = {
    'connect() with no port or path': (m, t) => m.connect(withTransport({}, t)),
    'connect to a negative port': (m, t) => m.connect(withTransport({ port: -1 }, t)),
    'connect to port 65536': (m, t) => m.connect(withTransport({ port: 65536, host: '127.0.0.1' }, t)),
    'connect to a non-numeric port string': (m, t) => m.connect(withTransport({ port: 'abc' }, t)),
    'connect with a port of the wrong type': (m, t) => m.connect(withTransport({ port: {} }, t)),
    'connect with a bad localAddress': (m, t) => m.connect(withTransport({ port: 80, host: '127.0.0.1', localAddress: 'nope' }, t)),
    'connect with a non-string path': (m, t) => m.connect(withTransport({ path: 42 }, t)),
    'connect with a non-function lookup': (m, t) => m.connect(withTransport({ port: 80, host: 'localhost', lookup: 1 }, t)),
    'Socket with objectMode': (m) => new m.Socket({ objectMode: true }),
    'createServer with a non-object': (m) => m.createServer(42),
    'listen on a bad port': (m) => m.createServer().listen(-5),
    'setTimeout with a bad value': (m) => new m.Socket().setTimeout('x'),
  };
  function withTransport(options, transport) {
    return transport === undefined ? options : { ...options, transport };
  }

  for (const transport of [undefined, 'tcp', 'memory']) {
    for (const [what, call] of Object.entries(badCalls)) {
      it(`${what} (transport ${transport || 'default'})`, () => {
        const expected = thrown(() => call(net));
        const actual = thrown(() => call(viaNet, transport));
        expect(expected, 'node:net must throw for this case').to.not.equal(null);
        expect(actual).to.deep.equal(expected);
      });
    }
  }

  for (const transport of ['tcp', 'memory']) {
    it(`write after end is ERR_STREAM_WRITE_AFTER_END (${transport})`, async () => {
      const pair = await connectedPair(transport);
      pair.client.end();
      const [err] = await new Promise((resolve) => {
        pair.client.once('error', (e) => resolve([e]));
        pair.client.write('late');
      });
      expect(err.code).to.equal('ERR_STREAM_WRITE_AFTER_END');
      pair.accepted.destroy();
      await closeServer(pair.server);
    });

    it(`write(non-buffer) is ERR_INVALID_ARG_TYPE (${transport})`, async () => {
      const pair = await connectedPair(transport);
      const a = thrown(() => pair.client.write(123));
      const s = new net.Socket();
      const b = thrown(() => s.write(123));
      s.destroy();
      expect(a).to.deep.equal(b);
      pair.client.destroy();
      pair.accepted.destroy();
      await closeServer(pair.server);
    });

    it(`listening twice on one port is EADDRINUSE (${transport})`, async () => {
      const first = await listen({ transport });
      const second = viaNet.createServer({ transport });
      second.listen(first.address().port, '127.0.0.1');
      const [err] = await once(second, 'error');
      expect(err.code).to.equal('EADDRINUSE');
      await closeServer(first);
    });

    it(`writing after the peer ended us behaves like net, event for event (${transport})`, async () => {
      async function run(m, options) {
        const server = m.createServer(options, (s) => s.resume().end());
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const c = m.connect({ port: server.address().port, host: '127.0.0.1', ...options });
        const log = [];
        for (const e of ['connect', 'end', 'finish']) c.on(e, () => log.push(e));
        c.on('end', () => {
          log.push(`write:${c.write('x')}`);
          setImmediate(() => log.push(`late-write:${c.writableEnded}:${c.write('y')}`));
        });
        c.on('error', (e) => log.push(`error:${e.code}`));
        log.push(`close:${await closeOf(c)}`);
        await closeServer(server);
        return log;
      }
      const expected = await run(net, {});
      const actual = await run(viaNet, { transport });
      expect(actual).to.deep.equal(expected);
    });
  }

  it('a refused connection is ECONNREFUSED with node\'s fields', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = probe.address().port;
    await closeServer(probe);
    const errs = [];
    for (const m of [net, viaNet]) {
      const s = m.connect(port, '127.0.0.1');
      const closed = closeOf(s);
      const [e] = await once(s, 'error');
      await closed;
      errs.push({ code: e.code, syscall: e.syscall, address: e.address, port: e.port, message: e.message });
    }
    expect(errs[1]).to.deep.equal(errs[0]);
  });
});
