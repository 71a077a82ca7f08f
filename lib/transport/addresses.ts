/**
 * Address bookkeeping for user-level connections, so that remoteAddress/remotePort/localAddress/
 * localPort report what the same TCP connection would report.
 *
 * The client sends, in the provider's connect payload, the addresses it would have tried over TCP
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

/** Protocol-relevant SOVIA parameters both ends must agree on (the receiver's depth depends on them). */
export interface SharedSoviaParams {
  window: number;
  ackThreshold: number;
}

export interface ConnectPayload {
  v: 1;
  /** TCP targets in the order the client would try them; empty for unix paths. */
  targets: Target[];
  port: number;
  /** The client's local address if it asked for one (options.localAddress), else null. */
  localAddress: string | null;
  /** Synthetic ephemeral port the server will report as remotePort. */
  localPort: number;
  /** The client will not fall back to TCP if refused (forced transport). */
  forced: boolean;
  sovia: SharedSoviaParams | null;
}

export interface AcceptPayload {
  v: 1;
  /** Index into ConnectPayload.targets that the server accepted (-1 for unix paths). */
  target: number;
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

export function encodeJson(value: ConnectPayload | AcceptPayload): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isPort(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff;
}

/** Parse and validate a connect payload; the peer is another process, so trust nothing. */
export function decodeConnectPayload(buf: Buffer): ConnectPayload | null {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(raw) || raw.v !== 1 || !Array.isArray(raw.targets) || raw.targets.length > 16) return null;
  const targets: Target[] = [];
  for (const t of raw.targets) {
    if (!isObject(t) || typeof t.address !== 'string' || !isIP(t.address)) return null;
    targets.push({ address: t.address, family: familyOf(t.address) });
  }
  if (!isPort(raw.port) || !isPort(raw.localPort)) return null;
  const localAddress = typeof raw.localAddress === 'string' && isIP(raw.localAddress) ? raw.localAddress : null;
  let sovia: SharedSoviaParams | null = null;
  if (isObject(raw.sovia)) {
    const { window, ackThreshold } = raw.sovia;
    if (
      typeof window === 'number' && Number.isInteger(window) && window >= 1 && window <= 4096 &&
      typeof ackThreshold === 'number' && Number.isInteger(ackThreshold) && ackThreshold >= 1 && ackThreshold <= window
    ) {
      sovia = { window, ackThreshold };
    } else {
      return null;
    }
  }
  return { v: 1, targets, port: raw.port, localAddress, localPort: raw.localPort, forced: raw.forced === true, sovia };
}

export function decodeAcceptPayload(buf: Buffer | undefined): AcceptPayload | null {
  if (!buf || buf.length === 0) return null;
  try {
    const raw: unknown = JSON.parse(buf.toString('utf8'));
    if (isObject(raw) && raw.v === 1 && typeof raw.target === 'number' && Number.isInteger(raw.target)) {
      return { v: 1, target: raw.target };
    }
  } catch {
    /* fall through */
  }
  return null;
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
