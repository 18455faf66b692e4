// The penalty box: a limiter whose refusals lengthen the block (Chutes' edge bans: "the duration of the
// temporary 429 ban increases as the violations increase, up to a quite lengthy one day maximum"). A
// window or a token bucket gives the allowance back at a time no refusal moves; a penalty box restarts
// (and lengthens) the ban with each refused request, so every retest makes things worse. Read from the
// rate part's answers (send order, refusals attributed), pure; the probe stops provoking once it is seen.
//
// Two signs, either is enough:
//  - a pushed recovery: a refusal sent at or after the time the previous refusal said the allowance
//    would be back (its Retry-After, or its exhausted policy's reset) is refused again, with a hint at
//    least ESCALATION times longer. A window's own hint, obeyed, is never refused (a hint rounded down
//    gives a shorter second hint, not a longer one).
//  - recoveries that take longer after each refusal: MIN_EPISODES blocks with refused retests (first
//    refusal → first accepted request after it), each at least ESCALATION times longer than the one before. Two are not enough: a
//    fixed window's first recovery is short when the probe began late in a window.
// A block that never lets a retest through cannot be told from a long window without headers: that is
// what the refusal budget (--allow-refusals, 1 on Chutes) is for.
import { bySendTime, isAccepted, isRateLimited, type Observation } from './observation.js';
import { blockAfterLimit } from './refusals-count.js';
import { retryHint } from './retry-hint.js';

/** `estimate.rate.penalty` (cli-contract.md): refusals were seen to lengthen the block. */
export interface Penalty {
  escalating: boolean;
  /** The blocks seen, in seconds, oldest first (as stated by the hints, or timed from the recoveries). */
  observedBanSeconds: number[];
}

/** How much longer each block must be than the one before to count as escalating. */
const ESCALATION = 1.5;
/** Recovered blocks needed when only their durations (no hint) tell. */
const MIN_EPISODES = 3;
/** A send this close before a hint's instant counts as at it (our clock against the server's rounding). */
const HINT_SLACK_MS = 5;

const toSeconds = (ms: number) => Math.round(ms) / 1000;

/** A refusal obeyed its predecessor's hint and was refused with a longer one: the bans, else null. */
function pushedRecovery(sorted: readonly Observation[]): number[] | null {
  let chain: number[] = [];
  let prev: { at: number; seconds: number } | null = null;
  for (const o of sorted) {
    if (isAccepted(o)) {
      prev = null;
      chain = [];
      continue;
    }
    if (!isRateLimited(o)) continue;
    const hint = retryHint(o);
    if (!hint) continue;
    const seconds = (hint.at - o.receivedAt) / 1000;
    if (prev !== null && o.sentAt >= prev.at - HINT_SLACK_MS && seconds >= ESCALATION * prev.seconds && seconds > 0) {
      if (chain.length === 0) chain.push(prev.seconds);
      chain.push(seconds);
    } else if (prev !== null && o.sentAt >= prev.at - HINT_SLACK_MS) {
      chain = [];
    }
    prev = { at: hint.at, seconds };
  }
  return chain.length >= 2 ? chain.map((s) => toSeconds(s * 1000)) : null;
}

/**
 * Each block's length, first refusal to the first accepted request sent after it, for blocks that had a
 * refused retest (a refusal sent after the block's first refusal came back): only retests can lengthen a
 * penalty box, and a silent gap (a token bucket's refill stage) is the probe's own wait. Unrecovered
 * blocks are left out.
 */
export function recoveredBlocksMs(sorted: readonly Observation[]): number[] {
  const blocks: number[] = [];
  let firstRefusal: Observation | null = null;
  let retested = false;
  for (const o of sorted) {
    if (isRateLimited(o)) {
      if (firstRefusal === null) firstRefusal = o;
      else if (o.sentAt >= firstRefusal.receivedAt) retested = true;
    } else if (isAccepted(o) && firstRefusal !== null) {
      if (retested) blocks.push(o.sentAt - firstRefusal.sentAt);
      firstRefusal = null;
      retested = false;
    }
  }
  return blocks;
}

function escalatingBlocks(sorted: readonly Observation[]): number[] | null {
  const blocks = recoveredBlocksMs(sorted);
  if (blocks.length < MIN_EPISODES) return null;
  const tail = blocks.slice(-MIN_EPISODES);
  for (let i = 1; i < tail.length; i++) if (!((tail[i] as number) >= ESCALATION * (tail[i - 1] as number))) return null;
  return blocks.map(toSeconds);
}

/**
 * Refused retests pushed the recovery later (a window restarted by each refusal, @fastify/rate-limit's
 * `continueExceeding`): the answers fit no ordinary window and fit one that every refusal restarts
 * (refusals-count.ts). Only once two blocks were seen: a single block fits any long window.
 */
function restartedBlocks(sorted: readonly Observation[]): number[] | null {
  let blocks = 0;
  let refused = false;
  for (const o of sorted) {
    if (isRateLimited(o)) refused = true;
    else if (isAccepted(o) && refused) {
      blocks += 1;
      refused = false;
    }
  }
  if (blocks < 2 || blockAfterLimit(sorted)?.model !== 'restart') return null;
  const seen = recoveredBlocksMs(sorted);
  return seen.length > 0 ? seen.map(toSeconds) : null;
}

