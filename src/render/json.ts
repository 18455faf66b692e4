// The --json document: one per run, schemaVersion 1 (cli-contract.md).
import { describeTarget } from '../target.js';
import type { Target } from '../types.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export const SCHEMA_VERSION = 1;

export function jsonDocument(command: string, target: Target | null, exitCode: number, fields: Record<string, unknown>): string {
  const doc = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    command,
    target: target ? describeTarget(target) : null,
    exitCode,
    ...fields,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
