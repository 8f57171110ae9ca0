// A WordPiece vocabulary: the Hugging Face `vocab.txt` format (one token a line, the line number is the id).
import { writeFileAtomic, readTextFile } from '../util/fs.js';

/** The special tokens every BERT vocabulary must hold, by role. */
export interface SpecialTokenNames {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

export const BERT_SPECIAL_TOKENS: SpecialTokenNames = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

/** The special tokens' ids in one vocabulary. */
export interface SpecialTokenIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

export class VocabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VocabError';
  }
}

export class Vocab {
  private readonly idByToken: Map<string, number>;

  /** `tokens[id]` is the token with that id. `source` names the file (or origin) in error messages. */
  constructor(readonly tokens: readonly string[], readonly source = '<memory>') {
    this.idByToken = new Map();
    tokens.forEach((token, id) => {
      const earlier = this.idByToken.get(token);
      if (earlier !== undefined) {
        throw new VocabError(`${source}:${id + 1}: duplicate token ${JSON.stringify(token)} (first on line ${earlier + 1})`);
      }
      this.idByToken.set(token, id);
    });
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number | undefined {
    return this.idByToken.get(token);
  }

  has(token: string): boolean {
    return this.idByToken.has(token);
  }

  token(id: number): string | undefined {
    return this.tokens[id];
  }

  /** The ids of the special tokens; throws naming the source and every missing token. */
  specialTokenIds(names: SpecialTokenNames = BERT_SPECIAL_TOKENS): SpecialTokenIds {
    const missing = Object.values(names).filter((t) => !this.has(t));
    if (missing.length > 0) {
      throw new VocabError(`${this.source}: vocabulary lacks the special token(s) ${missing.join(' ')} ` +
        `(a BERT vocab.txt needs ${Object.values(names).join(' ')}, one a line)`);
    }
    return { pad: this.id(names.pad)!, unk: this.id(names.unk)!, cls: this.id(names.cls)!, sep: this.id(names.sep)!, mask: this.id(names.mask)! };
  }

  /** The vocab.txt text: one token a line, ending in a newline. */
  toText(): string {
    return this.tokens.join('\n') + '\n';
  }
}

/**
 * Parses vocab.txt text. Unlike Hugging Face's loader, which silently keeps the last of duplicate lines
 * and turns a blank line into an empty token, both are errors here (with the line number): either means
 * the ids would not be the ones the model was trained with. A trailing '\r' (CRLF file) is removed.
 */
export function parseVocab(text: string, source = '<memory>'): Vocab {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM is not part of the first token
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new VocabError(`${source}: vocabulary file is empty`);
  const tokens = lines.map((line, i) => {
    const token = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (token === '') throw new VocabError(`${source}:${i + 1}: empty line (a token cannot be empty; ids would shift if it were skipped)`);
    return token;
  });
  return new Vocab(tokens, source);
}

/** Loads a vocab.txt (or vocab.txt.gz); errors name the file and line. */
export function loadVocabFile(path: string): Vocab {
  return parseVocab(readTextFile(path), path);
}

/** Writes a vocab.txt atomically. */
export function saveVocabFile(path: string, vocab: Vocab): void {
  writeFileAtomic(path, vocab.toText());
}
