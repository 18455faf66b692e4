// When a probe request really goes out. undici publishes `undici:request:create` while `request()` is
// being called (synchronously), and `undici:client:sendHeaders` when it writes the request head to the
// socket: after the connection is set up (TCP, TLS, a proxy's CONNECT), or a turn of the event loop later
// on an idle keep-alive connection. The probe counts its sends from then, not from when it handed them
// to the HTTP client: a first request that waited 30 ms for its connection reached the server 30 ms
// after the rate cap thought it had.
//
// A request tracked with a gate (runner.ts, stagesSends) is held when undici writes it: the socket is
// corked in the sendHeaders message (published synchronously just before undici's own cork, write,
// uncork, so its write stays buffered) and uncorked when the gate opens. The request then reaches the
// wire at its instant, with all the work of building it done before.
import diagnostics from 'node:diagnostics_channel';
import type { SendGate } from './runner.js';

/** `newConnection`: the request went out on a socket that carried none before (it waited for the set-up). */
type Report = (at: number, newConnection: boolean) => void;

export interface WireTracker {
  /**
   * Runs `start` (which must call undici's request() synchronously) and reports its request's write to
   * `report`; with a `gate`, the write is held until the gate opens (and reported then).
   */
  track<T>(report: Report, start: () => T, gate?: SendGate): T;
  close(): void;
}

export function trackWire(now: () => number): WireTracker {
  let current: { report: Report; gate: SendGate | undefined } | null = null;
  const pending = new WeakMap<object, { report: Report; gate: SendGate | undefined }>();
  const usedSockets = new WeakSet<object>();
  // Only the first request created inside track() is ours: through a proxy, undici then creates the
  // tunnel's CONNECT request (in the same call), whose write is not ours going out.
  const onCreate = (message: unknown): void => {
    const request = (message as { request?: object }).request;
    if (current === null || !request) return;
    pending.set(request, current);
    current = null;
  };
  const onHeaders = (message: unknown): void => {
    const { request, socket } = message as { request?: { method?: string }; socket?: object };
    // Every request written counts, ours or not (the warm-up's): a socket is new once. A proxy's CONNECT
    // does not: the tunnel it opens may carry the request on that same socket, still new.
    const newConnection = socket !== undefined && !usedSockets.has(socket);
    if (socket !== undefined && request?.method !== 'CONNECT') usedSockets.add(socket);
    const mine = request ? pending.get(request) : undefined;
    if (!request || !mine) return;
    pending.delete(request);
    const { report, gate } = mine;
    const held = socket as { cork?: () => void; uncork?: () => void } | undefined;
    if (gate && !gate.open && typeof held?.cork === 'function' && typeof held.uncork === 'function') {
      held.cork();
      gate.onOpen(() => {
        // Stamped as the write begins (the uncork is the write: tens of µs of system call); a socket
        // destroyed meanwhile has nothing left to send.
        const at = now();
        held.uncork?.();
        report(at, newConnection);
      });
      return;
    }
    report(now(), newConnection);
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:client:sendHeaders', onHeaders);
  return {
    track(report, start, gate) {
      current = { report, gate };
      try {
        return start();
      } finally {
        current = null;
      }
    },
    close() {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      diagnostics.unsubscribe('undici:client:sendHeaders', onHeaders);
    },
  };
}
