/**
 * Which path a socket or server may take: the `transport` option and VIA_NET_TRANSPORT.
 * 'auto' tries the user-level providers and falls back to TCP; a named transport is forced
 * (and is an error when it cannot be had, never a silent fallback).
 */
import { invalidArgValue } from '../errors';

export type ProviderName = 'shm' | 'verbs' | 'memory';
export type TransportName = ProviderName | 'tcp';
export type TransportSetting = 'auto' | TransportName;

/** 'memory' is the in-process test provider: accepted, but not advertised. */
const VALID: readonly TransportSetting[] = ['auto', 'shm', 'verbs', 'tcp', 'memory'];

export const ENV_VAR = 'VIA_NET_TRANSPORT';

/** Providers 'auto' tries, in order. Tests may replace it (see setAutoProviders). */
let autoProviders: readonly ProviderName[] = ['shm', 'verbs'];

function check(value: unknown, name: string): TransportSetting {
  if (typeof value === 'string' && (VALID as readonly string[]).includes(value)) {
    return value as TransportSetting;
  }
  throw invalidArgValue(name, value, "must be one of 'auto', 'shm', 'verbs', 'tcp'");
}

/**
 * The effective setting: the explicit option wins, then the environment, then 'auto'.
 * An invalid option throws ERR_INVALID_ARG_VALUE (like node for its own options); so does an invalid
 * environment value, because a typo in a forced transport must not silently become 'auto'.
 */
export function resolveSetting(option: unknown, env: NodeJS.ProcessEnv = process.env): TransportSetting {
  if (option !== undefined && option !== null) return check(option, 'options.transport');
  const fromEnv = env[ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') return check(fromEnv, ENV_VAR);
  return 'auto';
}

/** Validate an option early (constructor time) without applying the environment. */
export function validateOption(option: unknown): TransportSetting | undefined {
  if (option === undefined || option === null) return undefined;
  return check(option, 'options.transport');
}

/** The providers a setting lets us try, in order; [] means TCP only. */
export function candidateProviders(setting: TransportSetting): readonly ProviderName[] {
  if (setting === 'tcp') return [];
  if (setting === 'auto') return autoProviders;
  return [setting];
}

export function isForced(setting: TransportSetting): setting is ProviderName {
  return setting !== 'auto' && setting !== 'tcp';
}

/** For tests: make 'auto' try these providers (e.g. ['memory']). Returns the previous list. */
export function setAutoProviders(names: readonly ProviderName[]): readonly ProviderName[] {
  const previous = autoProviders;
  autoProviders = [...names];
  return previous;
}
