/**
 * What write() accepted belongs to the transport, even when the process exits right after.
 *
 * Over TCP the kernel owns written bytes: they reach the peer after process.exit(), an uncaught
 * exception or a kill. On a user-level path the engine may still hold some in JavaScript when
 * the process exits: writes made before the peer's WAKEUP arrived, or beyond the credits it has
 * granted. On process 'exit' (which process.exit() and a fatal exception both emit) every live
 * connection pushes out what it holds, and we poll the providers synchronously for the credits
 * that let the rest out, for a bounded time. (Small writes never wait here: they are combined
 * in shared memory, see Vi.stage. A SIGKILL runs no handler; what the provider holds survives it.)
 */
import { logger } from './log';
import type { ViProvider } from './providers/types';
import type { SoviaConnectionApi } from './sovia/types';

const debug = logger('via-net:exit');

/** Give up when the peers returned nothing for this long (a stopped or wedged peer)... */
const IDLE_LIMIT_MS = 500;
/** ...or after this long in all: exit must not hang on a slow reader. */
const TOTAL_LIMIT_MS = 2000;
/** Between empty polls, yield the core to the peer (this machine may have only two). */
const POLL_PAUSE_MS = 0.05;

interface Draining {
  engine: SoviaConnectionApi;
  provider: ViProvider;
}

const live = new Set<Draining>();
let hooked = false;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Track a user-level connection until it closes; the returned function stops tracking it. */
export function drainOnExit(engine: SoviaConnectionApi, provider: ViProvider): () => void {
  const entry: Draining = { engine, provider };
  live.add(entry);
  if (!hooked) {
    hooked = true;
    process.on('exit', drainAll);
  }
  return () => live.delete(entry);
}

function drainAll(): void {
  if (live.size === 0) return;
  const start = Date.now();
  let lastProgress = start;
  try {
    for (;;) {
      const providers = new Set<ViProvider>();
      for (const c of live) if (c.engine.drainForExit()) providers.add(c.provider);
      if (providers.size === 0) break;
      let delivered = 0;
      for (const p of providers) delivered += p.pollNow ? p.pollNow() : 0;
      const now = Date.now();
      if (delivered > 0) lastProgress = now;
      else if (now - lastProgress >= IDLE_LIMIT_MS || now - start >= TOTAL_LIMIT_MS) {
        debug('exit: gave up draining after %d ms, output left on %d connections', now - start, providers.size);
        break;
      } else Atomics.wait(pause, 0, 0, POLL_PAUSE_MS);
    }
  } catch (err) {
    // Nothing may throw out of an 'exit' listener on our account.
    debug('exit: drain failed: %s', (err as Error).message);
  }
  debug('exit: drained in %d ms', Date.now() - start);
}
