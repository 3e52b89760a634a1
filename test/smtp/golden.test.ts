import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachDialogueSplit, formatEvents, parseDialogue, runDialogue } from '../helpers/dialogue.js';

const dir = join(import.meta.dirname, '..', 'golden', 'smtp');
const cases = readdirSync(dir)
  .filter((name) => name.endsWith('.dialogue.txt'))
  .map((name) => name.slice(0, -'.dialogue.txt'.length))
  .sort();

describe('golden dialogues', () => {
  it.each(cases)('%s decodes to the reviewed event log', async (name) => {
    const dialogue = parseDialogue(readFileSync(join(dir, `${name}.dialogue.txt`), 'latin1'));
    const log = formatEvents(runDialogue(dialogue));
    await expect(log).toMatchFileSnapshot(join(dir, `${name}.events.txt`));
  });

  it.each(cases)('%s gives the same event log under every chunking', (name) => {
    const dialogue = parseDialogue(readFileSync(join(dir, `${name}.dialogue.txt`), 'latin1'));
    const expected = formatEvents(runDialogue(dialogue));
    forEachDialogueSplit(dialogue, (chunker, label) => {
      const log = formatEvents(runDialogue(dialogue, chunker));
      if (log !== expected) expect(log, label).toBe(expected);
    });
  });
});
