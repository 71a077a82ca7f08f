#!/usr/bin/env node
/**
 * The `via-net` command. `via-net doctor [--json]` lists every transport (shm, verbs, tcp) and
 * why each is or is not usable on this machine, without changing anything: it creates no
 * directory, registers no listener and opens no connection.
 */
import { PROVIDERS } from './providers';
import { internalsProblem } from './node-internals';

export interface TransportReport {
  /** A provider's name, or 'tcp'. */
  name: string;
  usable: boolean;
  /** Why it is not usable; null when it is. */
  reason: string | null;
  /** What was checked, as label → finding. */
  checks: Record<string, string>;
}

function tcpReport(): TransportReport {
  return { name: 'tcp', usable: true, reason: null, checks: { 'node:net': 'always available (the LANE fallback)' } };
}

export function diagnose(): TransportReport[] {
  const reports: TransportReport[] = PROVIDERS.map((entry) => {
    const { reason, checks } = entry.diagnose();
    return { name: entry.name, usable: reason === null, reason, checks };
  });
  reports.push(tcpReport());
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
