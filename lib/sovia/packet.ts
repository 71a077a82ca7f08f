/**
 * The 32-bit immediate that travels with every SOVIA packet (SOVIA paper section 4.2):
 * the top 3 bits are the packet type, the low 29 bits its value.
 * - DATA, ACK, FIN: the value is the number of piggybacked credits (acknowledged DATA packets).
 * - WAKEUP: the value is the sender's receive window w.
 * - FINACK, RST: the value is 0.
 * - FIN: bit 28 of the value (FIN_CLOSED) says the sender closed its socket and reads nothing
 *   more, as close(2) does, rather than only ending its output as shutdown(2) does.
 */
export const PacketType = {
  DATA: 0,
  ACK: 1,
  WAKEUP: 2,
  FIN: 3,
  FINACK: 4,
  RST: 5,
} as const;

export type PacketTypeValue = (typeof PacketType)[keyof typeof PacketType];

export const TYPE_SHIFT = 29;
/** Largest value the low 29 bits can carry. */
export const MAX_VALUE = (1 << TYPE_SHIFT) - 1;
/** FIN value flag (credits never come near it: a window is at most MAX_WINDOW, 65536). */
export const FIN_CLOSED = 1 << 28;

const TYPE_NAMES = ['DATA', 'ACK', 'WAKEUP', 'FIN', 'FINACK', 'RST', 'TYPE6', 'TYPE7'];

export function encodeImmediate(type: number, value: number): number {
  if (!Number.isInteger(type) || type < 0 || type > 7) {
    throw Object.assign(new RangeError(`packet type ${type} outside 0..7`), { code: 'ERR_OUT_OF_RANGE' });
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
    throw Object.assign(new RangeError(`packet value ${value} outside 0..${MAX_VALUE}`), { code: 'ERR_OUT_OF_RANGE' });
  }
  return ((type << TYPE_SHIFT) | value) >>> 0;
}

export function immediateType(imm: number): number {
  return (imm >>> TYPE_SHIFT) & 7;
}

export function immediateValue(imm: number): number {
  return imm & MAX_VALUE;
}

export function decodeImmediate(imm: number): { type: number; value: number } {
  return { type: immediateType(imm), value: immediateValue(imm) };
}

export function isKnownType(type: number): type is PacketTypeValue {
  return type >= PacketType.DATA && type <= PacketType.RST;
}

export function packetTypeName(type: number): string {
  return TYPE_NAMES[type & 7];
}
