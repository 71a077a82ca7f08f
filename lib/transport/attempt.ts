/**
 * One user-level connection attempt for a client: resolve the target (for names such as
 * 'localhost'), check it is on this host, then ask each candidate provider in turn to connect to
 * the rendezvous name. The outcome is a connected VI, or the last provider error; the caller
 * decides between falling back to TCP and failing a forced transport.
 */
import * as dns from 'dns';
import { isIP } from 'net';
import { logger } from '../log';
import type { Vi, ViProvider } from '../providers/types';
import type { SoviaParams, Wakeup } from '../sovia/types';
import type { UserLevelPlan } from './plan';
import { allocateEphemeralPort, familyOf, sourceAddressFor, Target } from './addresses';
import { decodeAcceptPayload, encodeConnectPayload } from './payload';
import { isLocalAddress } from './locality';
import { recvDepthFor, resolveParams, wakeupFor } from '../sovia';
import { codedError } from '../errors';

const debug = logger('via-net:transport');

export interface AttemptResult {
  provider: ViProvider;
  vi: Vi;
  params: SoviaParams;
  /** The server's WAKEUP, sent with its accept (it took ours with the connect). */
  peerWakeup: Wakeup;
  /** The TCP target the server accepted (null for unix paths). */
  target: Target | null;
  localAddress: string | null;
  localPort: number;
  /** What a DNS lookup returned, for re-emitting node's 'lookup' events (empty for IP hosts). */
  lookedUp: Target[];
}

export interface AttemptError extends Error {
  code?: string;
  /** The DNS lookup itself failed (`cause` is its error): report it like node, never fall back. */
  lookupFailed?: boolean;
  /** What the lookup returned (when it succeeded), so a TCP fallback can reuse it. */
  lookedUp?: Target[];
}

export type AttemptCallback = (err: AttemptError | null, result?: AttemptResult) => void;

export interface AttemptHandle {
  cancel(): void;
}

type LookupFn = (host: string, opts: dns.LookupOptions, cb: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => void;

function noLocalTarget(message: string): AttemptError {
  return codedError('ENOTLOCAL', message);
}

/**
 * Resolve SOVIA parameters for each provider now, synchronously, so that invalid `sovia` options
 * throw from connect() like node's own option errors.
 */
export function paramsForProviders(plan: UserLevelPlan, soviaOptions: object | undefined): SoviaParams[] {
  return plan.providers.map((p) => resolveParams(soviaOptions ?? {}, process.env, p.attrs.maxTransferSize));
}

export function attemptUserLevel(
  plan: UserLevelPlan,
  params: SoviaParams[],
  lookup: LookupFn | undefined,
  callback: AttemptCallback,
): AttemptHandle {
  let cancelled = false;
  let pending: { cancel(): void } | null = null;
  const handle: AttemptHandle = {
    cancel() {
      cancelled = true;
      pending?.cancel();
      pending = null;
    },
  };
  const finish: AttemptCallback = (err, result) => {
    if (cancelled) {
      result?.vi.close();
      return;
    }
    cancelled = true; // exactly one outcome
    callback(err, result);
  };

  const connectTo = (targets: Target[], lookedUp: Target[]): void => {
    const localPort = allocateEphemeralPort();
    const requestedLocal = plan.tcp?.localAddress ?? null;
    let index = 0;
    let lastErr: AttemptError | null = null;
    const next = (): void => {
      if (cancelled) return;
      if (index >= plan.providers.length) {
        // A fresh error (providers' errors are theirs), carrying what the caller needs to decide.
        const cause = lastErr ?? noLocalTarget('no provider could connect');
        const err: AttemptError = new Error(cause.message);
        err.code = cause.code;
        err.cause = cause;
        err.lookedUp = lookedUp;
        finish(err);
        return;
      }
      const provider = plan.providers[index];
      const p = params[index];
      index++;
      const recvDepth = recvDepthFor(p);
      if (recvDepth > provider.attrs.maxRecvDepth) {
        lastErr = noLocalTarget(`window ${p.window} needs ${recvDepth} receive descriptors, ${provider.name} allows ${provider.attrs.maxRecvDepth}`);
        next();
        return;
      }
      const payload = encodeConnectPayload({
        targets,
        port: plan.tcp?.port ?? 0,
        localAddress: requestedLocal,
        localPort,
        forced: plan.forced,
        sovia: { window: p.window, ackThreshold: p.ackThreshold },
        wakeup: wakeupFor(p),
      });
      debug('connect %s via %s (recvDepth %d)', plan.rendezvous, provider.name, recvDepth);
      let settled = false;
      const req = provider.connect(plan.rendezvous, { recvDepth, payload }, (err, vi, reply) => {
        settled = true;
        pending = null;
        if (cancelled) {
          vi?.close();
          return;
        }
        if (err || !vi) {
          debug('%s connect to %s failed: %s', provider.name, plan.rendezvous, err?.code ?? err?.message);
          lastErr = err ?? noLocalTarget('provider returned no VI');
          next();
          return;
        }
        const accepted = decodeAcceptPayload(reply);
        if (accepted?.wakeup == null) {
          // Every server of this version answers our WAKEUP with its own; one that does not would
          // wait for a WAKEUP packet we never send.
          vi.close();
          lastErr = codedError('EPROTO', `${provider.name} connect to ${plan.rendezvous}: the accept reply carries no WAKEUP`);
          next();
          return;
        }
        let target: Target | null = null;
        if (targets.length > 0) target = targets[accepted.target] ?? targets[0];
        finish(null, {
          provider,
          vi,
          params: p,
          peerWakeup: accepted.wakeup,
          target,
          localAddress: target ? sourceAddressFor(target, requestedLocal) : null,
          localPort,
          lookedUp,
        });
      });
      if (!settled) pending = req;
    };
    next();
  };

  if (!plan.tcp) {
    process.nextTick(() => connectTo([], []));
    return handle;
  }
  const tcp = plan.tcp;
  if (!tcp.lookup) {
    const target: Target = { address: tcp.host, family: familyOf(tcp.host) };
    process.nextTick(() => connectTo([target], []));
    return handle;
  }

  // The same options node gives the lookup (lib/net.js lookupAndConnect), plus `all`.
  const opts: dns.LookupOptions = { all: true, family: tcp.family, hints: tcp.hints };
  if (tcp.family === 0 && tcp.hints === 0) opts.hints = dns.ADDRCONFIG;
  const fn: LookupFn = lookup ?? (dns.lookup as unknown as LookupFn);
  fn(tcp.host, opts, (err, addresses, family) => {
    if (cancelled) return;
    if (err) {
      const failed: AttemptError = new Error(err.message);
      failed.code = (err as AttemptError).code;
      failed.cause = err; // handed to the socket untouched
      failed.lookupFailed = true;
      finish(failed);
      return;
    }
    const list: Target[] = (Array.isArray(addresses) ? addresses : [{ address: addresses, family: family ?? 0 }])
      .filter((a) => typeof a.address === 'string' && isIP(a.address))
      .map((a) => ({ address: a.address, family: familyOf(a.address) }));
    // Only if the first address (the one TCP would try first) is local may we skip TCP.
    if (list.length === 0 || !isLocalAddress(list[0].address)) {
      finish(Object.assign(noLocalTarget(`${tcp.host} does not resolve to this host`), { lookedUp: list }));
      return;
    }
    const local = list.filter((t) => isLocalAddress(t.address));
    connectTo(local, list);
  });
  return handle;
}
