// One running emulator: the request log, the counters and the in-flight tally both listeners share,
// and the handler that hands each request to its role (inference.ts or management.ts) and sends the
// answer. Any failure becomes a 500, never a crashed emulator.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DETAIL, EDGE_HEADERS, detailResponse, type CannedResponse, type HeaderMap } from './chutes.js';
import { Accounts } from './accounts.js';
import { EdgeBan, type EdgeBanState } from './edge-ban.js';
import { routeInference, type InferenceContext } from './inference.js';
import { routeManagement } from './management.js';
import { pathOf } from './request.js';
import type { Settings } from './settings.js';

export interface Arrival {
  /** performance.now() ms at request arrival. */
  t: number;
  /** The emulator's clock (options.now, default Date.now) at arrival. */
  wall: number;
  path: string;
  /** 0 until a response is sent (stays 0 if the client went away first). */
  status: number;
  listener: 'llm' | 'api';
}

export interface EmulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  maxInFlight: number;
  /** The edge ban's state now; absent when the emulator runs without one. */
  edgeBan?: EdgeBanState;
}

type Listener = Arrival['listener'];

export class EmulatorRuntime {
  readonly arrivals: Arrival[] = [];
  private readonly accounts: Accounts;
  private readonly byStatus: Record<string, number> = {};
  private readonly pendingDelays = new Set<() => void>();
  private readonly inference: InferenceContext;
  private readonly edgeBan: EdgeBan | null;
  private requests = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private closed = false;

  constructor(private readonly settings: Settings) {
    this.accounts = new Accounts(settings);
    this.edgeBan = settings.edgeBan === null ? null : new EdgeBan(settings.edgeBan);
    this.inference = {
      settings,
      accounts: this.accounts,
      edgeBan: this.edgeBan,
      chuteId: randomUUID(),
      delay: (ms) => this.delay(ms),
      isClosed: () => this.closed,
    };
  }

  stats(): EmulatorStats {
    const stats: EmulatorStats = { requests: this.requests, byStatus: { ...this.byStatus }, maxInFlight: this.maxInFlight };
    if (this.edgeBan !== null) stats.edgeBan = this.edgeBan.state(this.settings.now());
    return stats;
  }

  /** Keeps the log bounded: past the cap, the oldest tenth goes at once (amortised, not one shift per request). */
  private record(arrival: Arrival): void {
    this.requests += 1;
    this.arrivals.push(arrival);
    const max = this.settings.maxArrivals;
    if (this.arrivals.length > max) this.arrivals.splice(0, this.arrivals.length - max + Math.floor(max / 10));
  }

  /** Stop waiting handlers at once; their sockets are about to be destroyed. */
  shutdown(): void {
    this.closed = true;
    for (const wake of this.pendingDelays) wake();
    this.pendingDelays.clear();
  }

  /** The request handler of one listener: log the arrival, route it, send the answer. */
  handler(listener: Listener): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const arrival: Arrival = { t: performance.now(), wall: this.settings.now(), path: pathOf(req), status: 0, listener };
      this.record(arrival);
      this.trackInFlight(res);
      const route =
        listener === 'llm'
          ? routeInference(this.inference, req, res, arrival.path)
          : routeManagement(this.settings, this.accounts, req, arrival.path);
      route
        .then((response) => {
          if (response !== null) this.send(res, arrival, response);
        })
        .catch(() => this.failSafely(res, arrival));
    };
  }

  private trackInFlight(res: ServerResponse): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
    });
  }

  private send(res: ServerResponse, arrival: Arrival, response: CannedResponse): void {
    if (res.headersSent || res.destroyed) return;
    const headers: HeaderMap =
      arrival.listener === 'llm' ? { ...EDGE_HEADERS, ...response.headers } : { ...response.headers };
    headers['content-length'] = String(Buffer.byteLength(response.body));
    arrival.status = response.status;
    this.byStatus[response.status] = (this.byStatus[response.status] ?? 0) + 1;
    res.writeHead(response.status, headers);
    res.end(response.body);
  }

  /** Any bug or I/O error becomes a 500, never a crashed emulator. */
  private failSafely(res: ServerResponse, arrival: Arrival): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      this.send(res, arrival, detailResponse(500, DETAIL.internal));
    } catch {
      res.destroy();
    }
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.pendingDelays.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pendingDelays.add(wake);
    });
  }
}
