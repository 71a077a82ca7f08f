/**
 * The rendezvous directory: where shm listeners register, one socket file per name.
 *
 * It is private to the user (mode 0700, owned by us, not a symlink) and split by network
 * namespace, so a process only ever finds listeners of its own namespace:
 *   $VIA_NET_RUNDIR | $XDG_RUNTIME_DIR/via-net | $TMPDIR/via-net-<uid>   /ns-<netns inode>/<entry>
 * Only listen() creates directories; connect() computes the path and looks at most at the entry
 * itself (the addon's entryLive: one readlink and a liveness check of its process).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codedError } from '../errors';
import { rendezvousFileName as entryName } from '../transport/rendezvous';

export function baseDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIA_NET_RUNDIR) return env.VIA_NET_RUNDIR;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'via-net');
  const tmp = tmpDir();
  const uid = process.getuid ? process.getuid() : 0;
  if (tmp !== lastBase.tmp || uid !== lastBase.uid) lastBase = { tmp, uid, dir: path.join(tmp, `via-net-${uid}`) };
  return lastBase.dir;
}
let lastBase = { tmp: '', uid: -1, dir: '' };

/**
 * os.tmpdir(), kept per value of the variables it reads: os.tmpdir() costs six system calls a
 * call (node's safe getenv checks credentials each time), where reading process.env costs none.
 */
function tmpDir(): string {
  const { TMPDIR, TMP, TEMP } = process.env; // what os.tmpdir() reads, whatever env baseDir was given
  const t = lastTmp;
  if (t === null || TMPDIR !== t.TMPDIR || TMP !== t.TMP || TEMP !== t.TEMP) {
    lastTmp = { TMPDIR, TMP, TEMP, dir: os.tmpdir() };
  }
  return lastTmp!.dir;
}
let lastTmp: { TMPDIR?: string; TMP?: string; TEMP?: string; dir: string } | null = null;


/**
 * Entry paths already computed under one base directory and namespace: every connect() looks
 * its entry up twice (mayHaveListener, then connect), and building it (path.join, the name,
 * a hash for unix paths) costs more than the lookup. The base directory is read anew each
 * time, so a changed environment or uid finds its own entries.
 */
let entries = { base: '', netns: -1, paths: new Map<string, string>() };
/** Rendezvous names remembered per base directory; a process rarely connects to more. */
const MAX_REMEMBERED_ENTRIES = 1024;

export function entryPath(name: string, netns: number, env: NodeJS.ProcessEnv = process.env): string {
  const base = baseDir(env);
  if (base !== entries.base || netns !== entries.netns) entries = { base, netns, paths: new Map() };
  let file = entries.paths.get(name);
  if (file === undefined) {
    if (entries.paths.size >= MAX_REMEMBERED_ENTRIES) entries.paths.clear();
    file = path.join(base, `ns-${netns}`, entryName(name));
    entries.paths.set(name, file);
  }
  return file;
}

/** Creates `dir` (0700) if needed and refuses one that others could tamper with. */
function ensurePrivateDir(dir: string): void {
  // Look first: every listen passes here, and the directory nearly always exists already.
  let st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    st = fs.lstatSync(dir);
  }
  const uid = process.getuid ? process.getuid() : 0;
  if (!st.isDirectory() || st.isSymbolicLink()) {
    throw codedError('EACCES', `via-net rendezvous directory ${dir} is not a plain directory`);
  }
  if (st.uid !== uid) {
    throw codedError('EACCES', `via-net rendezvous directory ${dir} belongs to uid ${st.uid}, not ${uid}`);
  }
  // Group/other write would let another user plant or remove entries.
  if ((st.mode & 0o022) !== 0) {
    throw codedError('EACCES', `via-net rendezvous directory ${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
  }
}

/** Makes sure the directories for `name` exist and are private; returns the entry path. */
export function prepareEntry(name: string, netns: number, env: NodeJS.ProcessEnv = process.env): string {
  const base = baseDir(env);
  ensurePrivateDir(base);
  const nsDir = path.join(base, `ns-${netns}`);
  ensurePrivateDir(nsDir);
  return path.join(nsDir, entryName(name));
}

/**
 * Lets other users reach one entry: its directories become traversable (0711: entries can be
 * opened by exact name, not listed) and the socket connectable (0666). Who actually gets in is
 * still decided by the listener's SO_PEERCRED check against its allowed uids.
 */
export function shareEntry(file: string): void {
  const nsDir = path.dirname(file);
  for (const dir of [path.dirname(nsDir), nsDir]) fs.chmodSync(dir, 0o711);
  fs.chmodSync(file, 0o666);
}

/** Uids from VIA_NET_ALLOW_UIDS (comma-separated): admitted by our listeners, trusted as listeners. */
export function allowedUidsFromEnv(env: NodeJS.ProcessEnv = process.env): readonly number[] {
  // Every connect() passes them: parsed again only when the variable changed.
  const raw = env.VIA_NET_ALLOW_UIDS || '';
  if (raw !== lastAllowed.raw) {
    const uids = raw.split(',').map((v) => v.trim()).filter((v) => /^\d+$/.test(v)).map(Number);
    lastAllowed = { raw, uids: Object.freeze(uids) };
  }
  return lastAllowed.uids;
}
let lastAllowed: { raw: string; uids: readonly number[] } = { raw: '', uids: Object.freeze([]) };
