/**
 * The payloads a user-level connect carries between two via-net processes: the client's OPEN
 * (what the server needs to report TCP's addresses and to size its receive ring) and the server's
 * ACCEPT (which target it took). A fixed binary layout, little-endian, because every connection
 * encodes and decodes one of each on each side, and JSON cost more than anything else in the
 * address bookkeeping. The peer is another process: decoding trusts nothing and refuses any
 * payload that is not exactly this layout, with the reason.
 *
 * Connect payload:
 *   u8  format (CONNECT_FORMAT)
 *   u8  flags: FORCED, LOCAL_ADDRESS (a localAddress follows), SOVIA (window and threshold follow),
 *       WAKEUP (the client's SOVIA WAKEUP follows)
 *   u16 port, u16 localPort
 *   u8  number of targets (at most MAX_TARGETS)
 *   [u32 window, u32 ackThreshold]        if SOVIA
 *   [wakeup]                              if WAKEUP
 *   [address]                             if LOCAL_ADDRESS
 *   address × targets
 * where an address is u8 length + that many latin1 bytes of an IP address in text form (what
 * net.isIP accepts, a zone id included).
 *
 * and a wakeup is u32 window, u32 chunk size, u32 ACK slots (lib/sovia/types.ts Wakeup).
 *
 * Accept payload: u8 format (ACCEPT_FORMAT), i16 target index (-1 for unix paths); or, answering
 * a connect payload that carried the client's WAKEUP, u8 ACCEPT_WAKEUP_FORMAT, i16 target index,
 * the server's wakeup. Carrying both WAKEUPs in the handshake lets either side send DATA as soon as
 * it is connected, instead of one more round trip later (SoviaConnection's peerWakeup).
 */
import { isIP } from 'net';
import { familyOf, type Target } from './addresses';
import type { Wakeup } from '../sovia/types';

/** Protocol-relevant SOVIA parameters both ends must agree on (the receiver's depth depends on them). */
export interface SharedSoviaParams {
  window: number;
  ackThreshold: number;
}

export interface ConnectPayload {
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
  /** The client's WAKEUP, when it sends none as a packet. */
  wakeup: Wakeup | null;
}

export interface AcceptPayload {
  /** The client's target the server took, -1 for unix paths. */
  target: number;
  /** The server's WAKEUP: present exactly when the connect payload carried the client's. */
  wakeup: Wakeup | null;
}

/** Format bytes: neither can begin a JSON text, which earlier versions sent. */
const CONNECT_FORMAT = 0x02;
const ACCEPT_FORMAT = 0x03;
const ACCEPT_WAKEUP_FORMAT = 0x04;
const FORCED = 0x01;
const LOCAL_ADDRESS = 0x02;
const SOVIA = 0x04;
const WAKEUP = 0x08;
const HEADER = 7;
const WAKEUP_BYTES = 12;
/** Largest DATA payload a WAKEUP may announce (1 GiB: far above any provider's transfer size). */
const MAX_WAKEUP_CHUNK = 1 << 30;
const MAX_TARGETS = 16;
/** The window a server agrees to size its ring for (the provider's depth limit is checked later). */
const MAX_SHARED_WINDOW = 4096;

export function encodeConnectPayload(p: ConnectPayload): Buffer {
  let size = HEADER + (p.sovia ? 8 : 0) + (p.wakeup ? WAKEUP_BYTES : 0);
  if (p.localAddress !== null) size += 1 + encodedLength(p.localAddress);
  for (const t of p.targets) size += 1 + encodedLength(t.address);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = CONNECT_FORMAT;
  buf[1] = (p.forced ? FORCED : 0) | (p.localAddress !== null ? LOCAL_ADDRESS : 0) | (p.sovia ? SOVIA : 0) | (p.wakeup ? WAKEUP : 0);
  buf.writeUInt16LE(p.port, 2);
  buf.writeUInt16LE(p.localPort, 4);
  buf[6] = p.targets.length;
  let off = HEADER;
  if (p.sovia) {
    buf.writeUInt32LE(p.sovia.window, off);
    buf.writeUInt32LE(p.sovia.ackThreshold, off + 4);
    off += 8;
  }
  if (p.wakeup) off = writeWakeup(buf, off, p.wakeup);
  if (p.localAddress !== null) off = writeAddress(buf, off, p.localAddress);
  for (const t of p.targets) off = writeAddress(buf, off, t.address);
  return buf;
}

function writeWakeup(buf: Buffer, off: number, w: Wakeup): number {
  buf.writeUInt32LE(w.window, off);
  buf.writeUInt32LE(w.chunkSize, off + 4);
  buf.writeUInt32LE(w.ackSlots, off + 8);
  return off + WAKEUP_BYTES;
}

