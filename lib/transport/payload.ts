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
 *   u8  flags: FORCED, LOCAL_ADDRESS (a localAddress follows), SOVIA (window and threshold follow)
 *   u16 port, u16 localPort
 *   u8  number of targets (at most MAX_TARGETS)
 *   [u32 window, u32 ackThreshold]        if SOVIA
 *   [address]                             if LOCAL_ADDRESS
 *   address × targets
 * where an address is u8 length + that many latin1 bytes of an IP address in text form (what
 * net.isIP accepts, a zone id included).
 *
 * Accept payload: u8 format (ACCEPT_FORMAT), i16 target index (-1 for unix paths).
 */
import { isIP } from 'net';
import { familyOf, type Target } from './addresses';

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
}

/** Format bytes: neither can begin a JSON text, which earlier versions sent. */
const CONNECT_FORMAT = 0x02;
const ACCEPT_FORMAT = 0x03;
const FORCED = 0x01;
const LOCAL_ADDRESS = 0x02;
const SOVIA = 0x04;
const HEADER = 7;
const MAX_TARGETS = 16;
/** The window a server agrees to size its ring for (the provider's depth limit is checked later). */
const MAX_SHARED_WINDOW = 4096;

export function encodeConnectPayload(p: ConnectPayload): Buffer {
  let size = HEADER + (p.sovia ? 8 : 0);
  if (p.localAddress !== null) size += 1 + encodedLength(p.localAddress);
  for (const t of p.targets) size += 1 + encodedLength(t.address);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = CONNECT_FORMAT;
  buf[1] = (p.forced ? FORCED : 0) | (p.localAddress !== null ? LOCAL_ADDRESS : 0) | (p.sovia ? SOVIA : 0);
  buf.writeUInt16LE(p.port, 2);
  buf.writeUInt16LE(p.localPort, 4);
  buf[6] = p.targets.length;
  let off = HEADER;
  if (p.sovia) {
    buf.writeUInt32LE(p.sovia.window, off);
    buf.writeUInt32LE(p.sovia.ackThreshold, off + 4);
    off += 8;
  }
  if (p.localAddress !== null) off = writeAddress(buf, off, p.localAddress);
  for (const t of p.targets) off = writeAddress(buf, off, t.address);
  return buf;
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
  if ((flags & ~(FORCED | LOCAL_ADDRESS | SOVIA)) !== 0) return `unknown flags 0x${flags.toString(16)}`;
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

export function encodeAcceptPayload(target: number): Buffer {
  const buf = Buffer.allocUnsafe(3);
  buf[0] = ACCEPT_FORMAT;
  buf.writeInt16LE(target, 1);
  return buf;
}

/** The target index the server accepted, or null when the reply is not an accept payload. */
export function decodeAcceptPayload(buf: Buffer | undefined): number | null {
  if (!buf || buf.length !== 3 || buf[0] !== ACCEPT_FORMAT) return null;
  return buf.readInt16LE(1);
}
