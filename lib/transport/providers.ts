/**
 * Late, failure-tolerant access to the provider registry and the SOVIA engine. If either cannot
 * be loaded (native addon missing, module not built), via-net keeps working over TCP and says why
 * once through debug('via-net:transport').
 */
import createDebug from 'debug';
import type { ViProvider } from '../providers/types';
import type { SoviaConnectionApi, SoviaEvents, SoviaParams } from '../sovia/types';
import type { Vi } from '../providers/types';
import type { ProviderName } from './setting';
import { internalsProblem } from '../node-internals';

const debug = createDebug('via-net:transport');

interface ProvidersModule {
  getProvider(name: ProviderName): ViProvider | null;
  providerUnavailableReason(name: ProviderName): string | null;
}

export interface SoviaModule {
  SoviaConnection: new (vi: Vi, params: SoviaParams, events: SoviaEvents) => SoviaConnectionApi;
  resolveParams(options?: object, env?: NodeJS.ProcessEnv, providerMaxTransfer?: number): SoviaParams;
  recvDepthFor(params: SoviaParams): number;
}

let providers: ProvidersModule | null | undefined;
let providersError = '';
let sovia: SoviaModule | null | undefined;
let soviaError = '';

function loadProviders(): ProvidersModule | null {
  if (providers === undefined) {
    try {
      providers = require('../providers') as ProvidersModule;
    } catch (err) {
      providers = null;
      providersError = (err as Error).message;
      debug('provider registry unavailable, TCP only: %s', providersError);
    }
  }
  return providers;
}

export function loadSovia(): SoviaModule | null {
  if (sovia === undefined) {
    try {
      const mod = require('../sovia') as Partial<SoviaModule>;
      if (typeof mod.SoviaConnection !== 'function' || typeof mod.resolveParams !== 'function' || typeof mod.recvDepthFor !== 'function') {
        throw new Error('lib/sovia does not export SoviaConnection, resolveParams and recvDepthFor');
      }
      sovia = mod as SoviaModule;
    } catch (err) {
      sovia = null;
      soviaError = (err as Error).message;
      debug('SOVIA engine unavailable, TCP only: %s', soviaError);
    }
  }
  return sovia;
}

let internalsReported = false;

/** The provider, or null when it cannot be used (see unavailableReason). */
export function getProvider(name: ProviderName): ViProvider | null {
  if (internalsProblem) {
    if (!internalsReported) debug('%s', internalsProblem);
    internalsReported = true;
    return null;
  }
  if (!loadSovia()) return null;
  const registry = loadProviders();
  if (!registry) return null;
  try {
    return registry.getProvider(name);
  } catch (err) {
    debug('getProvider(%s) threw: %s', name, (err as Error).message);
    return null;
  }
}

/** Why getProvider(name) is null; null when it is available. */
export function unavailableReason(name: ProviderName): string | null {
  if (internalsProblem) return internalsProblem;
  if (!loadSovia()) return `the SOVIA engine could not be loaded (${soviaError})`;
  const registry = loadProviders();
  if (!registry) return `the provider registry could not be loaded (${providersError})`;
  if (getProvider(name)) return null;
  try {
    return registry.providerUnavailableReason(name) ?? `the ${name} provider is not available`;
  } catch (err) {
    return (err as Error).message;
  }
}
