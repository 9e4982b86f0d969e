// One drain per peer at a time (the outgoing queue, the markers waiting for a gateway peer): while one runs,
// asking again returns it, and it looks at its work once more before it ends, so nothing queued meanwhile waits.

export class PerPeerDrain {
  private readonly running = new Map<string, Promise<void>>();

  /** `drain` never rejects, and calls ended(fp) in its finally, synchronously with its last look at its work. */
  constructor(private readonly drain: (fp: string) => Promise<void>) {}

  run(fp: string): Promise<void> {
    let running = this.running.get(fp);
    if (!running) {
      running = Promise.resolve().then(() => this.drain(fp));
      this.running.set(fp, running);
    }
    return running;
  }

  /** The drain of `fp` has looked at its work for the last time: a run asked for from now on starts a new one. */
  ended(fp: string): void {
    this.running.delete(fp);
  }
}
