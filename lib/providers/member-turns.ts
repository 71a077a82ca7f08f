/**
 * Which of a cluster's workers a client asks next. node's primary hands TCP connections to its
 * workers round-robin by default; a client here does the same with the workers' member entries
 * (shared-name.ts), one further on each connect to a name. Each process starts at a random
 * place, so that many short-lived clients do not all begin with the same worker.
 */
import { members } from './shared-name';

/** How long the list found by a liveness look stays good for the connect that follows it. */
const PLANNED_MS = 1000;

export class MemberTurns {
  private readonly turns = new Map<string, number>();
  private planned: { file: string; list: string[]; at: number } | null = null;

  /** The member entries of the cluster-served name whose plain entry is `file`, in turn. */
  next(file: string): string[] {
    const list = members(file);
    if (list.length === 0) return list;
    const turn = this.turns.get(file) ?? Math.floor(Math.random() * 0x7fffffff);
    this.turns.set(file, (turn + 1) % 0x7fffffff);
    const start = turn % list.length;
    return list.slice(start).concat(list.slice(0, start));
  }

  /**
   * Does a live worker stand behind the marker at `file`? A cluster killed without a chance to
   * clean up (SIGTERM, SIGKILL) leaves its marker and members behind, and a client must then take
   * TCP at once, as for any stale entry. The list is kept for the connect that follows, so the
   * directory is read once per connect.
   */
  anyLive(file: string, entryLive: (file: string) => boolean): boolean {
    const list = this.next(file);
    if (!list.some(entryLive)) return false;
    this.planned = { file, list, at: Date.now() };
    return true;
  }

  /** The list anyLive() just found for `file`, once; null when there is none (look again). */
  takePlanned(file: string): string[] | null {
    const planned = this.planned;
    if (planned === null || planned.file !== file) return null;
    this.planned = null;
    return Date.now() - planned.at < PLANNED_MS ? planned.list : null;
  }
}
