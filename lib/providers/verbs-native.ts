/**
 * Loads the verbs addon (build/Release/via_verbs.node) and says why the verbs provider can or
 * cannot be used. The addon is only built where the rdma-core headers exist (binding.gyp), and it
 * is only used when ibv_get_device_list() finds a device and rdma_cm opens an event channel.
 * Every "no" has a reason, kept for `providerUnavailableReason('verbs')` and `via-net doctor`.
 */
import { logger } from '../log';
import * as fs from 'node:fs';
import * as path from 'node:path';

const debug = logger('via-net:verbs');

/** Events the native Context reports (native/verbs/verbs_addon.cc, enum Event). */
export const VerbsEvent = {
  RECV: 1,
  SEND: 2,
  BROKEN: 3,
  CONNECTED: 4,
  CONNECT_FAILED: 5,
  REQUEST: 6,
} as const;

/** postSend statuses (verbs_addon.cc). */
export const VerbsSend = { OK: 0, ASYNC: 1, BROKEN: -1, TOO_LONG: -4, BUSY: -5 } as const;

export type VerbsEventFn = (kind: number, id: number, a: number, b: number, data?: Buffer) => void;

export interface VerbsContext {
  listen(port: number, slotSize: number): number;
  connect(host: string, port: number, depth: number, slotSize: number, payload: Buffer): number;
  accept(viId: number, depth: number, payload: Buffer): void;
  reject(viId: number): void;
  postRecv(viId: number, count: number): void;
  postSend(viId: number, buf: Uint8Array, offset: number, length: number, imm: number): number;
  closeVi(viId: number): void;
  closeListener(id: number): void;
  /** A VI or listener id: an unref'd one does not keep the event loop alive. */
  setRef(id: number, ref: boolean): void;
  close(): void;
  stats(): { vis: number; listeners: number; devices: number; registeredBytes: number };
}

export interface VerbsBinding {
  devices(): string[];
  attrs(): { maxTransferSize: number; maxRecvDepth: number; maxSendDepth: number };
  Context: new (onEvent: VerbsEventFn) => VerbsContext;
}

/** Where the addon is looked for: VIA_NET_VERBS_ADDON (a path), else build/Release. */
export function verbsAddonPath(): string {
  return process.env.VIA_NET_VERBS_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'via_verbs.node');
}

type BindingLoad = { binding: VerbsBinding; error: null } | { binding: null; error: string };
let loaded: BindingLoad | undefined;

/** The addon module itself, whether or not a device exists (its pure functions work anywhere). */
export function loadVerbsBinding(): BindingLoad {
  if (loaded) return loaded;
  const file = verbsAddonPath();
  if (process.env.VIA_NET_DISABLE_NATIVE === '1') {
    loaded = { binding: null, error: 'disabled by VIA_NET_DISABLE_NATIVE=1' };
  } else if (!fs.existsSync(file)) {
    loaded = {
      binding: null,
      error: `not compiled in: ${file} does not exist (the rdma-core headers, packages libibverbs-dev and librdmacm-dev, were missing when the addon was built)`,
    };
  } else {
    try {
      loaded = { binding: require(file) as VerbsBinding, error: null };
    } catch (err) {
      loaded = { binding: null, error: `cannot load ${file}: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return loaded;
}

export interface VerbsStatus {
  /** The addon exists and loads (the headers were there at build time). */
  compiledIn: boolean;
  /** RDMA device names (empty without a device or without the addon). */
  devices: string[];
  /** A Context to use, when the provider is usable. */
  context: VerbsContext | null;
  /** Why the provider cannot be used; null when it can. */
  reason: string | null;
}

let status: VerbsStatus | undefined;
let onEvent: VerbsEventFn = () => {};

/**
 * Decides once per process whether verbs is usable, creating the process's Context if so.
 * `dispatch` receives every native event (the provider installs it before creating the Context).
 */
export function verbsStatus(dispatch?: VerbsEventFn): VerbsStatus {
  if (dispatch) onEvent = dispatch;
  if (status) return status;
  const { binding, error } = loadVerbsBinding();
  if (!binding) {
    status = { compiledIn: false, devices: [], context: null, reason: error };
  } else {
    let devices: string[] = [];
    let reason: string | null = null;
    let context: VerbsContext | null = null;
    try {
      devices = binding.devices();
    } catch (err) {
      reason = `ibv_get_device_list failed: ${(err as Error).message}`;
    }
    if (!reason && devices.length === 0) {
      reason = 'no RDMA device (ibv_get_device_list returned none; see docs/VERBS.md for soft-RoCE)';
    }
    if (!reason) {
      try {
        context = new binding.Context((kind, id, a, b, data) => onEvent(kind, id, a, b, data));
      } catch (err) {
        reason = `rdma_cm is unavailable: ${(err as Error).message}`;
      }
    }
    status = { compiledIn: true, devices, context, reason };
  }
  if (status.reason) debug('verbs provider unavailable: %s', status.reason);
  else debug('verbs provider available on %s', status.devices.join(', '));
  return status;
}
