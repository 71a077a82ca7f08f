/**
 * The `onread` option of net.connect / new net.Socket on the user-level path.
 *
 * Over TCP node reads straight into the caller's buffer (or one its function returns) and calls
 * `callback(nread, buffer)` instead of emitting 'data'; a callback that returns false pauses
 * reading until the stream is resumed. The engine hands us whole packets, so a packet larger
 * than the buffer is given in buffer-sized pieces, as successive kernel reads would be, and
 * what is left when the callback pauses is kept for the next resume.
 */

type BufferSource = Uint8Array | (() => Uint8Array);

export interface OnreadOption {
  buffer: BufferSource;
  callback: (nread: number, buffer: Uint8Array) => unknown;
}

/** The option as node accepts it (anything else is ignored, as node ignores it), or null. */
export function parseOnread(options: unknown): OnreadOption | null {
  if (typeof options !== 'object' || options === null) return null;
  const onread = (options as { onread?: unknown }).onread;
  if (typeof onread !== 'object' || onread === null) return null;
  const { buffer, callback } = onread as { buffer?: unknown; callback?: unknown };
  if (!(buffer instanceof Uint8Array) && typeof buffer !== 'function') return null;
  if (typeof callback !== 'function') return null;
  return { buffer: buffer as BufferSource, callback: callback as OnreadOption['callback'] };
}

export class UserBufferReader {
  /** Bytes that arrived but were not yet given to the callback (it or pause() stopped reading). */
  private held: Buffer | null = null;
  /** socket.pause() was called, or the callback returned false: reading waits for resume(). */
  private paused = false;

  constructor(
    private readonly option: OnreadOption,
    /** Called with each piece's size, before the callback sees it (bytesRead). */
    private readonly counted: (n: number) => void,
  ) {}

  /** Gives `chunk` to the callback; false when reading paused (the rest is held). */
  deliver(chunk: Buffer): boolean {
    if (this.paused) {
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
      return false;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const source = this.option.buffer;
      const buf = typeof source === 'function' ? source() : source;
      if (!(buf instanceof Uint8Array) || buf.length === 0) {
        // node would have nowhere to read into either: it stops reading.
        this.held = chunk.subarray(offset);
        return false;
      }
      const n = Math.min(buf.length, chunk.length - offset);
      chunk.copy(buf, 0, offset, offset + n);
      offset += n;
      this.counted(n);
      if (this.option.callback(n, buf) === false) {
        // node pauses the socket implicitly; socket.resume() reads on.
        this.paused = true;
        this.held = offset < chunk.length ? chunk.subarray(offset) : null;
        return false;
      }
    }
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  /**
   * False while paused: the connection must not read on then, because held bytes may still be a
   * view of the packet whose space the engine gives back when it reads again.
   */
  accepting(): boolean {
    return !this.paused;
  }

  /** socket.resume(): gives what was held; false when the callback paused again. */
  resume(): boolean {
    this.paused = false;
    const held = this.held;
    if (!held) return true;
    this.held = null;
    return this.deliver(held);
  }
}
