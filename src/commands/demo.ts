// `chutes-diag demo`: the whole tour against an in-process emulator — no key, no network.
// Each step is the real command, run through the same main() a user's shell would reach.
import { performance } from 'node:perf_hooks';
import type { Io, Stream } from '../render/io.js';
import type { CommandContext } from './common.js';

/** Obviously fake; the emulator accepts any cpk_ token. */
const DEMO_KEY = `cpk_${'0123456789abcdef'.repeat(2)}.${'fedcba9876543210'.repeat(2)}.DEMOkeyNOTrealDEMOkeyNOTreal0000`;

export const DEMO_LIMITER = { limit: 5, windowMs: 5_000, algorithm: 'fixed-window', concurrencyLimit: 2, latencyMs: 150 } as const;

export interface DemoStep {
  title: string;
  /** What the step shows, in one line, printed before it runs. */
  why: string;
  args: string[];
  /** The exit code this step should end with; a different one fails the demo. */
  expectExit: number;
  /** Run silently before the step (to set the scene), said in `why`. */
  before?: string[];
}

export function demoSteps(): DemoStep[] {
  return [
    {
      title: 'doctor, with the classic mistake',
      why: 'The key is sent as X-API-Key, which Chutes ignores: every request is anonymous and gets the edge 429.',
      args: ['doctor', '--auth', 'x-api-key'],
      expectExit: 1,
    },
    {
      title: 'doctor, fixed',
      why: 'The same key sent as Authorization: Bearer — every check passes.',
      args: ['doctor'],
      expectExit: 0,
    },
    {
      title: 'headers',
      why: 'One request: every rate-limit header, raw and parsed, and what the response means.',
      args: ['headers'],
      expectExit: 0,
    },
    {
      title: 'probe',
      why: 'Chutes states no window in its headers, and every refused request can lengthen an edge ban: the paced burst stops at its first refusal (the limit is the header\'s and the count before it; the window stays unmeasured). --yes: the emulated quota is not yours.',
      args: ['probe', '--rpm', '600', '--max-requests', '60', '--max-duration', '30s', '--yes'],
      expectExit: 0,
    },
    {
      title: 'wait-reset',
      why: `The demo first uses up the window (${DEMO_LIMITER.limit + 1} quick requests); wait-reset then retests with as few requests as possible until it resets.`,
      before: ['headers', '-n', String(DEMO_LIMITER.limit + 1)],
      args: ['wait-reset', '--interval', '1s', '--max-wait', '20s'],
      expectExit: 0,
    },
  ];
}

/** Collects what a step prints with --json, to embed its document. */
function captureStream(): Stream & { text: () => string } {
  let text = '';
  return { write: (chunk: string) => { text += chunk; return true; }, isTTY: false, text: () => text };
}

export async function runDemo(opts: { json?: boolean; color?: boolean }, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const { startEmulator } = await import('../emulator/server.js');
  const main = ctx.runCli;
  const emulator = await startEmulator({ port: 0, apiPort: 0, headers: 'chutes', dailyQuota: 200, ...DEMO_LIMITER });
  const env: NodeJS.ProcessEnv = { ...io.env, CHUTES_API_KEY: DEMO_KEY };
  // Flags, not env: commander reads option env vars from process.env, and flags show what to type.
  const hosts = ['--base-url', emulator.url, '--api-base-url', emulator.apiUrl];
  delete env.CHUTES_API_TOKEN;
  delete env.CHUTES_MODEL;
  delete env.GITHUB_ACTIONS;
  io.redactor.addSecret(DEMO_KEY);
  const started = performance.now();
  const results: Array<{ step: string; args: string[]; exitCode: number; expectedExitCode: number; seconds: number; document?: unknown }> = [];
  try {
    if (!io.json) printIntro(io, emulator.url, emulator.apiUrl);
    const steps = demoSteps();
    for (const [index, step] of steps.entries()) {
      if (signal.aborted) break;
      const stepStart = performance.now();
      if (step.before) await main(['node', 'chutes-diag', ...step.before, ...hosts, '--json'], { stdout: captureStream(), stderr: captureStream(), env });
      let exitCode: number;
      let document: unknown;
      if (io.json) {
        const stdout = captureStream();
        exitCode = await main(['node', 'chutes-diag', ...step.args, ...hosts, '--json'], { stdout, stderr: captureStream(), env });
        document = parseOrText(stdout.text());
      } else {
        io.print(`\n${io.color.bold.cyan(`Step ${index + 1}/${steps.length} — ${step.title}`)}\n${step.why}\n${io.color.dim(`$ chutes-diag ${step.args.join(' ')}`)}`);
        const colorArgs = opts.color === false ? ['--no-color'] : [];
        exitCode = await main(['node', 'chutes-diag', ...step.args, ...hosts, ...colorArgs], { stdout: io.stdout, stderr: io.stderr, env });
        const expected = exitCode === step.expectExit;
        io.print(io.color.dim(`(exit ${exitCode}${expected ? ', as expected' : `, expected ${step.expectExit}`})`));
      }
      results.push({
        step: step.title, args: step.args, exitCode, expectedExitCode: step.expectExit,
        seconds: Math.round((performance.now() - stepStart) / 100) / 10, ...(io.json ? { document } : {}),
      });
    }
  } finally {
    await emulator.close();
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const ok = results.length === demoSteps().length && results.every((r) => r.exitCode === r.expectedExitCode);
  const exitCode = signal.aborted ? 130 : ok ? 0 : 1;
  if (io.json) {
    const { jsonDocument } = await import('../render/json.js');
    io.print(jsonDocument('demo', null, exitCode, { emulator: { url: emulator.url, ...DEMO_LIMITER }, seconds, steps: results }).trimEnd());
  } else {
    io.print(`\n${ok ? io.color.green('Tour complete') : io.color.red('The tour did not go as expected')} in ${seconds} s. Against the real service: export CHUTES_API_KEY=cpk_… and run \`chutes-diag doctor\`.`);
  }
  return exitCode;
}

function printIntro(io: Io, url: string, apiUrl: string): void {
  io.print(`${io.color.bold('chutes-diag demo')} — the whole tour against a local Chutes emulator (no key, no network).
Emulator: inference ${url}, management ${apiUrl} (each step below also gets --base-url and --api-base-url for it)
Its limits, which the tour will discover: ${DEMO_LIMITER.limit} requests per ${DEMO_LIMITER.windowMs / 1000} s per key (fixed window), ${DEMO_LIMITER.concurrencyLimit} in flight at most,
and, like the real Chutes, no rate-limit headers on 429s.`);
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
