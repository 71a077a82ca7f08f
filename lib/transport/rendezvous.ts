/**
 * Rendezvous names: how a client finds the user-level listener of a server.
 * The name is derived from what both sides already know (the TCP port or the unix path),
 * so no extra discovery is needed: `tcp:<port>` or `unix:<absolute path>`. A client reaching
 * another host (verbs) names the host too: `tcp:<port>@<ip>`; a name without a host means this
 * host. Providers parse names only through parseTcpRendezvous.
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

/** The name a client uses for a listener at `port` on another host (only a network provider reaches it). */
export function remoteTcpRendezvous(host: string, port: number): string {
  return `tcp:${port}@${host}`;
}

/** Parses `tcp:<port>` or `tcp:<port>@<host>`; null for anything else (unix names, bad ports). */
export function parseTcpRendezvous(name: string): { port: number; host: string | null } | null {
  const m = /^tcp:(\d{1,5})(?:@(.+))?$/.exec(name);
  if (!m) return null;
  const port = Number(m[1]);
  if (port < 1 || port > 0xffff) return null;
  return { port, host: m[2] ?? null };
}

/**
 * The file a name is registered under in a rendezvous directory: readable for TCP ports
 * (`tcp-8080`), hashed for anything else (a unix path can be longer than a file name may be).
 */
export function rendezvousFileName(name: string): string {
  const tcp = parseTcpRendezvous(name);
  if (tcp && tcp.host === null) return `tcp-${tcp.port}`;
  // crypto is loaded only here: most processes only ever name TCP ports, and loading it is a
  // tenth of via-net's load time.
  const { createHash } = require('crypto') as typeof import('crypto');
  return `h-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}
