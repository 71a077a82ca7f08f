/**
 * One connect over several rendezvous entries: try each in turn until one accepts. A cluster's
 * workers each have an entry (shared-name.ts); a dead worker's entry refuses at once, a closing
 * worker's listener refuses in its answer, and either way the next worker is asked, so a client
 * meets what TCP gives it (the primary hands TCP connections only to live workers). When every
 * entry refused, the last refusal is the outcome, which sends an 'auto' client to TCP.
 */
import type { ConnectCallback, ConnectRequest, ViError } from './types';

/** Starts a connect to `file`: throws when it cannot start, else calls back exactly once unless cancelled. */
export type OpenEntry = (file: string, callback: ConnectCallback) => ConnectRequest;

export function connectInTurn(files: readonly string[], open: OpenEntry, callback: ConnectCallback, refusal: ViError): ConnectRequest {
  let cancelled = false;
  let current: ConnectRequest | null = null;
  let lastError = refusal;
  let index = 0;
  const next = (): void => {
    while (index < files.length) {
      try {
        current = open(files[index++], (err, vi, payload) => {
          current = null;
          if (cancelled) {
            vi?.close();
          } else if (vi && !err) {
            callback(null, vi, payload);
          } else {
            if (err) lastError = err;
            next();
          }
        });
        return;
      } catch (err) {
        lastError = err as ViError; // a stale entry, or one removed since it was listed
      }
    }
    // Reported asynchronously, as a connect error always is, even when nothing could start.
    process.nextTick(() => {
      if (!cancelled) callback(lastError);
    });
  };
  next();
  return {
    cancel: () => {
      cancelled = true;
      current?.cancel();
      current = null;
    },
  };
}
