/**
 * Which path a socket or server may take: the `transport` option and VIA_NET_TRANSPORT.
 * 'auto' tries the user-level providers and falls back to TCP; a named transport is forced
 * (and is an error when it cannot be had, never a silent fallback).
 */
import { invalidArgValue } from '../errors';
import { PROVIDERS } from '../providers';

/** A provider's name (see lib/providers/index.ts), or 'tcp'. */
export type TransportName = string;
/** 'auto', or a transport forced by name. */
export type TransportSetting = string;

export const ENV_VAR = 'VIA_NET_TRANSPORT';

function check(value: unknown, name: string): TransportSetting {
  if (value === 'auto' || value === 'tcp') return value;
  if (typeof value === 'string' && PROVIDERS.some((e) => e.name === value)) return value;
  const names = ['auto', ...PROVIDERS.map((e) => e.name), 'tcp'].map((n) => `'${n}'`).join(', ');
  throw invalidArgValue(name, value, `must be one of ${names}`);
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
export function candidateProviders(setting: TransportSetting): readonly string[] {
  if (setting === 'tcp') return [];
  if (setting === 'auto') return PROVIDERS.filter((e) => e.auto).map((e) => e.name);
  return [setting];
}

/** A named provider (not 'auto', not 'tcp'): no silent fallback. */
export function isForced(setting: TransportSetting): boolean {
  return setting !== 'auto' && setting !== 'tcp';
}
