/** The SOVIA protocol engine (SOVIA paper section 4). Provider-independent. */
export { SoviaConnection, wakeupFor } from './connection';
export {
  DEFAULT_PARAMS,
  PRESETS,
  PRESET_NAMES,
  CONTROL_SLOTS,
  MAX_WINDOW,
  recvDepthFor,
  resolveParams,
  paramsFromEnv,
  validateParams,
} from './params';
export type { SoviaOptions } from './params';
export {
  PacketType,
  MAX_VALUE,
  encodeImmediate,
  decodeImmediate,
  immediateType,
  immediateValue,
  packetTypeName,
} from './packet';
export { CreditLedger } from './credits';
export type * from './types';
