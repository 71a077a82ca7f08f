/**
 * The providers path choice may use, by name, from the provider table (lib/providers/index.ts).
 * When node's internals that the facade needs are missing, no provider is used and via-net keeps
 * working over TCP, saying why once through debug('via-net:transport').
 */
import { logger } from '../log';
import type { ViProvider } from '../providers/types';
import { providerEntry } from '../providers';
import { internalsProblem } from '../node-internals';

const debug = logger('via-net:transport');

let internalsReported = false;

/** The provider, or null when it cannot be used (see unavailableReason). */
export function getProvider(name: string): ViProvider | null {
  if (internalsProblem) {
    if (!internalsReported) debug('%s', internalsProblem);
    internalsReported = true;
    return null;
  }
  const entry = providerEntry(name);
  if (!entry) return null;
  try {
    return entry.provider();
  } catch (err) {
    debug('provider %s threw: %s', name, (err as Error).message);
    return null;
  }
}

/** Why getProvider(name) is null; null when it is available. */
export function unavailableReason(name: string): string | null {
  if (internalsProblem) return internalsProblem;
  if (getProvider(name)) return null;
  const entry = providerEntry(name);
  if (!entry) return `the ${name} provider is not built into this version`;
  try {
    return entry.unavailableReason() ?? `the ${name} provider is not available`;
  } catch (err) {
    return (err as Error).message;
  }
}
