// When a probe request really goes out. undici publishes `undici:request:create` while `request()` is
// being called (synchronously), and `undici:client:sendHeaders` when it writes the request head to the
// socket: after the connection is set up (TCP, TLS, a proxy's CONNECT), or a turn of the event loop later
// on an idle keep-alive connection. The probe counts its sends from then, not from when it handed them
// to the HTTP client: a first request that waited 30 ms for its connection reached the server 30 ms
// after the rate cap thought it had.
import diagnostics from 'node:diagnostics_channel';

/** `newConnection`: the request went out on a socket that carried none before (it waited for the set-up). */
type Report = (at: number, newConnection: boolean) => void;

export interface WireTracker {
  /** Runs `start` (which must call undici's request() synchronously) and reports its request's write to `report`. */
  track<T>(report: Report, start: () => T): T;
  close(): void;
}

export function trackWire(now: () => number): WireTracker {
  let current: Report | null = null;
  const pending = new WeakMap<object, Report>();
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
    const report = request ? pending.get(request) : undefined;
    if (!request || !report) return;
    pending.delete(request);
    report(now(), newConnection);
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:client:sendHeaders', onHeaders);
  return {
    track(report, start) {
      current = report;
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
