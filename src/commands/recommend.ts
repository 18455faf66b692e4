// `chutes-diag recommend <file>`: client settings and snippets from a saved result, sending nothing.
// Wiring only: recommend/load.ts reads the file, recommend/recommend.ts decides, render/recommend.ts writes.
import { ExitCode } from '../errors.js';
import { loadEstimate } from '../recommend/load.js';
import { recommend } from '../recommend/recommend.js';
import { DEFAULT_CLIENT, type ClientName } from '../recommend/types.js';
import { jsonDocument } from '../render/json.js';
import { renderRecommendation } from '../render/recommend.js';
import type { CommandContext } from './common.js';

export interface RecommendOptions {
  json?: boolean;
  for?: ClientName;
}

export async function runRecommend(file: string, opts: RecommendOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const loaded = loadEstimate(file);
  const recommendation = recommend(loaded.estimate, loaded.context);
  if (io.json) {
    io.print(jsonDocument('recommend', null, ExitCode.ok, { target: loaded.target, from: { file, command: loaded.command }, estimate: loaded.estimate, recommendation }).trimEnd());
  } else {
    io.print(renderRecommendation(recommendation, opts.for ?? DEFAULT_CLIENT, io.color));
  }
  return ExitCode.ok;
}
