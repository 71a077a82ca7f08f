/**
 * The provider table: every VI provider this version knows, in the order 'auto' tries them.
 * It is the one place that lists providers; path choice, servers, `providerStatus()` and the
 * `transport` option all read it. A provider describes itself (its name, its reach and its
 * attributes live on the ViProvider); an entry only says how to get this process's instance and
 * why there is none.
 *
 * Getting an instance never throws: a provider whose native addon cannot be loaded reports null
 * and a reason, and via-net carries on over TCP.
 */
import type { ViProvider } from './types';
import { shmProvider, shmUnavailableReason } from './shm';
import { verbsProvider, verbsUnavailableReason } from './verbs';
import type { Diagnosis } from './diagnose';

/** `via-net doctor` alone needs the checks: loaded on its first use. */
function diagnose(name: 'diagnoseShm' | 'diagnoseVerbs'): () => Diagnosis {
  return () => (require('./diagnose') as typeof import('./diagnose'))[name]();
}

export interface ProviderEntry {
  /** The name users select it by (the `transport` option, VIA_NET_TRANSPORT). */
  readonly name: string;
  /** Whether 'auto' tries it; a provider left out is used only when named. */
  readonly auto: boolean;
  /** This process's provider, or null when it cannot be used here. */
  provider(): ViProvider | null;
  /** Why provider() is null; null when it is not. */
  unavailableReason(): string | null;
  /** `via-net doctor`'s read-only checks of this provider. */
  diagnose(): Diagnosis;
}

/** Entries are read at each use, never cached: the table is the whole registry. */
export const PROVIDERS: ProviderEntry[] = [
  { name: 'shm', auto: true, provider: shmProvider, unavailableReason: shmUnavailableReason, diagnose: diagnose('diagnoseShm') },
  { name: 'verbs', auto: true, provider: verbsProvider, unavailableReason: verbsUnavailableReason, diagnose: diagnose('diagnoseVerbs') },
];

export function providerEntry(name: string): ProviderEntry | undefined {
  for (const entry of PROVIDERS) if (entry.name === name) return entry;
  return undefined;
}
