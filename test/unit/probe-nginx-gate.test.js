// Issue #15, nginx rows of the real-limiter bench (BENCHMARKS.md, "Real limiters"): what the rate part
// saw of limit_conn, a concurrency batch whose lone retry came after limit_req refilled, and in-flight
// counts that race an answer leaving the server. Observations are the bench's own records, in seconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateConcurrency, judgeBatch } from '../../dist/probe/estimate-concurrency.js';
import { attributeRefusals, maxSurelyAcceptedInFlight, rateGateEvidence, suspectedGate } from '../../dist/probe/observation.js';

const T0 = Date.UTC(2026, 10, 30, 7, 50, 0);
let seq = 0;

/** "t:status/inFlight~latency" as the bench prints its records (t and latency in seconds). */
function records(text) {
  return text.split(' ').map((r) => {
    const [, t, status, inFlight, latency] = /^([\d.]+):(\d+)\/(\d+)~([\d.]+)$/.exec(r) ?? [];
    const sentAt = T0 + Number(t) * 1000;
    seq += 1;
    return { seq, sentAt, receivedAt: sentAt + Number(latency) * 1000, status: Number(status), outcome: status === '200' ? 'ok' : 'rate_limited', policies: [], retryAfterSeconds: null, inFlight: Number(inFlight) };
  });
}

// nginx 30r/m burst=5 nodelay conn=3, 1.5 s, main at 039c714, run #1 (the rate part's 12 answers): the
// request sent at 2.50 s went out while the client still counted the one sent at 1.00 s, whose answer left
// nginx at 2.50 and arrived 2.5 ms later; nginx had 3 in flight, the client counted 4.
const RUN_1 = '0.00:200/1~1.5147 1.00:200/2~1.5025 1.50:200/3~1.5041 2.00:200/3~1.5031 2.50:200/4~1.5023 3.00:429/4~0.0008 3.50:200/3~1.5029 4.01:200/3~1.5016 5.01:429/2~0.0009 5.51:429/1~0.0007 6.42:200/1~1.5024 6.92:429/2~0.0008';

describe('in flight on the server, not in the client', () => {
  it('an answer that reached us within 20 ms of a send does not count as in flight with it', () => {
    const obs = records(RUN_1);
    assert.equal(maxSurelyAcceptedInFlight(obs), 3);
    assert.equal(suspectedGate(obs), 3);
    // The refusal at 3.00 s (4 in flight, the next accepted) is limit_conn's, not the rate limit's.
    assert.equal(attributeRefusals(obs)[5].outcome, 'capacity');
  });
});

describe("the rate part's evidence of a concurrency gate", () => {
  it('3 in flight accepted, the 4th refused, then more accepted than an empty bucket gives back: 3', () => {
    // After the refusal at 3.00 s: accepted at 3.50 and 4.01 s; 30/min gives back at most 1 + 0.6 by then.
    assert.deepEqual(rateGateEvidence(records(RUN_1), 30)?.inFlight, 3);
  });

  it('not when no more were accepted after the crowded refusal than an empty bucket could give back', () => {
    const obs = records('0.00:200/1~1.6 0.50:200/2~1.6 1.00:200/3~1.6 1.50:429/4~0.001 3.50:200/1~1.6 4.00:429/2~0.001');
    assert.equal(rateGateEvidence(obs, 30), null);
  });

  it('not a rate refusal that raced an answer (nginx 10r/s burst=20 conn=3, 100 ms: it said "2 exact")', () => {
    // The bench on nginx15 (before this check): sends 50 ms apart, answers in 100 ms; limit_req refused
    // at 2.18 s (lr=REJECTED) with 3 counted in flight, the answer of 2.08 s leaving nginx as it arrived.
    // One accepted request 50 ms later is what a bucket a fraction short gives back.
    const obs = records('1.98:200/3~0.1012 2.03:200/3~0.1013 2.08:200/3~0.1035 2.13:200/3~0.1011 2.18:429/3~0.0021 2.23:200/2~0.1039 2.28:429/2~0.0008 2.50:200/1~0.1025 2.60:200/1~0.1019 2.65:200/2~0.1015 2.71:200/2~0.1014 2.76:200/2~0.1012 2.81:429/2~0.0012');
    assert.equal(maxSurelyAcceptedInFlight(obs), 2);
    assert.equal(rateGateEvidence(obs, 609), null);
  });

  it('a crowded refusal when the rate limit never refused anything (rate unknown)', () => {
    // nginx 10r/s burst=20 conn=3, 300 ms: 0 limit_req refusals, the cap refused the 4th in flight.
    const obs = records('0.00:200/1~0.31 0.15:200/2~0.301 0.20:200/3~0.3065 0.25:429/4~0.0088 0.45:200/2~0.3025');
    assert.equal(rateGateEvidence(obs, null)?.inFlight, 3);
  });

  it('none without a crowded refusal', () => {
    assert.equal(rateGateEvidence(records('0.00:200/1~1.5 0.50:200/2~1.5 1.00:429/2~0.001 1.50:200/1~1.5 1.60:200/2~1.5 1.70:200/3~1.5'), 60), null);
  });
});

