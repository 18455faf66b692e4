// cli-table3 with colour decided by the caller: at level 0 the head and border styles are emptied
// (as autocannon's TableWithoutColor does), so piped output has no escape codes.
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

export function makeTable(head: string[], color: ChalkInstance, colAligns?: Array<'left' | 'right' | 'center'>): Table.Table {
  const plain = color.level === 0;
  return new Table({
    head: head.map((h) => color.bold(h)),
    style: plain ? { head: [], border: [] } : { head: ['cyan'], border: ['grey'] },
    ...(colAligns ? { colAligns } : {}),
    wordWrap: true,
  });
}

export { formatLocalTime, formatNumber, formatSeconds } from '../format.js';
