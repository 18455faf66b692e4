// Option parsing for mock's edge-ban flags (--ban-base, --ban-max, --edge-window). Small and free of
// the emulator's modules, so the CLI can load it eagerly: the ban's usual scale runs to days.
import { InvalidArgumentError } from 'commander';
import { numberParser, parsePositiveDurationMs } from '../options.js';

const DAY_MS = 86_400_000;
/** The longest any duration option accepts (options.ts): 7 days. */
const MAX_MS = 7 * DAY_MS;

/** A positive duration as parseDurationMs takes it ("3s", "2m", "1h"), plus days ("1d", "1.5d"). */
export function parseBanDurationMs(value: string): number {
  const days = /^\s*(\d+(?:\.\d+)?)\s*d\s*$/.exec(value);
  if (days === null) return parsePositiveDurationMs(value);
  const ms = Number(days[1]) * DAY_MS;
  if (!(ms > 0 && ms <= MAX_MS)) throw new InvalidArgumentError('Expected a duration greater than zero and at most 7 days (7d).');
  return ms;
}

/** --ban-growth: a factor from 1 (every ban as long as the first) to 1000. */
export const parseBanGrowth: (value: string) => number = numberParser(1, 1000);
