// Wires commander and nothing else: commands load their modules only when they run, so
// `--help` and `--version` start almost as fast as bare node.
import { Command, CommanderError, Option } from 'commander';
import { DiagError, ExitCode } from './errors.js';
import {
  collectHeader, integerParser, numberParser, parseChoice, parseConcurrency, parseDailyQuota, parseDurationMs, parseHttpUrl, parseListenAddress, parsePositiveDurationMs, parseRequestPath,
} from './options.js';
import { Redactor } from './redact.js';
import type { Io, MainIo } from './render/io.js';
import { DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_PATH, DEFAULT_TIMEOUT_MS } from './target.js';
import type { CommandContext } from './commands/common.js';
import type { MockOptions } from './commands/mock.js';
import type { TapOptions } from './commands/tap.js';
import { parseBanDurationMs, parseBanGrowth } from './emulator/ban-options.js';
import { TOOL_VERSION } from './version.js';
import { CLIENTS, DEFAULT_CLIENT } from './recommend/types.js';

export type { MainIo } from './render/io.js';

const AUTH_SCHEMES = ['bearer', 'raw', 'x-api-key', 'none'] as const;

function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print exactly one JSON document on stdout and nothing else there')
    .option('--no-color', 'no colour (also NO_COLOR=1); colour is only used on a TTY')
    .option('-v, --verbose', 'more detail; stack traces only here');
}

function addNetworkOptions(cmd: Command, { management = false } = {}): Command {
  cmd
    .addOption(new Option('--base-url <url>', 'inference host').env('CHUTES_BASE_URL').argParser(parseHttpUrl).default(new URL(DEFAULT_BASE_URL), DEFAULT_BASE_URL))
    .addOption(new Option('--api-base-url <url>', 'management host (quota, doctor)').env('CHUTES_API_BASE_URL').argParser(parseHttpUrl).default(new URL(DEFAULT_API_BASE_URL), DEFAULT_API_BASE_URL));
  if (!management) {
    cmd
      .addOption(new Option('--path <path>', 'request path').argParser(parseRequestPath).default(DEFAULT_PATH))
      .addOption(new Option('-m, --model <id>', 'model in the default body; on Chutes without it, the cheapest served text model from GET /v1/models ("auto" asks for that anywhere)').env('CHUTES_MODEL').default(DEFAULT_MODEL))
      .option('--body <json|@file>', 'custom request body, inline JSON or @file of at most 10 MiB (default: a minimal chat completion, max_tokens 1)');
  }
  return cmd
    .addOption(new Option('--auth <scheme>', 'how the key is sent: bearer (Authorization: Bearer KEY), raw (Authorization: KEY), x-api-key, none').argParser(parseChoice(AUTH_SCHEMES)).default('bearer'))
    .addOption(new Option('--api-key-file <path>', 'read the key from a file (default: $CHUTES_API_KEY, then $CHUTES_API_TOKEN)'))
    .addOption(new Option('--api-key <key>', 'the key on the command line (visible to other users: prefer the env or a file)').hideHelp())
    .addOption(new Option('-H, --header <name: value>', 'extra request header, repeatable').argParser(collectHeader))
    .addOption(new Option('--timeout <duration>', 'per-request timeout').argParser(parsePositiveDurationMs).default(DEFAULT_TIMEOUT_MS, '30s'))
    .option('--out <file>', 'append one JSON line per request as it completes');
}

