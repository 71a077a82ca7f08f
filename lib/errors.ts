/**
 * The one place via-net builds coded errors: the facade's, the engine's, the providers' and the
 * path choice's. Wherever node:net has an error for the same mistake we let node raise it (by
 * calling into net.Socket / net.Server); these are only for what net cannot know: the user-level
 * transports, the engine's own failures, and their translation into node's errno shape.
 */
import { constants as osConstants } from 'os';

export const ERR_VIA_TRANSPORT_UNAVAILABLE = 'ERR_VIA_TRANSPORT_UNAVAILABLE';

export interface NodeStyleError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  cause?: unknown;
}

/**
 * Every coded error via-net creates is built here, so each has node's shape: `code` set, `name`
 * left as the class's, and for node's own `ERR_*` codes the code shown in the stack as node's
 * internal errors print it ("TypeError [ERR_INVALID_ARG_VALUE]: ..."). errno codes (ECONNRESET,
 * EPROTO...) print as plain errors, as node's errno errors do.
 */
export function codedError(code: string, message: string, Base: new (message?: string) => Error = Error): NodeStyleError {
  const err = new Base(message) as NodeStyleError;
  err.code = code;
  if (code.startsWith('ERR_')) {
    Object.defineProperty(err, 'stack', {
      value: (err.stack ?? '').replace(/^(\w*Error)/, `$1 [${code}]`),
      writable: true,
      configurable: true,
    });
  }
  return err;
}

/** node's ERR_INVALID_ARG_TYPE for an option, with node's wording. */
export function invalidArgType(name: string, expected: string, value: unknown): NodeStyleError {
  return codedError('ERR_INVALID_ARG_TYPE', `The "${name}" option must be of type ${expected}. Received ${typeof value}`, TypeError);
}

/** node's ERR_OUT_OF_RANGE for an integer option. */
export function outOfRange(name: string, min: number, max: number, value: unknown): NodeStyleError {
  return codedError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be an integer >= ${min} && <= ${max}. Received ${value}`, RangeError);
}

/** A forced user-level transport (option or VIA_NET_TRANSPORT) could not be had. Never silently replaced by TCP. */
export function transportUnavailable(transport: string, reason: string, cause?: unknown): NodeStyleError {
  const err = codedError(
    ERR_VIA_TRANSPORT_UNAVAILABLE,
    `via-net: transport '${transport}' is unavailable: ${reason}`,
  );
  if (cause !== undefined) err.cause = cause;
  return err;
}

/** Same shape and wording as node's ERR_INVALID_ARG_VALUE for an option. */
export function invalidArgValue(name: string, value: unknown, reason: string): NodeStyleError {
  const kind = name.includes('.') ? 'property' : 'argument';
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value}'` : require('util').inspect(value);
  } catch {
    shown = String(value);
  }
  return codedError('ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`, TypeError);
}

/**
 * What node reports when a TCP read fails with an errno (e.g. 'read ECONNRESET', errno -104):
 * engine failures are re-shaped into this so handlers that test `err.code`/`err.syscall` see TCP's errors.
 */
export function errnoError(code: string, syscall: string, cause?: unknown): NodeStyleError {
  const errnos = osConstants.errno as Record<string, number | undefined>;
  const err = codedError(code, `${syscall} ${code}`);
  if (errnos[code] !== undefined) err.errno = -(errnos[code] as number);
  err.syscall = syscall;
  if (cause !== undefined && cause !== err) err.cause = cause;
  return err;
}

/**
 * Turn an engine/provider error into the error a TCP socket would have emitted for the same event
 * (`syscall` is 'read' for errors found while receiving, 'write' or 'shutdown' for failed sends).
 */
export function fromEngineError(err: Error & { code?: string }, syscall = 'read'): NodeStyleError {
  if ((err as NodeStyleError).syscall !== undefined) return err as NodeStyleError; // already node-shaped
  const code = err.code ?? 'ECONNRESET';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT') {
    return errnoError(code, syscall, err);
  }
  return Object.assign(err, { code }) as NodeStyleError;
}
