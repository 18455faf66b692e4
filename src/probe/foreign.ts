// Foreign usage: someone else spending the same allowance shows as `remaining` falling by more than our
// own accepted requests explain. Found as numbers; the warning's words are src/render/probe-explain.ts's.
import { headerModeOf } from './header-mode.js';
import { headerPoints, type HeaderPoint } from './header-series.js';
import { bySendTime, isAccepted, type Observation } from './observation.js';
import type { ForeignUsage } from './reasons.js';

/**
 * The first drop in `remaining` that our own accepted requests do not explain (null when none). Only
 * pairs where every earlier request of ours had already come back are compared, so the server counted
 * them before the later point.
 */
export function foreignUsage(observations: readonly Observation[]): ForeignUsage | null {
  const mode = headerModeOf(observations);
  if (mode.kind === 'none' || mode.kind === 'limit-only') return null;
  const points = headerPoints(observations, mode.policy).filter((p) => p.accepted);
  const sorted = [...observations].sort(bySendTime);
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1] as HeaderPoint;
    const c = points[i] as HeaderPoint;
    const settled = sorted.every((o) => o.sentAt > p.sentAt || o.receivedAt <= c.sentAt);
    if (!settled) continue;
    const own = sorted.filter((o) => isAccepted(o) && o.sentAt > p.sentAt && o.sentAt <= c.sentAt).length;
    const drop = p.remaining - c.remaining;
    if (drop > own) return { drop, fromSeq: p.seq, toSeq: c.seq, own };
  }
  return null;
}
