/**
 * What `via-net doctor` finds about each provider, read-only: it creates no directory, registers
 * no listener and opens no connection.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNative } from './native';
import { baseDir } from './rundir';
import { loadVerbsBinding, verbsAddonPath, verbsStatus } from './verbs-native';

export interface Diagnosis {
  /** Why the provider is not usable; null when it is. */
  reason: string | null;
  /** What was checked, as label -> finding. */
  checks: Record<string, string>;
}

/** The rendezvous directory, checked read-only the way rundir.ts would accept it. */
function rendezvousDirProblem(dir: string): { finding: string; problem: string | null } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { finding: `${dir}: ${(err as Error).message}`, problem: `rendezvous directory ${dir} is not accessible` };
    const parent = path.dirname(dir);
    try {
      fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
      return { finding: `${dir} (created on first listen)`, problem: null };
    } catch {
      return { finding: `${dir} missing, and ${parent} is not writable`, problem: `cannot create the rendezvous directory under ${parent}` };
    }
  }
  const uid = process.getuid ? process.getuid() : 0;
  const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
  if (st.isSymbolicLink()) return { finding: `${dir} is a symlink`, problem: `rendezvous directory ${dir} is a symlink` };
  if (!st.isDirectory()) return { finding: `${dir} is not a directory`, problem: `rendezvous path ${dir} is not a directory` };
  if (st.uid !== uid) return { finding: `${dir} owned by uid ${st.uid}`, problem: `rendezvous directory ${dir} belongs to uid ${st.uid}, not ${uid}` };
  if ((st.mode & 0o077) !== 0) return { finding: `${dir} mode ${mode}`, problem: `rendezvous directory ${dir} has mode ${mode}, expected 700` };
  return { finding: `${dir} ok (mode ${mode}, ours)`, problem: null };
}

/** `via-net doctor` for shm: the addon, the namespace, the rendezvous directory. */
export function diagnoseShm(): Diagnosis {
  const checks: Record<string, string> = {};
  const { binding, error } = loadNative();
  checks.addon = binding ? 'loaded' : `not loaded: ${error}`;
  let reason: string | null = binding ? null : `native addon unavailable: ${error}`;
  if (binding) {
    try {
      checks.netns = `net namespace inode ${binding.netns()}`;
    } catch (err) {
      checks.netns = `unknown: ${(err as Error).message}`;
    }
  }
  const dir = rendezvousDirProblem(baseDir());
  checks['rendezvous dir'] = dir.finding;
  reason ??= dir.problem;
  return { reason, checks };
}

/** `via-net doctor` for verbs: the addon, the devices, rdma_cm. */
export function diagnoseVerbs(): Diagnosis {
  const checks: Record<string, string> = {};
  const loaded = loadVerbsBinding();
  checks.addon = loaded.binding
    ? `compiled in (${verbsAddonPath()})`
    : `not available: ${loaded.error}`;
  const status = verbsStatus();
  if (loaded.binding) checks.devices = status.devices.length ? status.devices.join(', ') : 'none';
  if (status.context) checks.rdma_cm = 'event channel open';
  return { reason: status.reason, checks };
}
