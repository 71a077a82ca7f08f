/**
 * Client-side path choice: given connect() options and the transport setting, decide whether to
 * try a user-level provider (and which rendezvous name), to go straight to TCP, or to fail a
 * forced transport. The decision is conservative: anything unusual goes to TCP, where node's own
 * code produces node's own validation errors and behaviour.
 */
import { isIP } from 'net';
import { hostname } from 'os';
import type { ViProvider } from '../providers/types';
import { transportUnavailable, NodeStyleError } from '../errors';
import { candidateProviders, isForced, TransportSetting } from './setting';
import { isLocalAddress } from './locality';
import { remoteTcpRendezvous, tcpRendezvous, unixRendezvous } from './rendezvous';
import { getProvider, unavailableReason } from './providers';

export interface UserLevelPlan {
  kind: 'user';
  setting: TransportSetting;
  forced: boolean;
  providers: ViProvider[];
  rendezvous: string;
  /** TCP targets: null for unix paths. */
  tcp: {
    host: string;
    port: number;
    /** Already an IP, or needs a DNS lookup (localhost, this host's name). */
    lookup: boolean;
    family: 0 | 4 | 6;
    /** options.hints, as node passes it to the lookup. */
    hints: number;
    localAddress: string | null;
  } | null;
}

export type ConnectPlan = { kind: 'tcp' } | UserLevelPlan | { kind: 'error'; error: NodeStyleError };

const TCP: ConnectPlan = { kind: 'tcp' };

/** Port forms node accepts and that are safe to interpret ourselves; anything else goes to node. */
function plainPort(port: unknown): number | null {
  if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 0xffff) return port;
  if (typeof port === 'string' && /^\d{1,5}$/.test(port)) {
    const n = Number(port);
    return n > 0 && n <= 0xffff ? n : null;
  }
  return null;
}

/** True when node would accept these options without throwing; otherwise we let node throw. */
function optionsLookValid(o: Record<string, unknown>): boolean {
  if (o.localAddress !== undefined && o.localAddress !== null && o.localAddress !== '' && (typeof o.localAddress !== 'string' || !isIP(o.localAddress))) return false;
  if (o.localPort !== undefined && o.localPort !== null && o.localPort !== 0 && typeof o.localPort !== 'number') return false;
  if (o.autoSelectFamily != null && typeof o.autoSelectFamily !== 'boolean') return false;
  if (o.lookup != null && typeof o.lookup !== 'function') return false;
  if (o.host != null && typeof o.host !== 'string') return false;
  if (o.family != null && ![0, 4, 6, 'IPv4', 'IPv6'].includes(o.family as number | string)) return false;
  if (o.hints != null && o.hints !== 0 && typeof o.hints !== 'number') return false;
  const t = o.autoSelectFamilyAttemptTimeout;
  if (t != null && !(typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= 0x7fffffff)) return false;
  return true;
}

function familyOption(f: unknown): 0 | 4 | 6 {
  if (f === 4 || f === 'IPv4') return 4;
  if (f === 6 || f === 'IPv6') return 6;
  return 0;
}

/**
 * The providers worth an asynchronous attempt at `rendezvous`: in 'auto' mode, those that cannot
 * rule out a listener by looking locally (ViProvider.mayHaveListener). When none is left the
 * plan is TCP, taken by connect() in its own tick, so the socket has node's kernel handle as
 * soon as connect() returns: node's http2 and TLS decide there whether to run natively or over
 * a JS stream wrapper. A forced transport tries them all, so that its error is the provider's.
 */
function worthTrying(providers: ViProvider[], rendezvous: string, forced: boolean): ViProvider[] {
  if (forced) return providers;
  return providers.filter((p) => {
    if (typeof p.mayHaveListener !== 'function') return true;
    try {
      return p.mayHaveListener(rendezvous);
    } catch {
      return true; // cannot tell: the attempt will
    }
  });
}

export function planConnect(options: Record<string, unknown>, setting: TransportSetting): ConnectPlan {
  const names = candidateProviders(setting);
  if (names.length === 0) return TCP;
  const forced = isForced(setting);
  const fail = (reason: string, cause?: unknown): ConnectPlan =>
    forced ? { kind: 'error', error: transportUnavailable(setting, reason, cause) } : TCP;

  // node (22+) applies a socket's blockList in its own connect; the kernel path keeps that exact.
  if (options.blockList) return fail('a blockList is applied on the kernel path only');

  const path = options.path;
  const isPath = path !== undefined && path !== null && path !== '';
  if (isPath && typeof path !== 'string') return TCP; // node throws ERR_INVALID_ARG_TYPE
  if (!isPath && !optionsLookValid(options)) return TCP;

  const providers: ViProvider[] = [];
  for (const name of names) {
    const p = getProvider(name);
    if (p) providers.push(p);
  }
  // The reasons are needed only when nothing is left: 'auto' skips an absent verbs on every connect.
  if (providers.length === 0) {
    return fail(names.map((name) => unavailableReason(name) ?? `${name} is not available`).join('; '));
  }

  if (isPath) {
    const rendezvous = unixRendezvous(path as string);
    const candidates = worthTrying(providers, rendezvous, forced);
    if (candidates.length === 0) return TCP;
    return { kind: 'user', setting, forced, providers: candidates, rendezvous, tcp: null };
  }

  const port = plainPort(options.port);
  if (port === null) return TCP; // missing, zero or unusual port: node decides
  const host = (options.host as string | undefined) || 'localhost';
  const localAddress = (options.localAddress as string | undefined) || null;
  // A requested local port cannot be honoured without a kernel socket: use TCP.
  if (options.localPort) return fail('options.localPort needs a kernel socket');
  if (localAddress && !isLocalAddress(localAddress)) return fail(`local address ${localAddress} is not on this host`);
  const family = familyOption(options.family);
  const hints = typeof options.hints === 'number' ? options.hints : 0;
  const ipType = isIP(host);
  if (ipType) {
    if (!isLocalAddress(host)) {
      // Another host: only verbs (rdma_cm) can reach it; its connect falls back to TCP on refusal
      // or after the connect timeout.
      const remote = providers.filter((p) => p.reach === 'network');
      if (remote.length === 0) return fail(`${host} is not an address of this host`);
      const rendezvous = remoteTcpRendezvous(host, port);
      const candidates = worthTrying(remote, rendezvous, forced);
      if (candidates.length === 0) return TCP;
      return { kind: 'user', setting, forced, providers: candidates, rendezvous, tcp: { host, port, lookup: false, family, hints, localAddress } };
    }
  }
  // Names: only likely local ones are resolved here, so remote hosts see no extra DNS round trip.
  const likelyLocal = ipType !== 0 || host === 'localhost' || host === hostname();
  if (!likelyLocal && !forced) return TCP;
  // Local targets of every form meet a server under the same name: its port.
  const rendezvous = tcpRendezvous(port);
  const candidates = worthTrying(providers, rendezvous, forced);
  if (candidates.length === 0) return TCP;
  return { kind: 'user', setting, forced, providers: candidates, rendezvous, tcp: { host, port, lookup: ipType === 0, family, hints, localAddress } };
}