/** --for: which client's snippet the human output shows (probe, recommend). */
function forClientOption(): Option {
  return new Option('--for <client>', "the client whose snippet the output shows (the JSON document has them all)").choices(CLIENTS).default(DEFAULT_CLIENT);
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Where exit 70 (a bug in chutes-diag) asks to be reported: package.json's bugs.url. */
const ISSUES_URL = 'https://github.com/chutes-diag/chutes-diag/issues';
const DURATIONS = 'Durations: 250ms, 10s, 5m, 1h, or a bare number of seconds.';

// Each command's exit codes in its own terms (the contract's table, cut to what the command can end with).
type ExitRow = readonly [code: number, meaning: string];
const EXIT_USAGE: ExitRow = [ExitCode.usage, 'usage error: a bad flag or value, named in the message'];
const EXIT_BUG: ExitRow = [ExitCode.internal, `a bug in chutes-diag: please report it at\n       ${ISSUES_URL}`];
const EXIT_INTERRUPTED: ExitRow = [ExitCode.interrupted, 'interrupted (Ctrl-C or SIGTERM); partial results are kept'];
const EXIT_REFUSED: readonly ExitRow[] = [
  [ExitCode.rateLimited, 'rate limited or quota exhausted (429 / 402)'],
  [ExitCode.auth, 'authentication or permission error (401 / 403)'],
  [ExitCode.http, 'other HTTP error (4xx / 5xx)'],
  [ExitCode.network, 'network error: DNS, connect, TLS, timeout, reset'],
];
const COMMAND_EXIT_CODES = {
  headers: [[ExitCode.ok, 'the last response was a success (or every CI assertion passed)'], [ExitCode.assertion, 'a CI assertion failed: --expect-status or --min-remaining'], EXIT_USAGE, ...EXIT_REFUSED, EXIT_BUG, EXIT_INTERRUPTED],
  probe: [
    [ExitCode.ok, 'the estimate is complete, whatever limits it hit (also --dry-run)'], EXIT_USAGE,
    [ExitCode.rateLimited, 'nothing got through: quota exhausted (402) or no capacity'],
    [ExitCode.auth, 'every request was refused: authentication (401 / 403)'],
    [ExitCode.http, 'nothing got through: other HTTP errors'],
    [ExitCode.network, 'no answer came back: DNS, connect, TLS, timeout, reset'],
    EXIT_BUG, EXIT_INTERRUPTED,
  ],
  'wait-reset': [[ExitCode.ok, 'the limit reset: a retest got through'], EXIT_USAGE, [ExitCode.rateLimited, 'still limited at --max-wait'], ...EXIT_REFUSED.slice(1), EXIT_BUG, EXIT_INTERRUPTED],
  quota: [[ExitCode.ok, 'quota left'], EXIT_USAGE, [ExitCode.rateLimited, 'the daily quota or a subscription cap is used up (or 429)'], ...EXIT_REFUSED.slice(1), EXIT_BUG, EXIT_INTERRUPTED],
  doctor: [[ExitCode.ok, 'no check failed'], [ExitCode.assertion, 'a check failed (the verdict names it)'], EXIT_USAGE, [ExitCode.auth, 'the key is rejected'], [ExitCode.network, 'a host is unreachable'], EXIT_BUG, EXIT_INTERRUPTED],
  mock: [[ExitCode.ok, 'stopped with Ctrl-C or SIGTERM'], [ExitCode.usage, 'usage error: a bad value, or the port is taken'], EXIT_BUG],
  recommend: [[ExitCode.ok, 'the recommendation was printed (with no numbers when the limit is unknown)'], [ExitCode.usage, 'usage error: a bad flag, or a file that is unreadable, not JSON or lacks a field (the message names the line or field)'], EXIT_BUG],
  demo: [[ExitCode.ok, 'every step ended as expected'], [ExitCode.assertion, 'a step ended with another exit code'], EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED],
  tap: [[ExitCode.ok, 'stopped with Ctrl-C or SIGTERM (its normal end); the summary was printed'], [ExitCode.usage, 'usage error: a bad value, a non-loopback --listen without --allow-remote, or the port is taken'], EXIT_BUG, [ExitCode.interrupted, 'a second Ctrl-C while exchanges drain: left at once, no summary']],
  analyze: [[ExitCode.ok, 'the recording was read and summarised'], [ExitCode.usage, 'usage error, or a file it cannot read (the message names the line or field)'], EXIT_BUG],
} satisfies Record<string, readonly ExitRow[]>;

/** The text after a command's options: its exit codes, the duration syntax when it takes a duration, examples. */
function commandHelp(command: keyof typeof COMMAND_EXIT_CODES, lines: string[], { durations = true } = {}): string {
  const rows = COMMAND_EXIT_CODES[command].map(([code, meaning]) => `  ${String(code).padEnd(5)}${meaning}`);
  return `\nExit codes:\n${rows.join('\n')}\n${durations ? `\n${DURATIONS}\n` : ''}${examples(lines)}`;
}

export interface Program {
  program: Command;
  /** The exit code the action chose, set when a command finishes. */
  result: { exitCode: number | null; io: Io | null };
}

export function buildProgram(base: MainIo, signal: AbortSignal): Program {
  const result: Program['result'] = { exitCode: null, io: null };
  // Commander echoes bad input (an unknown command word, a bad URL) before any command has run:
  // a key pasted in the wrong place must not come back out.
  const scrub = new Redactor();
  for (const name of ['CHUTES_API_KEY', 'CHUTES_API_TOKEN'] as const) scrub.addSecret(base.env[name]?.trim());
  const program = new Command('chutes-diag')
    .description('Why are my Chutes AI / OpenAI-compatible API calls rate limited? Whose limit, how big, and when it resets.')
    .version(TOOL_VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => base.stdout.write(text),
      writeErr: (text) => base.stderr.write(scrub.redact(text)),
      // The streams we were given, not process.stdout: the build-time help snapshot renders for a pipe.
      getOutHelpWidth: () => (base.stdout.isTTY && base.stdout.columns ? base.stdout.columns : 80),
      getErrHelpWidth: () => (base.stderr.isTTY && base.stderr.columns ? base.stderr.columns : 80),
    })
    .addHelpText('after', `
Exit codes: 0 ok, 1 assertion or doctor check failed, 2 usage error,
3 rate limited or quota exhausted, 4 auth error, 5 other HTTP error,
6 network error, 70 a bug in chutes-diag (please report it:
${ISSUES_URL}), 130 interrupted (Ctrl-C or SIGTERM).
Each command's --help lists its own.
${DURATIONS}
${examples(['chutes-diag demo', 'CHUTES_API_KEY=cpk_… chutes-diag doctor', 'chutes-diag headers --json --min-remaining 50', 'chutes-diag probe --rpm 20 --max-requests 40'])}`);

  const run = (load: (ctx: CommandContext, opts: Record<string, unknown>) => Promise<number>) =>
    async (opts: Record<string, unknown>, command: Command) => {
      // Which options the user set (flag or env) rather than left at their default.
      opts.explicit = Object.fromEntries(Object.keys(opts).map((name) => [name, command.getOptionValueSource(name) !== 'default']));
      const { createIo } = await import('./render/io.js');
      const io = createIo(base, { json: opts.json as boolean, verbose: opts.verbose as boolean, color: opts.color as boolean });
      result.io = io;
      const { createHttpClient } = await import('./http/client.js');
      const http = createHttpClient(base.env);
      try {
        result.exitCode = await load({ io, signal, now: Date.now, stdin: process.stdin, http, runCli: main }, opts);
      } finally {
        await http.close();
      }
    };
  /** `run` for a command whose one argument is a file (recommend, analyze): commander passes it first. */
  const runOnFile = (load: (file: string, ctx: CommandContext, opts: Record<string, unknown>) => Promise<number> | number) =>
    (file: string, opts: Record<string, unknown>, command: Command) => run(async (ctx, o) => load(file, ctx, o))(opts, command);

  addNetworkOptions(addOutputOptions(program.command('headers')
    .description('send one request (or --count N), show every rate-limit header raw and parsed, and a verdict')
    .option('-n, --count <n>', 'requests to send, one after another', integerParser(1, 1000), 1)
    .option('--all', 'show every response header, not only rate-limit ones')
    .option('--expect-status <code>', 'CI assertion: every response has this status (else exit 1)', integerParser(100, 599))
    .option('--min-remaining <n>', 'CI assertion: the last response has at least n requests remaining in the current window (the shortest-window request-count policy stating a remaining count; on Chutes alone, the daily quota), else exit 1', integerParser(0, Number.MAX_SAFE_INTEGER))
    .option('--policy <name>', 'the policy --min-remaining checks, by the name shown in the policy table (e.g. daily-quota, default, requests)')
    .addHelpText('after', commandHelp('headers', [
      'chutes-diag headers',
      'chutes-diag headers --auth x-api-key          # see what Chutes does with X-API-Key',
      'chutes-diag headers --json --expect-status 200 --min-remaining 50',
      'chutes-diag headers --min-remaining 50 --policy daily-quota',
    ]))))
    .action(run(async (ctx, opts) => (await import('./commands/headers.js')).runHeaders(opts, ctx)));

  addNetworkOptions(addOutputOptions(program.command('probe')
    .description('paced, open-loop burst that estimates the per-window rate limit and the concurrency limit')
    .option('--rpm <n>', 'send rate cap: requests per minute (evenly spaced; never more in any 60 s)', integerParser(1, 60_000), 20)
    .option('--max-requests <n>', 'hard budget: never send more than this many requests', integerParser(1, 100_000), 60)
    .addOption(new Option('--max-duration <duration>', 'stop sending after this long').argParser(parsePositiveDurationMs).default(300_000, '5m'))
    .option('--concurrency <auto|off|n>', 'concurrency test: auto (when the budget allows), off, or test up to n at once', parseConcurrency, 'auto' as const)
    .option('--max-concurrency <n>', 'largest simultaneous batch the concurrency test may send', integerParser(1, 1000), 8)
    .option('--dry-run', 'print the plan and send nothing')
    .option('-y, --yes', "no confirmation for plans over 100 requests, or over --max-quota-share of today's Chutes quota")
    .option('--allow-refusals <n>', 'refusals (429s) the probe may provoke before it stops provoking; default 1 on Chutes (each can lengthen an edge ban), else no limit', integerParser(1, 100_000))
    .option('--max-quota-share <percent>', "Chutes: the most of today's remaining quota the plan may spend without --yes (checked on the first answer)", numberParser(0, 100), 10)
    .addOption(forClientOption())
    .addHelpText('after', commandHelp('probe', [
      'chutes-diag probe --rpm 20',
      'chutes-diag probe --rpm 120 --max-requests 80 --concurrency off',
      'chutes-diag probe --dry-run --rpm 600 --max-requests 500',
    ]))))
    .action(run(async (ctx, opts) => (await import('./commands/probe.js')).runProbe(opts, ctx)));

  addNetworkOptions(addOutputOptions(program.command('wait-reset')
    .description('retest until the limit window resets, guided by Retry-After / reset headers, with as few requests as possible')
    .addOption(new Option('--interval <duration>', 'retest interval when the server gives no hint (doubles each time; ×8 against a header-less edge ban, where each refused retest can lengthen the ban)').argParser(parsePositiveDurationMs).default(5_000, '5s'))
    .addOption(new Option('--max-interval <duration>', 'cap for the doubling interval (not for the ban-safe waits, which only a day caps)').argParser(parsePositiveDurationMs).default(60_000, '1m'))
    .addOption(new Option('--max-wait <duration>', 'give up (exit 3) after this long').argParser(parsePositiveDurationMs).default(600_000, '10m'))
    .addOption(new Option('--ban-window <duration>', 'against a header-less edge ban, the first retest waits at least this long: the window the edge counts in, still full of the requests that tripped the ban after a short ban ends (Chutes: a minute)').argParser(parsePositiveDurationMs).default(60_000, '1m'))
    .addHelpText('after', commandHelp('wait-reset', [
      'chutes-diag wait-reset',
      'chutes-diag wait-reset --max-wait 2m --json',
    ]))))
    .action(run(async (ctx, opts) => (await import('./commands/wait-reset.js')).runWaitReset(opts, ctx)));

  addNetworkOptions(addOutputOptions(program.command('quota')
    .description("the account's daily quota and usage from the Chutes management API (spends no inference request)")
    .addHelpText('after', commandHelp('quota', [
      'chutes-diag quota',
      'chutes-diag quota --json',
    ]))), { management: true })
    .action(run(async (ctx, opts) => (await import('./commands/quota.js')).runQuota(opts, ctx)));

  addNetworkOptions(addOutputOptions(program.command('doctor')
    .description('guided diagnosis: key format, auth scheme, host, quota, one inference request, verdict and fix')
    .option('--skip-inference', 'spend nothing: skip the one inference request')
    .addHelpText('after', commandHelp('doctor', [
      'chutes-diag doctor',
      'chutes-diag doctor --skip-inference',
      'chutes-diag doctor --auth x-api-key     # shows why X-API-Key gets 429s on Chutes',
    ]))))
    .action(run(async (ctx, opts) => (await import('./commands/doctor.js')).runDoctor(opts, ctx)));

  addOutputOptions(program.command('mock')
    .description('run a local Chutes-compatible emulator with configurable limits (for offline use and tests)')
    .option('--port <n>', 'inference port (0 = any free port)', integerParser(0, 65535), 8787)
    .option('--api-port <n>', 'management API port (0 = any free port)', integerParser(0, 65535), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--limit <n>', 'account rate limit: requests per window per key, answered with a JSON 429 (0 = none; default 10, but 0 with --headers chutes: Chutes enforces its per-minute limit at the edge, see --edge-limit)', integerParser(0, 1_000_000))
    .addOption(new Option('--window <duration>', 'rate-limit window').argParser(parsePositiveDurationMs).default(60_000, '1m'))
    .addOption(new Option('--algorithm <name>', 'limiter').choices(['fixed-window', 'sliding-window', 'token-bucket']).default('fixed-window'))
    .option('--burst <n>', 'token-bucket capacity (default: --limit)', integerParser(1, 1_000_000))
    .option('--concurrency-limit <n>', 'in-flight requests per key (default: none)', integerParser(1, 100_000))
    .option('--daily-quota <n|unlimited>', 'requests per day per key', parseDailyQuota, 200)
    .addOption(new Option('--headers <dialect>', 'which rate-limit headers to send').choices(['chutes', 'x-ratelimit', 'ietf', 'openai', 'anthropic', 'none']).default('chutes'))
    .addOption(new Option('--latency <duration>', 'delay before each inference response').argParser(parseDurationMs).default(0, '0ms'))
    .option('--fault <kind>', 'answer every inference request with this Chutes error: capacity, no-instances, disabled, no-infrastructure, free-limit, spam, edge-403, gateway-timeout, tee-402, tier-402, subscription-cap, maintenance, openrouter-429')
    .option('--api-key <key>', 'the only key accepted (default: any cpk_/cak_ token)')
    // The edge's escalating ban (facts: "Edge bans escalate"); on by default with the Chutes headers.
    .option('--edge-limit <n>', 'edge ban: requests per --edge-window the edge admits (default 60); any --edge-*/--ban-* option turns the edge ban on for other dialects too', integerParser(1, 1_000_000))
    .addOption(new Option('--edge-window <duration>', 'edge ban: the edge\'s sliding window (default 1m)').argParser(parseBanDurationMs))
    .addOption(new Option('--ban-base <duration>', 'edge ban: the first ban; a request over the edge limit, or any request during a ban, restarts it, longer (default 3s)').argParser(parseBanDurationMs))
    .option('--ban-growth <x>', 'edge ban: each violation multiplies the ban by this (default 2)', parseBanGrowth)
    .addOption(new Option('--ban-max <duration>', 'edge ban: the longest ban; days allowed, e.g. 12h or 1d (default 1d)').argParser(parseBanDurationMs))
    .option('--no-edge-ban', 'turn the edge ban off (it is ON by default with --headers chutes: 60 requests per 1m, then a 3s ban doubling per violation up to 1d, answered with the edge\'s HTML 429)')
    .addHelpText('after', commandHelp('mock', [
      'chutes-diag mock --limit 10 --window 5s',
      'chutes-diag mock --headers ietf --algorithm token-bucket --limit 30 --window 1m --burst 5',
      'chutes-diag mock --port 0 --json     # prints the URLs as JSON, then serves until Ctrl-C',
      'chutes-diag mock --edge-limit 5 --ban-base 2s --ban-max 1m   # a quick edge ban to try wait-reset on',
      'chutes-diag mock --no-edge-ban       # the Chutes headers without the edge ban',
    ])))
    .action(run(async (ctx, opts) => (await import('./commands/mock.js')).runMock(opts as unknown as MockOptions, ctx)));

  addOutputOptions(program.command('recommend')
    .description('client settings and snippets that hold the measured limit, from a saved `probe --json` result (sends nothing)')
    .argument('<file>', 'a saved `chutes-diag probe --json` result')
    .addOption(forClientOption())
    .addHelpText('after', commandHelp('recommend', [
      'chutes-diag probe --rpm 60 --json > result.json && chutes-diag recommend result.json',
      'chutes-diag recommend result.json --for bottleneck',
      'chutes-diag recommend result.json --json',
    ], { durations: false })))
    .action(runOnFile(async (file, ctx, o) => (await import('./commands/recommend.js')).runRecommend(file, o, ctx)));

  addOutputOptions(program.command('demo')
    .description('run doctor → headers → probe → wait-reset against an in-process emulator; no key or network needed')
    .addHelpText('after', commandHelp('demo', ['chutes-diag demo', 'npm run demo'], { durations: false })))
    .action(run(async (ctx, opts) => (await import('./commands/demo.js')).runDemo(opts, ctx)));

  addOutputOptions(program.command('tap')
    .description("a local recording reverse proxy in front of your app: forwards unchanged (streaming), records, and estimates the limits from the app's own traffic — spends no request of its own")
    .addOption(new Option('--listen <host:port>', 'where to listen (port 0 = any free port; the address is printed on stderr)').argParser(parseListenAddress).default({ host: '127.0.0.1', port: 8787 }, '127.0.0.1:8787'))
    .option('--allow-remote', 'allow a non-loopback --listen (the tap forwards the credentials of whoever connects to it)')
    .addOption(forClientOption())
    .addOption(new Option('--base-url <url>', 'the upstream: requests go to the same path under it').env('CHUTES_BASE_URL').argParser(parseHttpUrl).default(new URL(DEFAULT_BASE_URL), DEFAULT_BASE_URL))
    .addOption(new Option('--api-key-file <path>', "a key the tap adds to requests that carry none (never to a request with a browser Origin); without it the app's own credentials pass unchanged"))
    .addOption(new Option('--api-key <key>', 'the key on the command line (visible to other users: prefer --api-key-file)').hideHelp())
    .addOption(new Option('--auth <scheme>', 'how the tap sends its own key: bearer, raw, x-api-key').argParser(parseChoice(AUTH_SCHEMES)).default('bearer'))
    .addOption(new Option('--timeout <duration>', 'upstream: longest wait for the response headers, and between body chunks (then 504 to the app)').argParser(parsePositiveDurationMs).default(600_000, '10m'))
    .addOption(new Option('--drain <duration>', 'on Ctrl-C / SIGTERM, how long exchanges in flight may take to finish').argParser(parseDurationMs).default(10_000, '10s'))
    .option('--out <file>', 'append one JSON line per exchange as it completes')
    .option('--metrics', 'serve OpenMetrics (Prometheus) text on /metrics of the same listener')
    .addHelpText('after', commandHelp('tap', [
      'chutes-diag tap --out tap.jsonl          # then: OPENAI_BASE_URL=http://127.0.0.1:8787/v1 your-app',
      'chutes-diag tap --listen 127.0.0.1:0 --json > summary.json',
      'chutes-diag tap --base-url https://api.openai.com --metrics',
    ])))
    .action(run(async (ctx, opts) => (await import('./commands/tap.js')).runTap(opts as unknown as TapOptions, ctx)));

  addOutputOptions(program.command('analyze')
    .description('the summary and rate / concurrency estimates from a recording (probe or tap JSONL, a --json result, or a HAR file) — spends nothing')
    .argument('<file>', 'a probe/tap --out JSONL file, a --json result, or a .har file (browser dev tools, mitmproxy)')
    .addOption(forClientOption())
    .addHelpText('after', commandHelp('analyze', [
      'chutes-diag analyze tap.jsonl',
      'chutes-diag analyze session.har --json',
    ], { durations: false })))
    .action(runOnFile(async (file, ctx, o) => (await import('./commands/analyze.js')).runAnalyze(file, o, ctx)));

  return { program, result };
}

/** Runs the CLI; returns the exit code (the bin sets process.exitCode, never process.exit). */
export async function main(argv: string[], base: MainIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted); // a second signal: leave now
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { program, result } = buildProgram(base, controller.signal);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    if (result.exitCode === null) return ExitCode.ok;
    return result.exitCode;
  } catch (error) {
    return reportError(error, base, result.io, verbose);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reportError(error: unknown, base: MainIo, io: Io | null, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every parse problem is a usage error (2). Commander already printed it.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    // No command at all: the help went to stderr as a usage error.
    if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
    return ExitCode.usage;
  }
  const fallback = new Redactor();
  for (const name of ['CHUTES_API_KEY', 'CHUTES_API_TOKEN'] as const) fallback.addSecret(base.env[name]?.trim());
  const redact = (text: string) => (io ?? { redactor: fallback }).redactor.redact(text);
  if (error instanceof DiagError) {
    base.stderr.write(redact(`error: ${error.message}\n`));
    if (verbose && error.cause instanceof Error && error.cause.stack) base.stderr.write(redact(`${error.cause.stack}\n`));
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  base.stderr.write(redact(`error: unexpected failure: ${message} (a bug in chutes-diag: please report it${verbose ? '' : ', with the --verbose output,'} at ${ISSUES_URL})\n`));
  if (verbose && error instanceof Error && error.stack) base.stderr.write(redact(`${error.stack}\n`));
  return ExitCode.internal;
}
