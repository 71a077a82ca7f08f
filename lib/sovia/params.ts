/**
 * SOVIA parameters: defaults, the paper's presets (SOVIA paper table 4), environment overrides and
 * validation. Precedence, lowest first: defaults < preset < environment < explicit options.
 */
import type { PollMode } from '../providers/types';
import { codedError, invalidArgType, outOfRange } from '../errors';
import type { PresetName, SoviaParams } from './types';

export const DEFAULT_PARAMS: Readonly<SoviaParams> = Object.freeze({
  window: 32,
  ackThreshold: 16,
  combine: true,
  copyThreshold: 2048,
  chunkSize: 32768,
  pollMode: 'adaptive' as PollMode,
  spinMicros: 50,
});

export const PRESETS: Readonly<Record<PresetName, Readonly<Partial<SoviaParams>>>> = Object.freeze({
  BASE: Object.freeze({ window: 1, ackThreshold: 1, combine: false }),
  FLOWCNTL: Object.freeze({ window: 32, ackThreshold: 1, combine: false }),
  DACKS: Object.freeze({ window: 32, ackThreshold: 16, combine: false }),
  COMBINE: Object.freeze({ window: 32, ackThreshold: 16, combine: true }),
});

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Per-socket options: any parameter, plus a preset name. */
export type SoviaOptions = Partial<SoviaParams> & { preset?: PresetName };

/** Largest window: keeps receive depths and the 29-bit credit field far from their limits. */
export const MAX_WINDOW = 65536;
export const MAX_SPIN_MICROS = 1_000_000;
/** Number of control descriptors: WAKEUP, FIN, FINACK and RST each arrive at most once. */
export const CONTROL_SLOTS = 4;

const POLL_MODES: readonly PollMode[] = ['event', 'adaptive', 'busy'];

/**
 * Receive descriptors a VI needs for these parameters: w for DATA, ceil(w/t) for standalone
 * ACKs (see credits.ts for why that many suffice) and one each for WAKEUP, FIN, FINACK and RST.
 */
export function recvDepthFor(params: Pick<SoviaParams, 'window' | 'ackThreshold'>): number {
  return params.window + Math.ceil(params.window / params.ackThreshold) + CONTROL_SLOTS;
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number') {
    throw invalidArgType(name, 'number', value);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, min, max, value);
  }
}

/** Throws a node-style coded error unless `params` is complete and consistent. */
export function validateParams(params: SoviaParams, providerMaxTransfer?: number): void {
  const maxChunk = providerMaxTransfer ?? 1 << 30;
  checkInteger('window', params.window, 1, MAX_WINDOW);
  checkInteger('ackThreshold', params.ackThreshold, 1, params.window);
  checkInteger('chunkSize', params.chunkSize, 1, maxChunk);
  checkInteger('copyThreshold', params.copyThreshold, 0, params.chunkSize);
  checkInteger('spinMicros', params.spinMicros, 0, MAX_SPIN_MICROS);
  if (typeof params.combine !== 'boolean') {
    throw invalidArgType('combine', 'boolean', params.combine);
  }
  if (!POLL_MODES.includes(params.pollMode)) {
    throw codedError('ERR_INVALID_ARG_VALUE', `The "pollMode" option must be one of ${POLL_MODES.join(', ')}. Received ${String(params.pollMode)}`, TypeError);
  }
}

function checkPreset(name: unknown, source: string): PresetName {
  if (typeof name === 'string' && (PRESET_NAMES as string[]).includes(name.toUpperCase())) {
    return name.toUpperCase() as PresetName;
  }
  throw codedError('ERR_INVALID_ARG_VALUE', `${source} must be one of ${PRESET_NAMES.join(', ')}. Received ${String(name)}`, TypeError);
}

function envInteger(env: NodeJS.ProcessEnv, variable: string): number | undefined {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\s*\d+\s*$/.test(raw)) {
    throw codedError('ERR_INVALID_ARG_VALUE', `The environment variable ${variable} must be a non-negative integer. Received '${raw}'`, TypeError);
  }
  return Number(raw);
}

