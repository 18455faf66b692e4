// Printed text from blocks: the renderers build a command's whole output as one string, laid out
// exactly as one io.print per block would have printed it (a newline added unless the block has one).

/** Joins the blocks, each ending in exactly the newline io.print gives it; null and false blocks are left out. */
export function joinBlocks(blocks: ReadonlyArray<string | null | false>): string {
  return blocks
    .filter((block): block is string => typeof block === 'string')
    .map((block) => (block.endsWith('\n') ? block : `${block}\n`))
    .join('');
}
