// Trains a WordPiece vocabulary from a corpus, like Hugging Face tokenizers' WordPieceTrainer: words come
// from the same basic tokenization the tokenizer uses; every word starts as its characters (later ones
// carrying `##`); pairs of adjacent symbols are merged repeatedly until the vocabulary has the wanted size.
// The merged symbols are the vocabulary (greedy longest match at encoding time, as for any BERT vocab).
//
// Two choices differ from a plain BPE trainer, for chemistry text:
//  - The alphabet has both forms (`c` and `##c`) of every character seen and of a seed set (ASCII, Greek
//    letters, °, ±, superscripts, subscripts, arrows, primes), so that a word never becomes [UNK] just
//    because a known character shows up at a new position ("β" seen only word-initially, then "11β").
//  - `score`: 'count' merges the most frequent pair (BPE, HF's WordPieceTrainer); 'likelihood' merges the
//    pair with the highest count(ab) / (count(a)·count(b)) (Google's WordPiece criterion). We measured both
//    (models/default/README.md) and default to 'count'.
import { BasicTokenizer, isCjkCodePoint, splitOnWhitespaceAndPunctuation } from './basic-tokenizer.js';
import { BERT_SPECIAL_TOKENS, Vocab } from './vocab.js';
import { Progress } from '../util/progress.js';

export type MergeScore = 'count' | 'likelihood';

export interface TrainVocabOptions {
  /** Target vocabulary size, special tokens and alphabet included. */
  vocabSize: number;
  lowercase?: boolean;
  stripAccents?: boolean;
  score?: MergeScore;
  /** A pair seen fewer times than this is never merged. Default 2. */
  minPairCount?: number;
  /** Characters seen fewer times than this are left out of the alphabet (unless seeded). Default 1. */
  minCharCount?: number;
  /** Add the seed alphabet (ASCII, Greek, chemistry symbols). Default true. */
  seedAlphabet?: boolean;
  /** Words longer than this (code points) are skipped: the tokenizer makes them [UNK] anyway. Default 100. */
  maxInputCharsPerWord?: number;
  /** Progress output; null for silence. Defaults to stderr. */
  progress?: NodeJS.WriteStream | null;
}

export interface TrainVocabStats {
  texts: number;
  words: number;
  distinctWords: number;
  skippedLongWords: number;
  alphabet: number;
  merges: number;
  /** True when no pair reached `minPairCount` before the vocabulary was full. */
  stoppedEarly: boolean;
  seconds: number;
}

const SEED_CHARACTERS =
  Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('') +
  'ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρσςτυφχψω' +
  '°±×÷·•′″‴→←↔⇌⇄↑↓≤≥≈≠∞µÅ‰§¹²³⁰⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉₊₋–—‘’“”…';

/** Counts the words of `texts` after basic tokenization. */
export function countWords(texts: Iterable<string>, basic: BasicTokenizer): { counts: Map<string, number>; texts: number; words: number } {
  const counts = new Map<string, number>();
  let n = 0, words = 0;
  const buf: string[] = [];
  for (const text of texts) {
    n++;
    buf.length = 0;
    for (const w of basic.tokenize(text, buf)) counts.set(w, (counts.get(w) ?? 0) + 1);
    words += buf.length;
  }
  return { counts, texts: n, words };
}

export function trainWordPieceVocab(texts: Iterable<string>, options: TrainVocabOptions): { vocab: Vocab; stats: TrainVocabStats } {
  const started = performance.now();
  const basic = new BasicTokenizer({ lowercase: options.lowercase ?? true, stripAccents: options.stripAccents });
  const { counts, texts: nTexts, words } = countWords(texts, basic);
  const maxChars = options.maxInputCharsPerWord ?? 100;
  const trainer = new MergeTrainer(options.score ?? 'count');

  for (const token of Object.values(BERT_SPECIAL_TOKENS)) trainer.symbol(token);
  const alphabet = chooseAlphabet(counts, basic, options);
  for (const ch of alphabet) trainer.symbol(ch);
  for (const ch of alphabet) if (canContinueWord(ch)) trainer.symbol('##' + ch);
  const alphabetSize = trainer.size - Object.keys(BERT_SPECIAL_TOKENS).length;
  if (trainer.size > options.vocabSize) {
    throw new RangeError(`vocabulary size ${options.vocabSize} is smaller than the special tokens plus the alphabet (${trainer.size}); raise it`);
  }

  let skippedLongWords = 0;
  const known = new Set(alphabet);
  for (const [word, count] of counts) {
    const chars = Array.from(word);
    if (chars.length > maxChars) { skippedLongWords += count; continue; }
    if (chars.some((c) => !known.has(c))) continue; // has a character below minCharCount
    trainer.addWord(chars.map((c, i) => trainer.symbol(i === 0 ? c : '##' + c)), count);
  }

  const minPairCount = options.minPairCount ?? 2;
  const wanted = options.vocabSize - trainer.size;
  const progress = new Progress({ label: 'vocab merges', total: wanted, unit: 'merges', stream: options.progress });
  let merges = 0;
  while (trainer.size < options.vocabSize) {
    const best = trainer.bestPair(minPairCount);
    if (best === undefined) break;
    const before = trainer.size;
    trainer.merge(best);
    merges++;
    progress.tick(trainer.size - before);
  }
  progress.finish();
  const stats: TrainVocabStats = {
    texts: nTexts, words, distinctWords: counts.size, skippedLongWords, alphabet: alphabetSize, merges,
    stoppedEarly: trainer.size < options.vocabSize, seconds: (performance.now() - started) / 1000,
  };
  return { vocab: new Vocab(trainer.tokens, '<trained>'), stats };
}

