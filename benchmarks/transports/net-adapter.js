'use strict';
/**
 * Worker-side adapter over any node:net-compatible module (node:net itself, or via-net's facade).
 * `listenArgs` says where to listen; the address handed to the client is what `connectArgs` needs.
 */

/**
 * @param {object} netModule  has createServer(opts, onConnection) and connect(opts)
 * @param {object} cfg
 * @param {() => Promise<{listen: object, cleanup?: () => void}>} cfg.where  listen options (port/host or path)
 * @param {object} [cfg.serverOptions]  extra createServer options
 * @param {object} [cfg.connectOptions] extra connect options
 * @param {(sock: object) => void} [cfg.checkSocket]  throws if the connection is not what was asked for
 */
function netAdapter(netModule, cfg) {
  return {
    async listen(onConnection, onError) {
      const where = await cfg.where();
      const server = netModule.createServer({ ...(cfg.serverOptions || {}) }, onConnection);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(where.listen, () => { server.removeListener('error', reject); resolve(); });
      });
      // A listening server can still fail to accept (EMFILE once the idle test has used up the
      // descriptors): that is reported, not an uncaught 'error' that kills the worker.
      server.on('error', (err) => { if (onError) onError(err); });
      const a = server.address();
      const address = typeof a === 'string' ? { path: a } : { host: where.listen.host, port: a.port };
      return {
        address,
        close: () => new Promise((resolve) => server.close(() => {
          if (where.cleanup) where.cleanup();
          resolve();
        })),
      };
    },
    connect(address) {
      return new Promise((resolve, reject) => {
        const sock = netModule.connect({ ...address, ...(cfg.connectOptions || {}) });
        // Stays attached: an error emitted just after 'connect' (before the worker has added its
        // own listener) must be kept as the reason, not crash the worker as an unhandled 'error'.
        sock.benchError = null;
        sock.on('error', (err) => {
          if (!sock.benchError) sock.benchError = err;
          reject(err); // no-op once resolved
        });
        sock.once('connect', () => {
          try {
            if (cfg.checkSocket) cfg.checkSocket(sock);
          } catch (err) {
            sock.destroy();
            reject(err);
            return;
          }
          resolve(sock);
        });
      });
    },
  };
}

module.exports = { netAdapter };
