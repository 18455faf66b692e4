// Small pure formatters shared by renderers, verdicts and the emulator (no dependencies).

/** "950ms", "12.3s", "4m05s", "3h12m": short and exact enough for a human. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—'; // NaN/Infinity from a library caller
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 59.95) return `${Number(seconds.toFixed(1))}s`;
  // Round first, then split, so 299.6 s reads "5m00s", not "4m60s".
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** Local wall-clock time of an instant, "14:03:27". */
export function formatLocalTime(epochMs: number): string {
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return '—'; // outside the range of a Date
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export function formatNumber(n: number | null): string {
  return n === null ? '—' : String(n);
}

/**
 * The instant a reset falls on: arrival + delay, to the whole millisecond. Arrival times carry
 * sub-millisecond fractions and resetSeconds is rounded to the millisecond, so the raw sum can land
 * a hair before a whole second and print one second early (23:59:59 for a 00:00 UTC reset).
 */
export function resetInstantMs(receivedAtMs: number, resetSeconds: number): number {
  return Math.round(receivedAtMs + resetSeconds * 1000);
}

/**
 * Chutes' daily quota resets at 00:00 UTC (chutes-facts.md, "Limits and quotas"): the one place
 * that instant is computed (the parser, `quota`, `doctor` and the emulator all call it).
 */
export function nextUtcMidnight(nowMs: number): Date {
  const d = new Date(nowMs);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}
