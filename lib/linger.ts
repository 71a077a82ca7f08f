/**
 * Deadlines for things that finish on their own in the background, such as a destroyed
 * connection completing its close handshake: one timer for all of them. A short connection
 * would otherwise create a timer and clear it again within the same few hundred microseconds,
 * and that pair cost more than the rest of its close.
 *
 * Every deadline is the same distance ahead, so the order items were added in is the order of
 * their deadlines: the timer is armed for the oldest one only.
 */
/**
 * How long a connection closed in the background (a socket destroyed gracefully, a connection a
 * server dropped) may wait for the peer's FIN/FINACK before it is reset.
 */
export const CLOSE_LINGER_MS = 30_000;

export class Deadlines<T> {
  /** Deadline (performance.now() ms) per waiting item, oldest first. */
  private readonly waiting = new Map<T, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ms: number,
    private readonly expire: (item: T) => void,
  ) {}

  /** `expire(item)` runs in `ms` unless `delete(item)` comes first. Never holds the process. */
  add(item: T): void {
    this.waiting.delete(item);
    this.waiting.set(item, performance.now() + this.ms);
    if (this.timer === null) this.arm(this.ms);
  }

  delete(item: T): void {
    this.waiting.delete(item);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.sweep(), ms);
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = null;
    const now = performance.now();
    for (const [item, deadline] of this.waiting) {
      if (deadline > now) {
        this.arm(Math.ceil(deadline - now));
        return;
      }
      this.waiting.delete(item);
      this.expire(item);
    }
  }
}
