'use strict';
// Argument validation and runtime errors, with node's exact codes and (stable) messages.
const { expect } = require('chai');

/** Some of node's messages changed between the supported lines; node:net and via-net must match the running one. */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const { once, record, withHadError, closed, expectThrow, checkError } = require('../support/compat-harness');

const MISSING = { code: 'ERR_MISSING_ARGS', message: 'The "options" or "port" or "path" argument must be specified' };
const badPort = (shown) => ({ code: 'ERR_SOCKET_BAD_PORT', message: `Port should be >= 0 and < 65536. Received ${shown}.` });
const badListenPort = (shown) => ({ code: 'ERR_SOCKET_BAD_PORT', message: `options.port should be >= 0 and < 65536. Received ${shown}.` });
const PORT_TYPE = (shown) => ({ code: 'ERR_INVALID_ARG_TYPE', message: `The "options.port" property must be one of type number or string. Received ${shown}` });
const CHUNK_TYPE = (shown) => ({ code: 'ERR_INVALID_ARG_TYPE', message: `The "chunk" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${shown}` });

// [label, args to connect(), expected synchronous throw]
const CONNECT_ERRORS = [
  ['connect()', [], MISSING],
  ['connect({})', [{}], MISSING],
  ['connect(-1)', [-1], badPort('type number (-1)')],
  ['connect(65536)', [65536], badPort('type number (65536)')],
  ['connect({port: -1})', [{ port: -1 }], badPort('type number (-1)')],
  ['connect({port: 1.5})', [{ port: 1.5 }], badPort('type number (1.5)')],
  ['connect({port: NaN})', [{ port: NaN }], badPort('type number (NaN)')],
  ["connect({port: 'abc'})", [{ port: 'abc' }], badPort("type string ('abc')")],
  ["connect({port: ''})", [{ port: '' }], badPort("type string ('')")],
  ['connect({port: true})', [{ port: true }], PORT_TYPE('type boolean (true)')],
  ['connect({port: {}})', [{ port: {} }], PORT_TYPE('an instance of Object')],
  ['connect({port: null})', [{ port: null }], PORT_TYPE('null')],
  ['connect({port, host: 1})', [{ port: 80, host: 1 }],
    { code: 'ERR_INVALID_ARG_TYPE', message: NODE_MAJOR >= 22
      ? 'The "options.host" property must be of type string. Received type number (1)'
      : 'The "hostname" argument must be of type string. Received type number (1)' }],
  ["connect({port, localAddress: 'x'})", [{ port: 80, localAddress: 'x' }],
    { code: 'ERR_INVALID_IP_ADDRESS', message: 'Invalid IP address: x' }],
  ["connect({port, localPort: 'x'})", [{ port: 80, localPort: 'x' }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options.localPort" property must be of type number. Received type string (\'x\')' }],
  ['connect({port, family: 5})', [{ port: 80, family: 5 }],
    { code: 'ERR_INVALID_ARG_VALUE', message: "The property 'options.family' must be one of: 0, 4, 6. Received 5" }],
  ['connect({port, lookup: 1})', [{ port: 80, lookup: 1 }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options.lookup" property must be of type function. Received type number (1)' }],
  ['connect({port, signal: 1})', [{ port: 80, signal: 1 }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "signal" argument must be an instance of AbortSignal. Received type number (1)' }],
  ["connect({port, timeout: 'x'})", [{ port: 80, timeout: 'x' }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "msecs" argument must be of type number. Received type string (\'x\')' }],
  ["connect({port, hints: 'x'})", [{ port: 80, hints: 'x' }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options.hints" property must be of type number. Received type string (\'x\')' }],
  ['connect({path: 1})', [{ path: 1 }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options.path" property must be of type string. Received type number (1)' }],
];

// [label, args to listen(), expected synchronous throw]
const LISTEN_ERRORS = [
  ['listen(-1)', [-1], badListenPort('type number (-1)')],
  ['listen(65536)', [65536], badListenPort('type number (65536)')],
  ['listen({port: -1})', [{ port: -1 }], badListenPort('type number (-1)')],
  ["listen({port: 'x'})", [{ port: 'x' }], badListenPort("type string ('x')")],
  ['listen({})', [{}],
    { code: 'ERR_INVALID_ARG_VALUE', message: 'The argument \'options\' must have the property "port" or "path". Received {}' }],
  ['listen({host}) without port', [{ host: '127.0.0.1' }],
    { code: 'ERR_INVALID_ARG_VALUE', message: 'The argument \'options\' must have the property "port" or "path". Received { host: \'127.0.0.1\' }' }],
  ['listen(true)', [true], { code: 'ERR_INVALID_ARG_VALUE', message: "The argument 'options' is invalid. Received { port: true }" }],
  ['listen({port: true})', [{ port: true }], { code: 'ERR_INVALID_ARG_VALUE', message: "The argument 'options' is invalid. Received { port: true }" }],
  ['listen({path: 1})', [{ path: 1 }], { code: 'ERR_INVALID_ARG_VALUE', message: "The argument 'options' is invalid. Received { path: 1 }" }],
  ['listen({port: 0, signal: 1})', [{ port: 0, signal: 1 }],
    { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options.signal" property must be an instance of AbortSignal. Received type number (1)' }],
];

const SET_TIMEOUT_ERRORS = [
  ["setTimeout('x')", 'x', { code: 'ERR_INVALID_ARG_TYPE', message: 'The "msecs" argument must be of type number. Received type string (\'x\')' }],
  ['setTimeout(null)', null, { code: 'ERR_INVALID_ARG_TYPE', message: 'The "msecs" argument must be of type number. Received null' }],
  ['setTimeout(-1)', -1, { code: 'ERR_OUT_OF_RANGE', message: 'The value of "msecs" is out of range. It must be a non-negative finite number. Received -1' }],
  ['setTimeout(Infinity)', Infinity, { code: 'ERR_OUT_OF_RANGE', message: 'The value of "msecs" is out of range. It must be a non-negative finite number. Received Infinity' }],
  ['setTimeout(NaN)', NaN, { code: 'ERR_OUT_OF_RANGE', message: 'The value of "msecs" is out of range. It must be a non-negative finite number. Received NaN' }],
];

const WRITE_ERRORS = [
  ['write(1)', (s) => s.write(1), CHUNK_TYPE('type number (1)')],
  ['write({})', (s) => s.write({}), CHUNK_TYPE('an instance of Object')],
  ['write(null)', (s) => s.write(null), { code: 'ERR_STREAM_NULL_VALUES', message: 'May not write null values to stream' }],
  ["write('x', 'bogus')", (s) => s.write('x', 'bogus'), { code: 'ERR_UNKNOWN_ENCODING', message: 'Unknown encoding: bogus' }],
  ['end(1)', (s) => s.end(1), CHUNK_TYPE('type number (1)')],
];

module.exports = {
  area: 'errors',
  clientServer: true,
  define({ impl, h }) {
    for (const [label, args, expected] of CONNECT_ERRORS) {
      it(`${label} throws ${expected.code}`, () => {
        h.expectThrowTracked(() => h.trackSocket(impl.connect(...args)), expected);
      });
    }

    it("createConnection shares connect's validation (ERR_SOCKET_BAD_PORT)", () => {
      h.expectThrowTracked(() => h.trackSocket(impl.createConnection({ port: -1 })), badPort('type number (-1)'));
    });

    it('new Socket().connect() with no arguments throws ERR_MISSING_ARGS', () => {
      const s = h.trackSocket(new impl.Socket());
      expectThrow(() => s.connect(), MISSING);
    });

    it("new Socket({fd: 'x'}) throws ERR_INVALID_ARG_TYPE", () => {
      expectThrow(() => new impl.Socket({ fd: 'x' }), {
        code: 'ERR_INVALID_ARG_TYPE', message: 'The "fd" argument must be of type number. Received type string (\'x\')',
      });
    });

    for (const [label, args, expected] of LISTEN_ERRORS) {
      it(`${label} throws ${expected.code}`, () => {
        const srv = h.server();
        expectThrow(() => srv.listen(...args), expected);
        expect(srv.listening).to.equal(false);
      });
    }

    for (const [label, arg] of [['createServer(1)', 1], ["createServer('x')", 'x']]) {
      it(`${label} throws ERR_INVALID_ARG_TYPE`, () => {
        const shown = typeof arg === 'number' ? 'type number (1)' : "type string ('x')";
        expectThrow(() => impl.createServer(arg), {
          code: 'ERR_INVALID_ARG_TYPE', message: `The "options" argument must be of type object. Received ${shown}`,
        });
      });
    }

    it('getConnections() without a callback throws ERR_INVALID_ARG_TYPE', () => {
      expectThrow(() => h.server().getConnections(), {
        code: 'ERR_INVALID_ARG_TYPE', message: 'The "callback" argument must be of type function. Received undefined',
      });
    });

    for (const [label, arg, expected] of SET_TIMEOUT_ERRORS) {
      it(`${label} throws ${expected.code}`, () => {
        const s = h.trackSocket(new impl.Socket());
        expectThrow(() => s.setTimeout(arg), expected);
      });
    }

    for (const [label, call, expected] of WRITE_ERRORS) {
      it(`${label} throws ${expected.code}`, () => {
        const s = h.trackSocket(new impl.Socket());
        expectThrow(() => call(s), expected);
      });
    }

    it('ECONNREFUSED: code, syscall, address, port, message', async () => {
      const port = await h.closedPort();
      const s = h.connect(port);
      const [err] = await once(s, 'error').catch((e) => [e]);
      checkError(err, { code: 'ECONNREFUSED', syscall: 'connect', message: `connect ECONNREFUSED 127.0.0.1:${port}` });
      expect([err.address, err.port]).to.deep.equal(['127.0.0.1', port]);
      expect(err).to.be.instanceOf(Error);
    });

    it('ECONNREFUSED through connect(port, host, listener): listener never called', async () => {
      const port = await h.closedPort();
      let called = false;
      const s = h.trackSocket(impl.connect(port, '127.0.0.1', () => { called = true; }));
      const log = record(s, ['error', 'close'], [], withHadError);
      await closed(s);
      expect(called).to.equal(false);
      expect(log).to.deep.equal(['error', 'close:true']);
    });

    it('ENOENT connecting to a unix path that does not exist', async () => {
      const p = h.tmp('missing');
      const s = h.trackSocket(impl.connect(p));
      const [err] = await once(s, 'error').catch((e) => [e]);
      checkError(err, { code: 'ENOENT', syscall: 'connect', message: `connect ENOENT ${p}` });
    });

    it('write after end: callback then error, both ERR_STREAM_WRITE_AFTER_END', async () => {
      const { client } = await h.pair();
      const log = [];
      const errs = [];
      client.on('error', (e) => { log.push(`error:${e.code}`); errs.push(e); });
      client.end();
      const cbErr = await new Promise((resolve) => client.write('late', (e) => { log.push(`cb:${e.code}`); resolve(e); }));
      await new Promise((resolve) => setImmediate(resolve));
      expect(log).to.deep.equal(['cb:ERR_STREAM_WRITE_AFTER_END', 'error:ERR_STREAM_WRITE_AFTER_END']);
      checkError(cbErr, { code: 'ERR_STREAM_WRITE_AFTER_END', message: 'write after end' });
      expect(errs[0]).to.equal(cbErr);
    });

    it('write after end on a never-connected socket: ERR_STREAM_WRITE_AFTER_END', async () => {
      const s = h.trackSocket(new impl.Socket());
      s.end();
      const err = await new Promise((resolve) => { s.on('error', resolve); s.write('x'); });
      checkError(err, { code: 'ERR_STREAM_WRITE_AFTER_END', message: 'write after end' });
    });

    it('writing to a connection the peer closed fails with EPIPE or ECONNRESET', async () => {
      const { client, peer } = await h.pair({ clientExtra: { allowHalfOpen: true } });
      client.resume();
      const gotEnd = once(client, 'end');
      peer.destroy();
      await gotEnd;
      const err = new Promise((resolve) => client.once('error', resolve));
      // The first writes may still be accepted locally; the peer's RST makes a later one fail.
      // Bounded: stop after 200 writes, which fails the assertion below if no error came.
      let writes = 0;
      const pump = () => {
        if (client.destroyed || writes++ >= 200) return;
        client.write(Buffer.alloc(1024), () => setImmediate(pump));
      };
      pump();
      const e = await Promise.race([err, closed(client).then(() => null)]);
      expect(e, 'an error before close').to.be.an('error');
      expect(['EPIPE', 'ECONNRESET']).to.include(e.code);
    });

    it('errors from the socket are instances of Error with a string code', async () => {
      const port = await h.closedPort();
      const s = h.connect(port);
      const [err] = await once(s, 'error').catch((e) => [e]);
      expect(err).to.be.instanceOf(Error);
      expect(err.code).to.be.a('string');
      expect(err.errno).to.be.a('number');
    });
  },
};
