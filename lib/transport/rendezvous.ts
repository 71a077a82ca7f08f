/**
 * Rendezvous names: how a client finds the user-level listener of a server.
 * The name is derived from what both sides already know (the TCP port or the unix path),
 * so no extra discovery is needed: `tcp:<port>` or `unix:<absolute path>`.
 */
import * as path from 'path';

export function tcpRendezvous(port: number): string {
  return `tcp:${port}`;
}

export function unixRendezvous(socketPath: string): string {
  // Abstract sockets ('\0name') live in no directory: resolving them against the cwd would be wrong.
  return socketPath.startsWith('\0') ? `unix:${socketPath}` : `unix:${path.resolve(socketPath)}`;
}

/** The name a listening server registers, from its address() result. */
export function rendezvousForServerAddress(address: string | { port: number } | null): string | null {
  if (address === null) return null;
  if (typeof address === 'string') return unixRendezvous(address);
  return tcpRendezvous(address.port);
}