/** The penalty box seen in these answers (attributed: a concurrency gate's 429s are not refusals), or null. */
export function detectPenalty(observations: readonly Observation[]): Penalty | null {
  const sorted = [...observations].sort(bySendTime);
  const bans = pushedRecovery(sorted) ?? escalatingBlocks(sorted);
  if (bans !== null) return { escalating: true, observedBanSeconds: bans };
  // Each refusal restarts the block: retries lengthen it, though the block itself does not grow.
  const restarted = restartedBlocks(sorted);
  return restarted === null ? null : { escalating: false, observedBanSeconds: restarted };
}

/**
 * Retests while locked out (no accepted request since the last refusal). The ordinary ladder's steps grow
 * by a tenth of the time since its anchor: fine timing for a window's end, but against a block that every
 * refusal restarts (a penalty box) the lockout ends only once one step is a whole block long, ten times the
 * block (issue #15: 34 refusals in 106 s against a 10 s window). Once the lockout has outlasted the
 * patience (LOCKOUT_PATIENCE refused retests, and LOCKOUT_PATIENCE_RATIO times the run of accepted requests
 * before it, and LOCKOUT_PATIENCE_MS), each step is LOCKOUT_STEP_GROWTH times the one before: as in
 * wait/next-test.ts (BAN_SAFE_GROWTH), a step must outgrow a block that lengthens with each refusal, and ×4
 * gains ×2 per refused retest on one that doubles. The patience is what ordinary windows and sliding
 * logs that count refusals need of the fine ladder to be timed within ±15 % (test/unit/probe-real-limiters,
 * probe-strategy and probe-round-windows sweeps: a shorter patience, ×4 from 4× the burst or from 20 or 30 s,
 * put some of them off).
 * The refused retests then span more than the step that recovers, which is what tells a restarted block
 * from a long window in the next cycle (restartSafeFloor).
 */
export const LOCKOUT_PATIENCE = 8;
export const LOCKOUT_STEP_GROWTH = 4;
/** …and only once the lockout has lasted LOCKOUT_PATIENCE_RATIO times the allowance's run before it. */
export const LOCKOUT_PATIENCE_RATIO = 8;
/**
 * …and at least this long: a fast pace's short burst says little about how long its window is, and a
 * minute's window (Chutes' edge, the commonest round window) must still be timed by the fine ladder
 * (test/unit/probe-round-windows: 1-minute windows at 600 rpm went off with 30 s).
 */
export const LOCKOUT_PATIENCE_MS = 66_000;

/** Whether a lockout (its refusals, oldest first, in `sorted`) has outlasted the patience at `at`. */
function outlasted(sorted: readonly Observation[], lockout: readonly Observation[], at: number): boolean {
  if (lockout.length - 1 < LOCKOUT_PATIENCE) return false;
  const first = lockout[0] as Observation;
  // The run of accepted requests before the lockout: its first one anchors the ladder.
  let start = first.sentAt;
  for (let i = sorted.indexOf(first) - 1; i >= 0 && isAccepted(sorted[i] as Observation); i--) start = (sorted[i] as Observation).sentAt;
  return at - start >= Math.max(LOCKOUT_PATIENCE_RATIO * (first.sentAt - start), LOCKOUT_PATIENCE_MS);
}

/** The refusals of the current lockout (since the last accepted answer), oldest first; empty when not locked out. */
function currentLockout(sorted: readonly Observation[]): Observation[] {
  const out: Observation[] = [];
  for (const o of sorted) {
    if (isAccepted(o)) out.length = 0;
    else if (isRateLimited(o)) out.push(o);
  }
  return out;
}

/**
 * The next retest of a lockout: `planned` (the ordinary ladder) until LOCKOUT_PATIENCE retests were refused,
 * then one step LOCKOUT_STEP_GROWTH times the last (from `lastSend`, the latest rate send, answered or not).
 */
export function lockoutRetestAt(observations: readonly Observation[], planned: number, lastSend: number): number {
  const sorted = [...observations].sort(bySendTime);
  const lockout = currentLockout(sorted);
  if (!outlasted(sorted, lockout, lastSend)) return planned;
  const before = sorted.filter((o) => o.sentAt < lastSend).at(-1);
  const step = before === undefined ? 0 : lastSend - before.sentAt;
  return Math.max(planned, lastSend + step * LOCKOUT_STEP_GROWTH);
}

/**
 * Once a first lockout outlasted the patience (a block that refusals may restart): while locked out again,
 * no retest sooner than the step that ended the first lockout after the latest refusal. A restarted block
 * then ends at the first retest (one refusal, and the two cycles tell it from a window); a window or a
 * fixed block ends no later for it. Null: no such floor.
 */
export function restartSafeFloor(observations: readonly Observation[]): number | null {
  const sorted = [...observations].sort(bySendTime);
  const first = sorted.findIndex(isRateLimited);
  if (first < 0) return null;
  const recovery = sorted.findIndex((o, i) => i > first && isAccepted(o));
  if (recovery < 0) return null;
  const refused = sorted.slice(first, recovery).filter(isRateLimited);
  if (!outlasted(sorted, refused, (refused.at(-1) as Observation).sentAt)) return null;
  const step = (sorted[recovery] as Observation).sentAt - (refused.at(-1) as Observation).sentAt;
  const lockout = currentLockout(sorted.slice(recovery));
  return lockout.length === 0 ? null : (lockout.at(-1) as Observation).sentAt + step;
}
