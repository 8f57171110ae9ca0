// WordPiece: splits one word into vocabulary pieces by greedy longest match from the left; pieces after the
// first carry the `##` continuation prefix. A word with a part no piece matches, or longer than
// `maxInputCharsPerWord` code points, becomes a single [UNK] (as in BERT and Hugging Face).
import type { Vocab } from './vocab.js';

export interface WordPieceOptions {
  unkToken?: string;
  continuationPrefix?: string;
  /** Words with more code points than this become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
  /** Words cached (word → piece ids); the cache is cleared when full. Default 200,000. */
  cacheSize?: number;
}

export class WordPiece {
  readonly unkId: number;
  readonly continuationPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheSize: number;
  /** The longest piece in code points: no longer substring needs a lookup. */
  private readonly longestPiece: number;

  constructor(readonly vocab: Vocab, options: WordPieceOptions = {}) {
    const unkToken = options.unkToken ?? '[UNK]';
    const unkId = vocab.id(unkToken);
    if (unkId === undefined) throw new Error(`${vocab.source}: vocabulary lacks the unknown token ${unkToken}`);
    this.unkId = unkId;
    this.continuationPrefix = options.continuationPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.cacheSize = options.cacheSize ?? 200_000;
    let longest = 0;
    for (const token of vocab.tokens) {
      const body = token.startsWith(this.continuationPrefix) ? token.slice(this.continuationPrefix.length) : token;
      longest = Math.max(longest, codePointLength(body));
    }
    this.longestPiece = longest;
  }

  /** The piece ids of one word (no whitespace, already normalized). */
  wordIds(word: string): readonly number[] {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.split(word);
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  /** Appends the piece ids of every word to `out`. */
  encodeWords(words: readonly string[], out: number[] = []): number[] {
    for (const word of words) {
      const ids = this.wordIds(word);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  private split(word: string): number[] {
    // Code points, not UTF-16 units: an astral character is one character for the length limit and never split.
    const chars = NON_BMP_RE.test(word) ? Array.from(word) : null;
    const length = chars ? chars.length : word.length;
    if (length > this.maxInputCharsPerWord) return [this.unkId];
    const piece = chars ? (s: number, e: number) => chars.slice(s, e).join('') : (s: number, e: number) => word.slice(s, e);
    const ids: number[] = [];
    for (let start = 0; start < length;) {
      let end = Math.min(length, start + this.longestPiece);
      let id: number | undefined;
      for (; end > start; end--) {
        id = this.vocab.id(start > 0 ? this.continuationPrefix + piece(start, end) : piece(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.unkId];
      ids.push(id);
      start = end;
    }
    return ids;
  }
}

const NON_BMP_RE = /[\ud800-\udfff]/;

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
