/**
 * How node:cluster shares a server, as far as the rendezvous is concerned.
 *
 * In a worker, node (lib/net.js listenInCluster) asks the primary for the listening socket unless
 * the listen is `exclusive`: with round-robin scheduling (the default on Linux) the primary
 * accepts every TCP connection and hands it to a worker; with SCHED_NONE each worker accepts from
 * the primary's shared socket. Either way every worker serves the same port, so each registers
 * its own entry next to the others' (providers/shared-name.ts). An `exclusive` listen binds in
 * the worker itself, like any lone server, and registers the name as one.
 */

/**
 * The pid of the cluster primary through which a worker's `listen(...args)` is served, or
 * undefined when this process will accept the connections alone.
 */
export function sharingPrimary(listenArgs: readonly unknown[]): number | undefined {
  // Not loaded up front: net loads it itself at the first listen, and most processes never fork.
  const cluster = require('cluster') as import('cluster').Cluster;
  if (!cluster.isWorker) return undefined;
  const first = listenArgs[0];
  // node reads `exclusive` only from an options object (normalizeArgs), as here.
  if (typeof first === 'object' && first !== null && (first as { exclusive?: unknown }).exclusive) return undefined;
  return process.ppid;
}

/**
 * node's round-robin primary listens through net.createServer() (which is via-net's under
 * register), takes the handle away from the server in a 'listening' listener and hands it to its
 * scheduler. Such a server accepts nothing itself, so it must not hold the rendezvous name that
 * its workers serve: true when the server's handle is gone although nobody closed it.
 */
export function handleTakenAway(server: { _handle?: unknown }): boolean {
  return server._handle === null || server._handle === undefined;
}
