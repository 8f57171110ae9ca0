// The BERT tokenizer: basic tokenization + WordPiece over a vocab.txt, special tokens, truncation,
// batch encoding with dynamic padding, and decoding. Its output equals Hugging Face's BertTokenizer
// (checked against golden files made with transformers.js, see scripts/make-tokenizer-goldens.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BasicTokenizer } from './basic-tokenizer.js';
import { WordPiece } from './wordpiece.js';
import { BERT_SPECIAL_TOKENS, loadVocabFile, type SpecialTokenIds, type SpecialTokenNames, type Vocab } from './vocab.js';
import { padSequences, type PaddedBatch } from './padding.js';

export interface BertTokenizerOptions {
  /** Lower-case the text (true for uncased vocabularies such as scivocab_uncased). Default true. */
  lowercase?: boolean;
  /** Strip accents; undefined follows `lowercase` (Hugging Face's default). */
  stripAccents?: boolean;
  /** Default maximum sequence length, special tokens included. Default 512 (BERT's position limit). */
  maxLength?: number;
  /** Words longer than this many code points become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
  /** Put spaces around CJK ideographs. Default true. */
  tokenizeChineseChars?: boolean;
  specialTokens?: SpecialTokenNames;
}

export interface EncodeOptions {
  /** Maximum length, special tokens included; defaults to the tokenizer's `maxLength`. */
  maxLength?: number;
  /** Add [CLS] ... [SEP]. Default true. */
  addSpecialTokens?: boolean;
  /** Also return the token strings. Default false. */
  returnTokens?: boolean;
}

export interface EncodedText {
  ids: number[];
  tokens?: string[];
  /** True when the text had more tokens than fit in `maxLength`. */
  truncated: boolean;
  /** How many word pieces truncation dropped (0 when not truncated). */
  droppedTokens: number;
}

export interface EncodedBatch extends PaddedBatch {
  /** Indices (into the input texts) of the rows that were truncated. */
  truncatedRows: number[];
}

export interface DecodeOptions {
  /** Leave out [CLS], [SEP], [PAD], [MASK], [UNK]. Default false. */
  skipSpecialTokens?: boolean;
  /** Remove the space before . , ! ? and in English contractions (Hugging Face's default). Default true. */
  cleanUpSpaces?: boolean;
}

export class BertTokenizer {
  readonly basic: BasicTokenizer;
  readonly wordPiece: WordPiece;
  readonly special: SpecialTokenIds;
  readonly specialTokenNames: SpecialTokenNames;
  readonly maxLength: number;
  private readonly specialTokenStrings: string[];
  private readonly specialIdSet: Set<number>;
  private readonly specialTokensStartWithBracket: boolean;

  /** Throws naming the vocabulary's source and the missing tokens when a special token is absent. */
  constructor(readonly vocab: Vocab, options: BertTokenizerOptions = {}) {
    this.specialTokenNames = options.specialTokens ?? BERT_SPECIAL_TOKENS;
    this.special = vocab.specialTokenIds(this.specialTokenNames);
    this.basic = new BasicTokenizer({ lowercase: options.lowercase ?? true, stripAccents: options.stripAccents, tokenizeChineseChars: options.tokenizeChineseChars });
    this.wordPiece = new WordPiece(vocab, { unkToken: this.specialTokenNames.unk, maxInputCharsPerWord: options.maxInputCharsPerWord });
    this.maxLength = options.maxLength ?? 512;
    checkMaxLength(this.maxLength, true);
    // Longest first, so that a special token that contains another one wins.
    this.specialTokenStrings = Object.values(this.specialTokenNames).sort((a, b) => b.length - a.length);
    this.specialIdSet = new Set(Object.values(this.special));
    this.specialTokensStartWithBracket = this.specialTokenStrings.every((t) => t.startsWith('['));
  }

  static fromVocabFile(path: string, options: BertTokenizerOptions = {}): BertTokenizer {
    return new BertTokenizer(loadVocabFile(path), options);
  }