/** The wakeup at `off`, or why it is refused (the engine checks it again, as it does a packet). */
function readWakeup(buf: Buffer, off: number): Wakeup | string {
  if (buf.length < off + WAKEUP_BYTES) return 'truncated';
  const w: Wakeup = { window: buf.readUInt32LE(off), chunkSize: buf.readUInt32LE(off + 4), ackSlots: buf.readUInt32LE(off + 8) };
  if (w.window < 1 || w.chunkSize < 1 || w.chunkSize > MAX_WAKEUP_CHUNK || w.ackSlots < 1) {
    return `WAKEUP window ${w.window}, chunk size ${w.chunkSize}, ACK slots ${w.ackSlots} out of range`;
  }
  return w;
}

function encodedLength(address: string): number {
  return address.length > 0xff ? 0 : address.length;
}

/**
 * Only an absurd zone id could make an IP address longer than its length byte can say: it is
 * sent empty instead, which the server refuses, and the client falls back to TCP as it does for
 * any refused connect.
 */
function writeAddress(buf: Buffer, off: number, address: string): number {
  if (address.length > 0xff) {
    buf[off] = 0;
    return off + 1;
  }
  buf[off] = address.length;
  return off + 1 + buf.write(address, off + 1, 'latin1');
}

/** The payload, or why it is refused. */
export function decodeConnectPayload(buf: Buffer): ConnectPayload | string {
  if (buf.length < HEADER || buf[0] !== CONNECT_FORMAT) return 'not a via-net connect payload of this version';
  const flags = buf[1];
  if ((flags & ~(FORCED | LOCAL_ADDRESS | SOVIA | WAKEUP)) !== 0) return `unknown flags 0x${flags.toString(16)}`;
  const count = buf[6];
  if (count > MAX_TARGETS) return `${count} targets (at most ${MAX_TARGETS})`;
  let off = HEADER;
  let sovia: SharedSoviaParams | null = null;
  if ((flags & SOVIA) !== 0) {
    if (buf.length < off + 8) return 'truncated';
    const window = buf.readUInt32LE(off);
    const ackThreshold = buf.readUInt32LE(off + 4);
    if (window < 1 || window > MAX_SHARED_WINDOW || ackThreshold < 1 || ackThreshold > window) {
      return `window ${window} and ACK threshold ${ackThreshold} out of range`;
    }
    sovia = { window, ackThreshold };
    off += 8;
  }
  let wakeup: Wakeup | null = null;
  if ((flags & WAKEUP) !== 0) {
    const w = readWakeup(buf, off);
    if (typeof w === 'string') return w;
    wakeup = w;
    off += WAKEUP_BYTES;
  }
  let localAddress: string | null = null;
  if ((flags & LOCAL_ADDRESS) !== 0) {
    localAddress = readAddress(buf, off);
    if (localAddress === null) return 'bad local address';
    off += 1 + localAddress.length;
  }
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) {
    const address = readAddress(buf, off);
    if (address === null) return `bad target ${i}`;
    off += 1 + address.length;
    targets.push({ address, family: familyOf(address) });
  }
  if (off !== buf.length) return `${buf.length - off} bytes past the end`;
  return {
    targets,
    port: buf.readUInt16LE(2),
    localAddress,
    localPort: buf.readUInt16LE(4),
    forced: (flags & FORCED) !== 0,
    sovia,
    wakeup,
  };
}

/** An IP address at `off`, or null if it is missing, truncated or not an IP address. */
function readAddress(buf: Buffer, off: number): string | null {
  if (off >= buf.length) return null;
  const length = buf[off];
  if (length === 0 || off + 1 + length > buf.length) return null;
  const address = buf.toString('latin1', off + 1, off + 1 + length);
  return isIP(address) ? address : null;
}

export function encodeAcceptPayload(p: AcceptPayload): Buffer {
  const buf = Buffer.allocUnsafe(3 + (p.wakeup ? WAKEUP_BYTES : 0));
  buf[0] = p.wakeup ? ACCEPT_WAKEUP_FORMAT : ACCEPT_FORMAT;
  buf.writeInt16LE(p.target, 1);
  if (p.wakeup) writeWakeup(buf, 3, p.wakeup);
  return buf;
}

/** What the server answered, or null when the reply is not an accept payload of this version. */
export function decodeAcceptPayload(buf: Buffer | undefined): AcceptPayload | null {
  if (!buf || buf.length < 3) return null;
  if (buf[0] === ACCEPT_FORMAT && buf.length === 3) return { target: buf.readInt16LE(1), wakeup: null };
  if (buf[0] !== ACCEPT_WAKEUP_FORMAT || buf.length !== 3 + WAKEUP_BYTES) return null;
  const wakeup = readWakeup(buf, 3);
  return typeof wakeup === 'string' ? null : { target: buf.readInt16LE(1), wakeup };
}