describe('a concurrency batch against a bucket that may have refilled before its lone retry', () => {
  // main at 039c714, run #1: a batch of 2 at 9.67 s met one token of nginx's bucket (limit_req refused the
  // other), the lone retry went out 1.56 s later, when a token had come back (one per 2 s), and the probe
  // said "at most 1 in flight, exact". The rate part had had 3 in flight, all accepted.
  const [accepted, refused, lone] = records('9.67:200/1~1.5542 9.67:429/2~0.0006 11.23:200/1~1.5059');
  const trial = { size: 2, responses: [accepted, refused], lone };

  it('is not the gate when the rate part had more in flight accepted and the lone came after one refill', () => {
    assert.equal(judgeBatch(trial).kind, 'concurrency');
    assert.equal(judgeBatch(trial, 1600, 3).kind, 'late-lone');
    // The rate part saw no more in flight than the batch got, or the rate limit's spacing is unknown: the gate, as before.
    assert.equal(judgeBatch(trial, 1600, 1).kind, 'concurrency');
    assert.equal(judgeBatch(trial, null, 3).kind, 'concurrency');
  });

  it('the rate part saw the gate: its 3, exact; without it, no exact figure', () => {
    const withGate = estimateConcurrency([trial], 8, null, { gate: 3, refillMs: 1600, inFlight: 3 });
    assert.deepEqual([withGate.limit, withGate.bound], [3, 'exact']);
    assert.match(withGate.explanation, /During the rate part 3 requests in flight were all accepted and one more was refused.*lone retry came after the rate limit could have given one back/);
    const without = estimateConcurrency([trial], 8, null, { gate: null, refillMs: 1600, inFlight: 3 });
    assert.notEqual(without.bound, 'exact');
    assert.match(without.explanation, /could have given one back: the 429s may have been the rate limit's/);
  });
});

describe("the rate part's gate when the batches stop short of it", () => {
  const ok = (t) => records(`${t}:200/1~1.5`)[0];
  it('a batch of 2 passed, the batch of 4 did not fit the bucket: 3 exact from the rate part (was "at least 2")', () => {
    // The baseline runs #1 and #2 (load 10–19): "a batch of 4 is larger than the rate limit allows at once".
    const trials = [{ size: 2, responses: [ok(20), ok(20)], lone: null }];
    const stopped = 'a batch of 4 is larger than the rate limit allows at once';
    assert.deepEqual([estimateConcurrency(trials, 8, stopped).limit, estimateConcurrency(trials, 8, stopped).bound], [2, 'at-least']);
    const estimate = estimateConcurrency(trials, 8, stopped, { gate: 3, refillMs: 1600, inFlight: 3 });
    assert.deepEqual([estimate.limit, estimate.bound, estimate.testedUpTo], [3, 'exact', 4]);
    assert.match(estimate.explanation, /a batch of 2 all succeeded\); larger batches were not sent \(a batch of 4 is larger/);
  });

  it('no batch at all (the rate limit not known well enough): the rate part\'s gate', () => {
    const estimate = estimateConcurrency([], 8, 'the rate limit is not known well enough to keep a batch of 2 clear of it', { gate: 3, refillMs: null, inFlight: 3 });
    assert.deepEqual([estimate.limit, estimate.bound], [3, 'exact']);
  });

  it('never against a batch that fully passed above it, nor above the cap the user allowed', () => {
    const trials = [{ size: 4, responses: [ok(20), ok(20), ok(20), ok(20)], lone: null }];
    assert.deepEqual(estimateConcurrency(trials, 4, null, { gate: 3, refillMs: 1600, inFlight: 3 }).bound, 'at-least');
    assert.deepEqual(estimateConcurrency([], 2, 'x', { gate: 3, refillMs: 1600, inFlight: 3 }).bound, 'unknown');
  });
});

describe('the refill rate when limit_conn refusals spent tokens (nginx runs limit_req first)', () => {
  it('the upper bound keeps the true rate (30/min = 0.5/s): a conn refusal between two 429s may have spent a token', async () => {
    const { behaviourRateInterval } = await import('../../dist/probe/refill.js');
    // nginx15 d8c1dbf, 30r/m burst=5 conn=3, 1.5 s, run #2 at load 6–8: "26.1/min". Between the refusals
    // at 7.50 and 17.87 s four requests were accepted and one (16.86 s, lr=PASSED lc=REJECTED) spent a
    // token too: counting only the four put the rate under 0.452/s.
    const obs = attributeRefusals(records('0.00:200/1~1.5573 1.06:200/2~1.5087 1.58:200/2~1.5046 2.08:200/3~1.5245 2.58:200/3~1.5055 3.09:200/3~1.5027 3.60:200/4~1.5172 4.10:200/3~1.5305 4.60:429/3~0.0006 5.63:429/1~0.0097 6.19:200/1~1.5108 6.81:429/2~0.0007 7.50:429/2~0.0084 15.36:200/1~1.5131 15.86:200/2~1.5722 16.36:200/3~1.5200 16.86:429/4~0.0029 17.36:200/3~1.5178 17.87:429/3~0.0010 25.43:200/1~1.5158 25.94:200/2~1.5043 26.44:200/3~1.5145 26.96:200/3~1.5108 27.48:200/3~1.5051 27.98:429/3~0.0097'));
    assert.equal(obs.filter((o) => o.outcome === 'capacity').length, 1);
    const interval = behaviourRateInterval(obs);
    assert.ok(interval !== null && interval.lo <= 0.5 && interval.hi >= 0.5, JSON.stringify(interval));
  });
});
