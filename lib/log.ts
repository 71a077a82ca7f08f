/**
 * Debug logging under the `via-net:*` namespaces, through the `debug` package whenever the DEBUG
 * environment variable asks for any logging at all. Loading `debug` (with supports-color and
 * tty) is about a fifth of via-net's load time and a third of the heap it adds; a process started
 * without DEBUG, the common case, gets loggers that do nothing and never loads it. Like `debug`
 * itself, this reads DEBUG once, when via-net is loaded.
 */
import type { Debugger } from 'debug';

/** What via-net's modules use of a `debug` logger. */
export type Logger = Pick<Debugger, 'enabled'> & ((formatter: unknown, ...args: unknown[]) => void);

const silent: Logger = Object.assign((): void => {}, { enabled: false });

export function logger(namespace: string): Logger {
  if (!process.env.DEBUG) return silent;
  return (require('debug') as typeof import('debug'))(namespace);
}
