// `orma vocab`: trains a WordPiece vocabulary (vocab.txt) from the descriptions of training files.
import { CliError, numberFlag, parseCommandArgs } from '../args.js';
import { DatasetError } from '../../data/datasets.js';
import { assertTrainingFiles, readTexts as readTextsOf } from '../../data/texts.js';
import { saveVocabFile } from '../../text/vocab.js';
import { trainWordPieceVocab, type MergeScore } from '../../text/train-vocab.js';

const HELP = `usage: orma vocab --data FILE [--data FILE ...] --size N --out vocab.txt [options]

Trains a WordPiece vocabulary (Hugging Face vocab.txt format) on the descriptions of the given files.
A file is a pair TSV (.tsv or .tsv.gz with a SMILES and a description column, as in ChEBI-20/PCdes)
or plain text with one text per line (no tab in its first line).

options:
  --data FILE          training text (repeat for several files); names containing test/val/validation/dev
                       are refused: a vocabulary is built on training splits only
  --size N             vocabulary size, special tokens and alphabet included (e.g. 12000)
  --out FILE           where to write vocab.txt (written atomically)
  --cased              keep case and accents (default: uncased, like scivocab_uncased)
  --score count|likelihood
                       merge the most frequent pair (BPE-style, default) or the pair with the highest
                       count(ab)/(count(a)*count(b)) (Google WordPiece)
  --min-pair-count N   never merge a pair seen fewer times (default 2)
  --min-char-count N   leave characters seen fewer times out of the alphabet (default 1)
  --no-seed-alphabet   do not add ASCII, Greek and chemistry symbols to the alphabet
  --allow-eval-text    accept files whose name says test/validation (you are responsible for the leak)
  --quiet              no progress output`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    data: { type: 'string', multiple: true },
    size: { type: 'string' },
    out: { type: 'string' },
    cased: { type: 'boolean' },
    score: { type: 'string' },
    'min-pair-count': { type: 'string' },
    'min-char-count': { type: 'string' },
    'no-seed-alphabet': { type: 'boolean' },
    'allow-eval-text': { type: 'boolean' },
    quiet: { type: 'boolean' },
  }, HELP);
  if (!args) return 0;
  const v = args.values;
  const files = (v.data as string[] | undefined) ?? [];
  if (files.length === 0) throw new CliError(`--data is required\n\n${HELP}`);
  if (v.size === undefined) throw new CliError(`--size is required\n\n${HELP}`);
  if (typeof v.out !== 'string') throw new CliError(`--out is required\n\n${HELP}`);
  const size = numberFlag(v.size as string, 'size', 0);
  if (!Number.isInteger(size) || size < 10) throw new CliError(`--size must be an integer >= 10, got ${v.size}`);
  const score = (v.score as string | undefined) ?? 'count';
  if (score !== 'count' && score !== 'likelihood') throw new CliError(`--score must be count or likelihood, got '${score}'`);
  try {
    assertTrainingFiles(files, 'build a vocabulary', Boolean(v['allow-eval-text']));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const quiet = Boolean(v.quiet);
  const texts: string[] = [];
  for (const file of files) {
    const got = readTexts(file);
    if (!quiet) console.error(`${file}: ${got.length} texts`);
    texts.push(...got);
  }
  if (texts.length === 0) throw new CliError('no text in the --data files');
  const { vocab, stats } = train(texts, {
    vocabSize: size,
    lowercase: !v.cased,
    score: score as MergeScore,
    minPairCount: numberFlag(v['min-pair-count'] as string | undefined, 'min-pair-count', 2),
    minCharCount: numberFlag(v['min-char-count'] as string | undefined, 'min-char-count', 1),
    seedAlphabet: !v['no-seed-alphabet'],
    progress: quiet ? null : process.stderr,
  });
  saveVocabFile(v.out, vocab);
  console.log(JSON.stringify({ out: v.out, size: vocab.size, ...stats, seconds: Number(stats.seconds.toFixed(2)) }));
  if (stats.stoppedEarly) console.error(`note: only ${vocab.size} tokens: no pair left with count >= the minimum`);
  return 0;
}

/** Trains; an impossible size is a usage error, not a crash. */
function train(texts: string[], options: Parameters<typeof trainWordPieceVocab>[1]): ReturnType<typeof trainWordPieceVocab> {
  try {
    return trainWordPieceVocab(texts, options);
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(`--size: ${err.message}`);
    throw err;
  }
}

function readTexts(file: string): string[] {
  try {
    return readTextsOf(file);
  } catch (err) {
    if (err instanceof DatasetError) throw new CliError(err.message);
    throw err;
  }
}