/** Parameters set by the VIA_NET_* environment variables. */
export function paramsFromEnv(env: NodeJS.ProcessEnv = process.env): { preset?: PresetName; params: Partial<SoviaParams> } {
  const params: Partial<SoviaParams> = {};
  const preset = env.VIA_NET_PRESET ? checkPreset(env.VIA_NET_PRESET, 'The environment variable VIA_NET_PRESET') : undefined;
  const window = envInteger(env, 'VIA_NET_WINDOW');
  if (window !== undefined) params.window = window;
  const ackThreshold = envInteger(env, 'VIA_NET_ACK_THRESHOLD');
  if (ackThreshold !== undefined) params.ackThreshold = ackThreshold;
  const combine = env.VIA_NET_COMBINE;
  if (combine !== undefined && combine.trim() !== '') {
    const v = combine.trim().toLowerCase();
    if (v === '1' || v === 'true' || v === 'on') params.combine = true;
    else if (v === '0' || v === 'false' || v === 'off') params.combine = false;
    else throw codedError('ERR_INVALID_ARG_VALUE', `The environment variable VIA_NET_COMBINE must be 0 or 1. Received '${combine}'`, TypeError);
  }
  const copyThreshold = envInteger(env, 'VIA_NET_COPY_THRESHOLD');
  if (copyThreshold !== undefined) params.copyThreshold = copyThreshold;
  const chunkSize = envInteger(env, 'VIA_NET_CHUNK_SIZE');
  if (chunkSize !== undefined) params.chunkSize = chunkSize;
  const poll = env.VIA_NET_POLL;
  if (poll !== undefined && poll.trim() !== '') {
    const v = poll.trim().toLowerCase() as PollMode;
    if (!POLL_MODES.includes(v)) {
      throw codedError('ERR_INVALID_ARG_VALUE', `The environment variable VIA_NET_POLL must be one of ${POLL_MODES.join(', ')}. Received '${poll}'`, TypeError);
    }
    params.pollMode = v;
  }
  const spin = envInteger(env, 'VIA_NET_SPIN_US');
  if (spin !== undefined) params.spinMicros = spin;
  return { preset, params };
}

function definedOnly(options: Partial<SoviaParams>): Partial<SoviaParams> {
  const out: Partial<SoviaParams> = {};
  for (const key of Object.keys(DEFAULT_PARAMS) as (keyof SoviaParams)[]) {
    if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  }
  return out;
}

/**
 * The parameters of one connection: defaults < preset < environment < explicit options.
 * An explicit `preset` option replaces VIA_NET_PRESET. The default chunk size shrinks to the
 * provider's maxTransferSize; an explicit or environment chunk size above it is an error.
 */
export function resolveParams(
  options: SoviaOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  providerMaxTransfer?: number,
): SoviaParams {
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object', TypeError);
  }
  const fromEnv = paramsFromEnv(env);
  const presetName = options.preset !== undefined ? checkPreset(options.preset, 'The "preset" option') : fromEnv.preset;
  const params: SoviaParams = {
    ...DEFAULT_PARAMS,
    ...(presetName ? PRESETS[presetName] : {}),
    ...fromEnv.params,
    ...definedOnly(options),
  };
  // A threshold nobody chose follows the window down (window: 8 alone must not fail on t=16).
  if (params.ackThreshold > params.window && options.ackThreshold === undefined
      && fromEnv.params.ackThreshold === undefined) {
    params.ackThreshold = Math.max(1, Math.ceil(params.window / 2));
  }
  if (providerMaxTransfer !== undefined && params.chunkSize > providerMaxTransfer
      && options.chunkSize === undefined && fromEnv.params.chunkSize === undefined) {
    params.chunkSize = providerMaxTransfer;
    params.copyThreshold = Math.min(params.copyThreshold, params.chunkSize);
  }
  validateParams(params, providerMaxTransfer);
  return params;
}
