/**
 * Is a target address on this host? Only then may a user-level provider reach it
 * (shm shares memory; the peer must be in this network namespace).
 */
import { isIP } from 'net';
import { networkInterfaces } from 'os';

/** Interface addresses change rarely; re-read them at most this often. */
const INTERFACE_CACHE_MS = 1000;
let cachedAt = -Infinity;
let cached = new Set<string>();

function localInterfaceAddresses(): Set<string> {
  const now = Date.now();
  if (now - cachedAt > INTERFACE_CACHE_MS) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) set.add(stripZone(info.address).toLowerCase());
    }
    cached = set;
    cachedAt = now;
  }
  return cached;
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct === -1 ? address : address.slice(0, pct);
}

/** '::ffff:1.2.3.4' -> '1.2.3.4'; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

export function isLoopback(address: string): boolean {
  const a = unmapIPv4(stripZone(address)).toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** True for loopback addresses and addresses of this host's interfaces. */
export function isLocalAddress(address: string): boolean {
  if (!isIP(address)) return false;
  if (isLoopback(address)) return true;
  const a = unmapIPv4(stripZone(address)).toLowerCase();
  return localInterfaceAddresses().has(a);
}