  /**
   * Loads a Hugging Face tokenizer folder: `vocab.txt`, and `tokenizer_config.json` when present for
   * do_lower_case, strip_accents, tokenize_chinese_chars, model_max_length and the special token names.
   * `options` override the file. Without a config, BERT's defaults apply (uncased).
   */
  static fromDirectory(dir: string, options: BertTokenizerOptions = {}): BertTokenizer {
    const configPath = join(dir, 'tokenizer_config.json');
    let config: Record<string, unknown> = {};
    if (existsSync(configPath)) {
      try {
        config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${configPath}: not valid JSON: ${(err as Error).message}`);
      }
    }
    const bool = (key: string) => (typeof config[key] === 'boolean' ? config[key] as boolean : undefined);
    const name = (key: string, fallback: string) => {
      const v = config[key];
      const content = typeof v === 'string' ? v : (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined);
      return content ?? fallback;
    };
    const maxLength = typeof config.model_max_length === 'number' && config.model_max_length <= 1_000_000 ? config.model_max_length : undefined;
    return BertTokenizer.fromVocabFile(join(dir, 'vocab.txt'), {
      lowercase: bool('do_lower_case'),
      stripAccents: bool('strip_accents'),
      tokenizeChineseChars: bool('tokenize_chinese_chars'),
      maxLength,
      specialTokens: {
        pad: name('pad_token', BERT_SPECIAL_TOKENS.pad), unk: name('unk_token', BERT_SPECIAL_TOKENS.unk),
        cls: name('cls_token', BERT_SPECIAL_TOKENS.cls), sep: name('sep_token', BERT_SPECIAL_TOKENS.sep),
        mask: name('mask_token', BERT_SPECIAL_TOKENS.mask),
      },
      ...definedOnly(options),
    });
  }

  get lowercase(): boolean {
    return this.basic.lowercase;
  }

  /** The word-piece ids of `text`, without special tokens or truncation. */
  tokenizeToIds(text: string): number[] {
    const ids: number[] = [];
    const words: string[] = [];
    for (const section of this.splitOnSpecialTokens(text)) {
      if (typeof section === 'number') {
        ids.push(section);
        continue;
      }
      words.length = 0;
      this.wordPiece.encodeWords(this.basic.tokenize(section, words), ids);
    }
    return ids;
  }

  /** The word pieces of `text` as strings, without special tokens. */
  tokenize(text: string): string[] {
    return this.tokenizeToIds(text).map((id) => this.vocab.token(id)!);
  }

  encode(text: string, options: EncodeOptions = {}): EncodedText {
    const addSpecial = options.addSpecialTokens ?? true;
    const maxLength = options.maxLength ?? this.maxLength;
    checkMaxLength(maxLength, addSpecial);
    const pieces = this.tokenizeToIds(text);
    const budget = addSpecial ? maxLength - 2 : maxLength;
    const droppedTokens = Math.max(0, pieces.length - budget);
    if (droppedTokens > 0) pieces.length = budget;
    const ids = addSpecial ? [this.special.cls, ...pieces, this.special.sep] : pieces;
    const result: EncodedText = { ids, truncated: droppedTokens > 0, droppedTokens };
    if (options.returnTokens) result.tokens = ids.map((id) => this.vocab.token(id)!);
    return result;
  }

  /** Encodes texts and pads them to the longest of the batch (dynamic padding) with [PAD]. */
  encodeBatch(texts: readonly string[], options: Omit<EncodeOptions, 'returnTokens'> = {}): EncodedBatch {
    const truncatedRows: number[] = [];
    const sequences = texts.map((text, i) => {
      const enc = this.encode(text, options);
      if (enc.truncated) truncatedRows.push(i);
      return enc.ids;
    });
    return { ...padSequences(sequences, this.special.pad), truncatedRows };
  }

  /** Text from ids: pieces joined with spaces, `##` pieces glued to the previous one (Hugging Face's decode). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let out = '';
    let first = true;
    for (const id of ids) {
      const token = this.vocab.token(id);
      if (token === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocab.size})`);
      if (options.skipSpecialTokens && this.specialIdSet.has(id)) continue;
      const prefix = this.wordPiece.continuationPrefix;
      if (first) out = token;
      else out += token.startsWith(prefix) ? token.slice(prefix.length) : ' ' + token;
      first = false;
    }
    return options.cleanUpSpaces ?? true ? cleanUpTokenizationSpaces(out) : out;
  }

  /** Splits raw text at special-token strings ("[MASK]" in the text is the mask token, as in Hugging Face). */
  private splitOnSpecialTokens(text: string): (string | number)[] {
    if (this.specialTokensStartWithBracket && !text.includes('[')) return [text]; // the common case: no search
    const sections: (string | number)[] = [];
    let from = 0;
    while (from < text.length) {
      let at = -1;
      let match = '';
      for (const s of this.specialTokenStrings) {
        const i = text.indexOf(s, from);
        if (i >= 0 && (at < 0 || i < at)) { at = i; match = s; }
      }
      if (at < 0) break;
      if (at > from) sections.push(text.slice(from, at));
      sections.push(this.vocab.id(match)!);
      from = at + match.length;
    }
    if (from < text.length) sections.push(text.slice(from));
    return sections;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkMaxLength(maxLength: number, addSpecial: boolean): void {
  const least = addSpecial ? 2 : 0;
  if (!Number.isInteger(maxLength) || maxLength < least) {
    throw new RangeError(`maxLength must be an integer >= ${least}${addSpecial ? ' (room for [CLS] and [SEP])' : ''}, got ${maxLength}`);
  }
}

/** Hugging Face's clean_up_tokenization. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text.replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',')
    .replace(/ ' /g, "'").replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}
