// Simulated time for whole probes: timers fire in order of their instant; between timers every pending
// promise settles, so a run of hundreds of requests takes milliseconds and is exactly repeatable.

export class SimClock {
  constructor(t0) {
    this.t = t0;
    this.timers = [];
    this.ids = 0;
  }

  now = () => this.t;

  schedule(at, fn) {
    const timer = { at, fn, id: this.ids++ };
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1].at > at || (this.timers[i - 1].at === at && this.timers[i - 1].id > timer.id))) i--;
    this.timers.splice(i, 0, timer);
    return timer;
  }

  cancel(timer) {
    const i = this.timers.indexOf(timer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  sleep = (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        this.cancel(timer);
        resolve();
      };
      const timer = this.schedule(this.t + Math.max(0, ms), () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  /** What every simulated driveProbe takes: this clock, no busy-wait, a microtask yield (simYield). */
  driveOptions() {
    return { now: this.now, sleep: this.sleep, spinMs: 0, yieldToLoop: simYield };
  }

  /**
   * @template T
   * @param {Promise<T>} promise
   * @returns {Promise<T>}
   */
  async run(promise) {
    let done = false;
    /** @type {T} */
    let result;
    let error;
    promise.then((r) => { done = true; result = r; }, (e) => { done = true; error = e; });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) break;
      const timer = this.timers.shift();
      if (!timer) throw new Error('simulation deadlock: nothing scheduled and the probe has not finished');
      this.t = Math.max(this.t, timer.at);
      timer.fn();
    }
    if (error) throw error;
    return result;
  }
}

/**
 * The runner's yield after each send, on simulated time: a microtask, not a turn of the event loop, so the
 * clock (which advances on its own setImmediate) cannot move on before the runner has set its next timer.
 */
export const simYield = () => Promise.resolve();

/** Deterministic noise. */
export function random(seed) {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}


/**
 * A clock for code that only reads `now()` and awaits `sleep(ms)`: sleeping moves it on at once.
 * `sleeps` records every wait asked for.
 * @param {number} start epoch ms
 */
export function steppingClock(start) {
  /** @type {{ t: number, sleeps: number[], now: () => number, sleep: (ms: number) => Promise<void> }} */
  const clock = { t: start, sleeps: [], now: () => clock.t, sleep: async (ms) => {
    clock.sleeps.push(ms);
    clock.t += ms;
  } };
  return clock;
}
