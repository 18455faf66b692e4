// How the estimates round their figures: shared by the estimators (the numbers in the result) and the
// renderer of their reasons (the same numbers in the sentence), so both always agree.

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Milliseconds as seconds: two decimals below 10 s, one from there on. */
export function seconds(ms: number): number {
  return round(ms / 1000, ms >= 10_000 ? 1 : 2);
}

/** `limit` requests per `windowMs` as requests per minute, one decimal. */
export function perMinuteOf(limit: number, windowMs: number): number {
  return round((limit * 60_000) / windowMs, 1);
}
