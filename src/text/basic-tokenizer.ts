// BERT's basic tokenization: text cleanup, CJK splitting, lower-casing, accent stripping, and splitting on
// whitespace and punctuation. Follows Hugging Face's BasicTokenizer / BertNormalizer + BertPreTokenizer:
//  - control characters (Unicode category C*, except \t \n \r), U+0000 and U+FFFD are removed;
//  - whitespace (\t \n \r, category Zs, and the line/paragraph separators U+2028/U+2029) separates words;
//  - every CJK ideograph becomes a word of its own;
//  - with `lowercase`, the text is lower-cased; accents are stripped (NFD, then drop category Mn) when
//    `stripAccents` is true, or when it is unset and `lowercase` is true (HF's default for uncased vocabularies);
//  - punctuation (all non-alphanumeric printable ASCII, plus Unicode category P*) is a word of its own.
//    Other symbols (°, ±, ², ⁺, →) are not punctuation and stay inside their word, as in BERT.

export interface BasicTokenizerOptions {
  /** Lower-case the text (BERT's do_lower_case). Default true. */
  lowercase?: boolean;
  /** Strip accents; undefined follows `lowercase`, as in Hugging Face. */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs (tokenize_chinese_chars). Default true. */
  tokenizeChineseChars?: boolean;
}

const OTHER = 0;
const WHITESPACE = 1;
const REMOVED = 2; // control characters, U+0000, U+FFFD
const PUNCTUATION = 3;
const CJK = 4;

const ASCII_CLASS = buildAsciiClasses();
const classCache = new Map<number, number>();
const PUNCTUATION_RE = /^\p{P}$/u;
const CONTROL_RE = /^\p{C}$/u;
const SPACE_SEPARATOR_RE = /^\p{Zs}$/u;
const NONSPACING_MARK_RE = /\p{Mn}/gu;
const NON_ASCII_RE = /[^\x00-\x7f]/;

function buildAsciiClasses(): Uint8Array {
  const table = new Uint8Array(128);
  for (let cp = 0; cp < 128; cp++) {
    if (cp === 9 || cp === 10 || cp === 13 || cp === 32) table[cp] = WHITESPACE;
    else if (cp < 32 || cp === 127) table[cp] = REMOVED;
    else if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) table[cp] = PUNCTUATION;
    else table[cp] = OTHER;
  }
  return table;
}

export function isCjkCodePoint(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** The class of one code point; non-ASCII classes are computed once (regex) and cached. */
function classify(cp: number): number {
  if (cp < 128) return ASCII_CLASS[cp]!;
  let cls = classCache.get(cp);
  if (cls === undefined) {
    const ch = String.fromCodePoint(cp);
    if (cp === 0xfffd || CONTROL_RE.test(ch)) cls = REMOVED;
    else if (cp === 0x2028 || cp === 0x2029 || SPACE_SEPARATOR_RE.test(ch)) cls = WHITESPACE;
    else if (PUNCTUATION_RE.test(ch)) cls = PUNCTUATION;
    else if (isCjkCodePoint(cp)) cls = CJK;
    else cls = OTHER;
    classCache.set(cp, cls);
  }
  return cls;
}

/** Reads the code point at `i` (a lone surrogate is returned as itself, and is removed as category Cs). */
function codePointAt(text: string, i: number): number {
  return text.codePointAt(i)!;
}

/** Removes control characters, maps whitespace to ' ', and puts spaces around CJK ideographs. */
export function cleanText(text: string, tokenizeChineseChars = true): string {
  let out = '';
  let runStart = 0; // start of the current run of characters copied unchanged
  for (let i = 0; i < text.length;) {
    const cp = codePointAt(text, i);
    const width = cp > 0xffff ? 2 : 1;
    const cls = classify(cp);
    if (cls === REMOVED || (cls === WHITESPACE && cp !== 32) || (cls === CJK && tokenizeChineseChars)) {
      out += text.slice(runStart, i);
      if (cls === WHITESPACE) out += ' ';
      else if (cls === CJK) out += ' ' + text.slice(i, i + width) + ' ';
      runStart = i + width;
    }
    i += width;
  }
  return runStart === 0 ? text : out + text.slice(runStart);
}

/** NFD, then drop non-spacing marks (é → e, Â → A); ASCII text is returned as is. */
export function stripAccents(text: string): string {
  if (!NON_ASCII_RE.test(text)) return text;
  return text.normalize('NFD').replace(NONSPACING_MARK_RE, '');
}

/** Splits normalized text into words at whitespace; each punctuation character is a word of its own. */
export function splitOnWhitespaceAndPunctuation(text: string, out: string[] = []): string[] {
  let start = -1; // start of the current word, -1 when between words
  for (let i = 0; i < text.length;) {
    const cp = codePointAt(text, i);
    const width = cp > 0xffff ? 2 : 1;
    const cls = classify(cp);
    if (cls === WHITESPACE || cls === PUNCTUATION || cls === REMOVED) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
      if (cls === PUNCTUATION) out.push(text.slice(i, i + width));
    } else if (start < 0) {
      start = i;
    }
    i += width;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

export class BasicTokenizer {
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly tokenizeChineseChars: boolean;

  constructor(options: BasicTokenizerOptions = {}) {
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? this.lowercase;
    this.tokenizeChineseChars = options.tokenizeChineseChars ?? true;
  }

  /** The normalized text: cleaned, CJK-spaced, lower-cased and accent-stripped as configured. */
  normalize(text: string): string {
    let t = cleanText(text, this.tokenizeChineseChars);
    if (this.lowercase) t = t.toLowerCase();
    if (this.stripAccents) t = stripAccents(t);
    return t;
  }

  /** The words of `text` (appended to `out` when given). */
  tokenize(text: string, out: string[] = []): string[] {
    return splitOnWhitespaceAndPunctuation(this.normalize(text), out);
  }
}
