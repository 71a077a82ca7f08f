'use strict';
/**
 * Progress on stderr: one line redrawn with \r on a TTY, otherwise a plain line per phase
 * (logs and CI get something readable, not a wall of carriage returns).
 */

class Progress {
  constructor({ stream = process.stderr, enabled = true } = {}) {
    this.stream = stream;
    this.enabled = enabled;
    this.tty = Boolean(stream.isTTY);
    this.total = 0;
    this.done = 0;
    this.label = '';
    this.lastPhase = '';
    this.lastDraw = 0;
    this.startedAt = Date.now();
  }

  setTotal(total) {
    this.total = total;
    this.startedAt = Date.now();
  }

  /** Plain message (its own line in both modes). */
  log(text) {
    if (!this.enabled) return;
    if (this.tty) this.stream.write(`\r\x1b[K${text}\n`);
    else this.stream.write(`${text}\n`);
    this.lastDraw = 0;
  }

  /** Advance by `n` units; `phase` changes print a plain line when not on a TTY. */
  tick(n, phase, label) {
    this.done += n;
    this.update(phase, label);
  }

  update(phase, label) {
    if (!this.enabled) return;
    this.label = label || '';
    if (!this.tty) {
      if (phase && phase !== this.lastPhase) {
        this.lastPhase = phase;
        this.stream.write(`[${this.percent().toFixed(0).padStart(3)}%] ${phase}\n`);
      }
      return;
    }
    const now = Date.now();
    if (now - this.lastDraw < 50 && this.done < this.total) return; // redraw at most 20 times/s
    this.lastDraw = now;
    const width = 28;
    const frac = this.total ? Math.min(1, this.done / this.total) : 0;
    const fill = Math.round(frac * width);
    const eta = frac > 0.02 ? Math.max(0, ((now - this.startedAt) / frac - (now - this.startedAt)) / 1000) : null;
    const cols = this.stream.columns || 100;
    let line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%`
      + `${eta === null ? '' : ` ~${Math.ceil(eta)}s left`} ${phase || ''} ${this.label}`;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.stream.write(`\r\x1b[K${line}`);
  }

  percent() {
    return this.total ? Math.min(100, (100 * this.done) / this.total) : 0;
  }

  finish() {
    if (this.enabled && this.tty) this.stream.write('\r\x1b[K');
  }
}

module.exports = { Progress };
