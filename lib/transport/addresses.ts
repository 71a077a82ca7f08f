/**
 * Address bookkeeping for user-level connections, so that remoteAddress/remotePort/localAddress/
 * localPort report what the same TCP connection would report.
 *
 * The client sends, in the provider's connect payload (payload.ts), the addresses it would have tried over TCP
 * and a synthetic ephemeral local port. The server picks the first target its TCP listener would
 * have accepted (same family rules as the kernel: '::' is dual-stack, '0.0.0.0' is IPv4 only, a
 * specific address accepts only itself) and answers with its choice. If none fits, the server
 * refuses, the client falls back to TCP, and the kernel produces the genuine outcome.
 */
import { isIP } from 'net';
import { isLoopback, unmapIPv4 } from './locality';

export type Family = 'IPv4' | 'IPv6';

export interface AddressInfoLike {
  address: string;
  family: Family;
  port: number;
}

export interface Target {
  address: string;
  family: Family;
}

export function familyOf(address: string): Family {
  return isIP(address) === 6 ? 'IPv6' : 'IPv4';
}

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range). */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
let nextEphemeral = EPHEMERAL_LOW + Math.floor(Math.random() * (EPHEMERAL_HIGH - EPHEMERAL_LOW));

/** A port number that looks like what the kernel would have picked; unique within this process until it wraps. */
export function allocateEphemeralPort(): number {
  const port = nextEphemeral;
  nextEphemeral = nextEphemeral >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : nextEphemeral + 1;
  return port;
}

/** The source address the kernel picks to reach a local target: the target itself, or 127.0.0.1 in 127/8. */
export function sourceAddressFor(target: Target, requested: string | null): string {
  if (requested) return requested;
  if (target.family === 'IPv4' && isLoopback(target.address)) return '127.0.0.1';
  return target.address;
}

/**
 * Would a TCP listener bound to `bound` accept a connection to `target`? If so, the address the
 * accepted socket reports locally (IPv4 targets on a dual-stack '::' listener appear IPv4-mapped).
 */
export function acceptedLocalAddress(bound: AddressInfoLike, target: Target): AddressInfoLike | null {
  const b = bound.address.toLowerCase();
  if (b === '::') {
    if (target.family === 'IPv6') return { address: target.address, family: 'IPv6', port: bound.port };
    return { address: `::ffff:${target.address}`, family: 'IPv6', port: bound.port };
  }
  if (b === '0.0.0.0') {
    return target.family === 'IPv4' ? { address: target.address, family: 'IPv4', port: bound.port } : null;
  }
  if (unmapIPv4(b) === unmapIPv4(target.address.toLowerCase())) {
    return { address: bound.address, family: bound.family, port: bound.port };
  }
  return null;
}

/** How the server reports the client, in the same family as its local address. */
export function peerAsSeenByServer(local: AddressInfoLike, clientAddress: string, clientPort: number): AddressInfoLike {
  if (local.family === 'IPv6' && familyOf(clientAddress) === 'IPv4') {
    return { address: `::ffff:${clientAddress}`, family: 'IPv6', port: clientPort };
  }
  return { address: clientAddress, family: familyOf(clientAddress), port: clientPort };
}
