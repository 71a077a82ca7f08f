/**
 * Provider registry: which VI providers this process can use, and why not when it cannot.
 * 'memory' is the in-process test provider: one shared instance, so a server and a client in the
 * same process meet through it.
 */
import type { ViProvider } from './types';
import { MemoryProvider } from './memory';
import { shmProvider, shmUnavailableReason } from './shm';
import { verbsProvider, verbsUnavailableReason } from './verbs';

export type ProviderName = 'shm' | 'verbs' | 'memory';

let memory: MemoryProvider | null = null;

export function getProvider(name: ProviderName): ViProvider | null {
  switch (name) {
    case 'memory':
      memory ??= new MemoryProvider();
      return memory;
    case 'shm':
      return shmProvider();
    case 'verbs':
      return verbsProvider();
    default:
      return null;
  }
}

export function providerUnavailableReason(name: ProviderName): string | null {
  switch (name) {
    case 'memory':
      return null;
    case 'shm':
      return shmUnavailableReason();
    case 'verbs':
      return verbsUnavailableReason();
    default:
      return `the ${name} provider is not built into this version`;
  }
}
