// doctor's reachability check, the one part that talks to the network below HTTP: a DNS lookup,
// then one TCP connection (with a TLS handshake for https), each failure named by its layer.
import { lookup } from 'node:dns/promises';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls } from 'node:tls';
import { proxyEnvName } from '../http/client.js';
import { check, type Check } from './checks.js';

/** Resolves the host (skipped for an IP literal), then opens one TCP connection, with a TLS handshake for https. */
export async function checkReachable(id: 'inference-reachable' | 'management-reachable', url: URL, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Check> {
  const proxy = proxyEnvName(env);
  if (proxy !== null) return check(id, 'skip', `${proxy} is set: ${url.host} is reached through the proxy, so a direct connection is not tested.`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const what = id === 'inference-reachable' ? '--base-url' : '--api-base-url';
  let address = hostname;
  let resolved = 'is an IP address (no DNS lookup)';
  if (isIP(hostname) === 0) {
    try {
      const found = await lookup(hostname);
      address = found.address;
      resolved = `resolves to ${found.address}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
      return check(id, 'fail', `${hostname} does not resolve (DNS ${code}).`, `Check the host name in ${what} and your DNS: nslookup ${hostname}.`);
    }
  }
  const tls = url.protocol === 'https:';
  const port = Number(url.port || (tls ? 443 : 80));
  const started = performance.now();
  try {
    await openConnection(address, port, tls ? hostname : null, timeoutMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const layer = tls && code !== 'ECONNREFUSED' && code !== 'ETIMEDOUT' && !/^E(HOST|NET)UNREACH$/.test(code) ? 'TLS' : 'TCP';
    const hint = code === 'ERR_SSL_WRONG_VERSION_NUMBER'
      ? `The server does not speak TLS on port ${port}: use http:// or the right port in ${what}.`
      : layer === 'TLS'
        ? 'A proxy or antivirus may intercept TLS: trust its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem (never disable verification).'
        : `Check the host and port in ${what}, and any firewall or VPN.`;
    return check(id, 'fail', `${url.host} ${resolved}, but the ${layer} connection failed (${code}).`, hint);
  }
  const ms = Math.round(performance.now() - started);
  return check(id, 'pass', `${url.host} ${resolved}; ${tls ? 'TLS handshake' : 'TCP connection'} in ${ms} ms.`);
}

function openConnection(address: string, port: number, servername: string | null, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = servername === null
      ? connectTcp({ host: address, port })
      : connectTls({ host: address, port, servername: isIP(servername) === 0 ? servername : undefined, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' })), timeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.once(servername === null ? 'connect' : 'secureConnect', () => done());
    socket.once('error', done);
  });
}
