#!/usr/bin/env node
/**
 * The `via-net` command. `via-net doctor [--json]` lists every transport (shm, verbs, tcp) and
 * why each is or is not usable on this machine, without changing anything: it creates no
 * directory, registers no listener and opens no connection.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNative } from './providers/native';
import { baseDir } from './providers/rundir';
import { loadVerbsBinding, verbsAddonPath, verbsStatus } from './providers/verbs-native';
import { internalsProblem } from './node-internals';

export interface TransportReport {
  name: 'shm' | 'verbs' | 'tcp';
  usable: boolean;
  /** Why it is not usable; null when it is. */
  reason: string | null;
  /** What was checked, as label → finding. */
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

function shmReport(): TransportReport {
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
  return { name: 'shm', usable: reason === null, reason, checks };
}

function verbsReport(): TransportReport {
  const checks: Record<string, string> = {};
  const loaded = loadVerbsBinding();
  checks.addon = loaded.binding
    ? `compiled in (${verbsAddonPath()})`
    : `not available: ${loaded.error}`;
  const status = verbsStatus();
  if (loaded.binding) checks.devices = status.devices.length ? status.devices.join(', ') : 'none';
  if (status.context) checks.rdma_cm = 'event channel open';
  return { name: 'verbs', usable: status.reason === null, reason: status.reason, checks };
}

function tcpReport(): TransportReport {
  return { name: 'tcp', usable: true, reason: null, checks: { 'node:net': 'always available (the LANE fallback)' } };
}

export function diagnose(): TransportReport[] {
  const reports = [shmReport(), verbsReport(), tcpReport()];
  // Without node's net internals the facade keeps every connection on TCP, whatever else works.
  for (const r of reports) {
    if (r.name === 'tcp') continue;
    r.checks['node internals'] = internalsProblem ?? `all present (node ${process.version})`;
    if (internalsProblem && r.usable) Object.assign(r, { usable: false, reason: internalsProblem });
  }
  return reports;
}

export function formatReport(reports: TransportReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(r.usable ? `${r.name}: available` : `${r.name}: unavailable (${r.reason})`);
    for (const [label, finding] of Object.entries(r.checks)) lines.push(`  ${label}: ${finding}`);
  }
  return lines.join('\n') + '\n';
}

const USAGE = 'usage: via-net doctor [--json]\n  doctor   list the transports (shm, verbs, tcp) and why each is or is not usable\n';

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === 'doctor') {
    const reports = diagnose();
    process.stdout.write(rest.includes('--json') ? JSON.stringify(reports, null, 2) + '\n' : formatReport(reports));
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  process.stderr.write(`via-net: unknown command '${command}'\n${USAGE}`);
  return 1;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
