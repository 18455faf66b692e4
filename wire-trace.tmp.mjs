// throwaway: one probe run against a recorder child; prints per-send trace
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
const epochNow = () => performance.timeOrigin + performance.now();
if (process.argv[2] === 'rec') {
  const arr = [];
  const server = createServer((req, res) => { arr.push(epochNow()); req.resume(); req.on('end', () => { res.writeHead(200, {'content-type':'application/json'}); res.end('{"choices":[]}'); }); });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => { if (m === 'take') { process.send({ arr: arr.splice(0) }); } else { server.closeAllConnections(); server.close(); process.disconnect(); } });
} else {
  const child = fork(new URL(import.meta.url).pathname, ['rec']);
  const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
  for (let i = 0; i < 30; i++) await (await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: '{}' })).text();
  child.send('take'); await new Promise((r) => child.once('message', r));
  const rpm = process.argv[2] ?? '600', n = process.argv[3] ?? '40';
  const cli = spawn(process.execPath, ['/work/wt-wire/bin/chutes-diag.js', 'probe', '--base-url', `http://127.0.0.1:${port}`, '--model', 'x', '--rpm', rpm, '--max-requests', n, '--concurrency', 'off', '--json', '--yes'], { env: { ...process.env, WIRE_TRACE: '1', CHUTES_API_KEY: 'cpk_x.y.z' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = ''; cli.stderr.on('data', (d) => (err += d)); cli.stdout.resume();
  await new Promise((r) => cli.on('close', r));
  child.send('take'); const { arr } = await new Promise((r) => child.once('message', r));
  child.send('stop');
  const lines = err.split('\n').filter((l) => l.startsWith('TRACE'));
  let prevWire = null;
  lines.forEach((l, i) => {
    const o = Object.fromEntries(l.split(' ').slice(2).map((kv) => kv.split('=')));
    const a = arr[i] % 100000;
    const wire = Number(o.wire);
    console.log(`${String(i+1).padStart(3)} slot ${o.slot} at-slot ${(o.at-o.slot).toFixed(2)} disp-at ${(o.disp-o.at).toFixed(2)} wire-disp ${(wire-o.disp).toFixed(2)} arr-wire ${(a-wire).toFixed(2)} arr-slot ${(a-o.slot).toFixed(2)} gapWire ${prevWire===null?'':(wire-prevWire).toFixed(2)} ${o.nc}`);
    prevWire = wire;
  });
  const other = err.split('\n').filter((l) => l && !l.startsWith('TRACE'));
  if (other.length) console.log(other.join('\n'));
}