/** The characters of the alphabet, sorted by code point: those seen (≥ minCharCount) plus the seed set. */
function chooseAlphabet(counts: Map<string, number>, basic: BasicTokenizer, options: TrainVocabOptions): string[] {
  const charCounts = new Map<string, number>();
  for (const [word, count] of counts) for (const ch of word) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  const chars = new Set<string>();
  const minCharCount = options.minCharCount ?? 1;
  for (const [ch, count] of charCounts) if (count >= minCharCount) chars.add(ch);
  if (options.seedAlphabet ?? true) {
    for (const word of basic.tokenize(Array.from(SEED_CHARACTERS).join(' '))) for (const ch of word) chars.add(ch);
  }
  return [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/** False for characters the basic tokenizer always splits off (punctuation, CJK): they never need `##`. */
function canContinueWord(ch: string): boolean {
  return splitOnWhitespaceAndPunctuation('a' + ch).length === 1 && !isCjkCodePoint(ch.codePointAt(0)!);
}

/** Pair counting and merging over the distinct words of the corpus. */
class MergeTrainer {
  readonly tokens: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly wordSymbols: number[][] = [];
  private readonly wordCounts: number[] = [];
  /** How often each symbol occurs in the current segmentation of the corpus. */
  private readonly symbolCounts: number[] = [];
  private readonly pairCounts = new Map<number, number>();
  /** Words that contain (or once contained) each pair; checked when merging. */
  private readonly pairWords = new Map<number, Set<number>>();

  constructor(private readonly score: MergeScore) {}

  get size(): number {
    return this.tokens.length;
  }

  /** The id of a symbol, added when new. */
  symbol(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.tokens.length;
      this.tokens.push(token);
      this.ids.set(token, id);
      this.symbolCounts.push(0);
    }
    return id;
  }

  addWord(symbols: number[], count: number): void {
    const w = this.wordSymbols.length;
    this.wordSymbols.push(symbols);
    this.wordCounts.push(count);
    this.countWord(w, +1);
  }

  /** The pair to merge next, or undefined when no pair is seen `minPairCount` times. Ties: lowest key. */
  bestPair(minPairCount: number): number | undefined {
    let best: number | undefined;
    let bestScore = -Infinity;
    for (const [pair, count] of this.pairCounts) {
      if (count < minPairCount) continue;
      const s = this.score === 'count' ? count
        : count / (this.symbolCounts[pairLeft(pair)]! * this.symbolCounts[pairRight(pair)]!);
      if (s > bestScore || (s === bestScore && pair < best!)) { bestScore = s; best = pair; }
    }
    return best;
  }

  merge(pair: number): void {
    const a = pairLeft(pair), b = pairRight(pair);
    const right = this.tokens[b]!;
    const merged = this.symbol(this.tokens[a]! + (right.startsWith('##') ? right.slice(2) : right));
    for (const w of this.pairWords.get(pair) ?? []) {
      const syms = this.wordSymbols[w]!;
      if (!containsPair(syms, a, b)) continue;
      this.countWord(w, -1);
      const next: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) { next.push(merged); i++; }
        else next.push(syms[i]!);
      }
      this.wordSymbols[w] = next;
      this.countWord(w, +1);
    }
    this.pairWords.delete(pair);
  }

  /** Adds (sign +1) or removes (-1) word w's symbols and pairs from the counts. */
  private countWord(w: number, sign: number): void {
    const syms = this.wordSymbols[w]!;
    const c = sign * this.wordCounts[w]!;
    for (let i = 0; i < syms.length; i++) {
      this.symbolCounts[syms[i]!]! += c;
      if (i + 1 === syms.length) break;
      const p = pairKey(syms[i]!, syms[i + 1]!);
      const n = (this.pairCounts.get(p) ?? 0) + c;
      if (n === 0) this.pairCounts.delete(p);
      else this.pairCounts.set(p, n);
      if (sign > 0) {
        let set = this.pairWords.get(p);
        if (!set) this.pairWords.set(p, (set = new Set()));
        set.add(w);
      }
    }
  }
}

const PAIR_SHIFT = 2 ** 22; // symbol ids stay far below 4M

function pairKey(a: number, b: number): number {
  return a * PAIR_SHIFT + b;
}
function pairLeft(pair: number): number {
  return Math.floor(pair / PAIR_SHIFT);
}
function pairRight(pair: number): number {
  return pair % PAIR_SHIFT;
}
function containsPair(syms: number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < syms.length; i++) if (syms[i] === a && syms[i + 1] === b) return true;
  return false;
}
