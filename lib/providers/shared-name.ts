/**
 * The rendezvous files of a name that several processes serve at once: the workers of a
 * node:cluster, which all accept connections for one port through their primary.
 *
 * A name has one entry (`tcp-8080`), a symlink to the process socket of the one process that
 * serves it, and the native side connects through it. A name served by a cluster keeps that
 * entry for a *marker* instead, a symlink to `cluster-<primary pid>`, and each worker registers a
 * *member* entry of its own next to it, `tcp-8080.<worker pid>`, an ordinary entry to its process
 * socket. Why this shape:
 *  - A client still looks at one path per connect (the native side's readlink), whatever serves
 *    the port; only where a marker stands does it list the directory for the members.
 *  - The marker is not a valid target for the native side: an older client, or one that does not
 *    know markers, reads it as a refused entry and takes TCP, as it would without via-net.
 *  - Members are ordinary entries: the native side registers, serves, removes (close, exit) and
 *    judges them stale (a SIGKILLed worker) exactly as a lone server's entry, and sweeps them when
 *    the next process binds its socket in the directory.
 *  - A lone server registering the plain name replaces a marker (the native side probes it and
 *    finds nothing accepting): the marker never blocks a later server once the cluster is gone.
 * Only listeners write here; clients read (readlink, readdir) and never clean up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codedError } from '../errors';

const MARKER = /^cluster-(\d+)$/;
const MEMBER_SUFFIX = /^\d+$/;

/** The member entry of process `pid` for the name whose plain entry is `file`. */
export function memberPath(file: string, pid: number = process.pid): string {
  return `${file}.${pid}`;
}

/** The names in `dir`; none when it cannot be read (another uid's directory is 0711). */
function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The last listing of each rendezvous directory, and the directory's mtime when it was taken. */
const listings = new Map<string, { mtimeMs: number; names: string[] }>();
/** Longer than the file system's timestamp granularity (a kernel tick, 1-10 ms). */
const RACY_MS = 50;

/**
 * The names in `dir`, read again only when it changed: a cluster's clients list it on every
 * connect, and a stat costs a fraction of a readdir (4 against 25-65 µs here). A listing is kept
 * only while the directory's mtime is older than RACY_MS: a change within the same tick as the
 * mtime could leave it as it was, and the next look would not see that change.
 */
function currentNames(dir: string): string[] {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(dir).mtimeMs;
  } catch {
    return [];
  }
  const cached = listings.get(dir);
  if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.names;
  const names = listDir(dir);
  if (Date.now() - mtimeMs > RACY_MS) listings.set(dir, { mtimeMs, names });
  else listings.delete(dir);
  return names;
}

function readTarget(file: string): string | null {
  try {
    return fs.readlinkSync(file);
  } catch {
    return null;
  }
}

/** True when `file` holds a cluster's marker. */
export function isMarked(file: string): boolean {
  const target = readTarget(file);
  return target !== null && MARKER.test(target);
}

/**
 * The member entries next to the plain entry `file`, in a fixed order (by name), whether their
 * processes live or not: trying a dead one fails at once, and the caller moves on.
 */
export function members(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  return currentNames(dir)
    .filter((n) => n.startsWith(prefix) && MEMBER_SUFFIX.test(n.slice(prefix.length)))
    .sort()
    .map((n) => path.join(dir, n));
}

/**
 * Puts the cluster's marker at `file` unless one is there. `entryLive` is the native judgement of
 * an ordinary entry; `primaryPid` owns the marker.
 *  - Any marker is kept: it says the same thing whichever worker or primary wrote it.
 *  - An ordinary entry whose process is gone is stale: replaced.
 *  - An ordinary entry of our own primary is replaced too: under via-net/register the primary's
 *    round-robin server registers the name for the instant before it hands its handle to the
 *    scheduler (server.ts drops that registration), and it never serves the name itself.
 *  - Any other live entry belongs to a process that serves this name itself (a server on the same
 *    port at another address): EADDRINUSE, as for a second lone server today.
 */
export function placeMarker(file: string, primaryPid: number, entryLive: (file: string) => boolean): void {
  const marker = `cluster-${primaryPid}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.symlinkSync(marker, file);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readTarget(file);
    if (current !== null && MARKER.test(current)) return;
    const ownPrimary = current !== null && current.startsWith(`p-${primaryPid}-`);
    if (current !== null && !ownPrimary && entryLive(file)) {
      throw codedError('EADDRINUSE', `listen ${file}: a process outside the cluster serves this name`);
    }
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw codedError('EADDRINUSE', `listen ${file}: the entry keeps changing`);
}

/**
 * After this process's member entry is gone (close, exit): removes the marker when no member of a
 * live process is left, so clients take TCP at once, as they do when no server registered. A
 * worker that registers meanwhile re-places the marker after its member entry exists; looking
 * again after the removal covers the one order in which its marker would be lost (it found ours
 * still there just before we removed it).
 */
export function retireMarker(file: string, primaryPid: number, entryLive: (file: string) => boolean): void {
  const anyLive = (): boolean => members(file).some((m) => entryLive(m));
  if (!isMarked(file) || anyLive()) return;
  try {
    fs.unlinkSync(file);
  } catch {
    return; // gone already, or not ours to remove
  }
  if (anyLive()) {
    try {
      placeMarker(file, primaryPid, entryLive);
    } catch {
      // A lone server took the name in between: it is its to serve now.
    }
  }
}

/**
 * Retires every marker in the directory of `file` that no live member stands behind: what a
 * cluster killed without a chance to clean up (SIGTERM, SIGKILL) left there. Run when a process
 * first listens, as the native side sweeps dead processes' own entries then.
 */
export function sweepMarkers(file: string, entryLive: (file: string) => boolean): void {
  const dir = path.dirname(file);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    // Markers are symlinks named like plain entries (members have a '.'): read only those.
    if (!e.isSymbolicLink() || e.name.includes('.')) continue;
    const marker = path.join(dir, e.name);
    const primary = MARKER.exec(readTarget(marker) ?? '');
    if (primary) retireMarker(marker, Number(primary[1]), entryLive);
  }
}
