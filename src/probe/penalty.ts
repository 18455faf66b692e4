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

/** The penalty box seen in these answers (attributed: a concurrency gate's 429s are not refusals), or null. */
export function detectPenalty(observations: readonly Observation[]): Penalty | null {
  const sorted = [...observations].sort(bySendTime);
  const bans = pushedRecovery(sorted) ?? escalatingBlocks(sorted);
  return bans === null ? null : { escalating: true, observedBanSeconds: bans };
}
