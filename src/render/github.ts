// GitHub Actions: a markdown summary appended to $GITHUB_STEP_SUMMARY and ::warning:: / ::error::
// annotations, only when GITHUB_ACTIONS=true. Pure builders plus one writer.
import { appendFileSync } from 'node:fs';
import type { Io } from './io.js';

export interface CiReport {
  command: string;
  /** One line saying what happened, e.g. "HTTP 200, 42 of 60 requests left". */
  headline: string;
  /** Key/value rows for the summary table. */
  rows: Array<[string, string]>;
  warnings: string[];
  errors: string[];
}

/** Workflow-command data escaping (the runner's own rule): %, CR and LF. */
export function escapeWorkflowData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function workflowAnnotations(report: CiReport): string[] {
  const title = `chutes-diag ${report.command}`.replace(/[,:]/g, ' ');
  return [
    ...report.warnings.map((w) => `::warning title=${title}::${escapeWorkflowData(w)}`),
    ...report.errors.map((e) => `::error title=${title}::${escapeWorkflowData(e)}`),
  ];
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function stepSummaryMarkdown(report: CiReport): string {
  const lines = [`### chutes-diag ${report.command}`, '', report.headline, ''];
  if (report.rows.length > 0) {
    lines.push('| | |', '|---|---|', ...report.rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`), '');
  }
  for (const e of report.errors) lines.push(`- :x: ${cell(e)}`);
  for (const w of report.warnings) lines.push(`- :warning: ${cell(w)}`);
  return `${lines.join('\n')}\n\n`;
}

/**
 * Writes the report when running under GitHub Actions. Annotations go to stdout as the runner
 * expects, except with --json, where stdout must hold only the document: then stderr.
 */
export function emitGithubReport(io: Io, report: CiReport): void {
  if (io.env.GITHUB_ACTIONS !== 'true') return;
  for (const line of workflowAnnotations(report)) {
    if (io.json) io.printErr(`${line}\n`);
    else io.print(line);
  }
  const file = io.env.GITHUB_STEP_SUMMARY;
  if (file) {
    try {
      appendFileSync(file, io.redactor.redact(stepSummaryMarkdown(report)));
    } catch (error) {
      io.warn(`cannot append to GITHUB_STEP_SUMMARY (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  }
}
