// The text layer: BERT WordPiece tokenization, vocabularies, vocabulary training.
export { BasicTokenizer, cleanText, stripAccents, splitOnWhitespaceAndPunctuation, isCjkCodePoint, type BasicTokenizerOptions } from './basic-tokenizer.js';
export { WordPiece, type WordPieceOptions } from './wordpiece.js';
export { Vocab, VocabError, parseVocab, loadVocabFile, saveVocabFile, BERT_SPECIAL_TOKENS, type SpecialTokenIds, type SpecialTokenNames } from './vocab.js';
export { BertTokenizer, cleanUpTokenizationSpaces, type BertTokenizerOptions, type EncodeOptions, type EncodedText, type EncodedBatch, type DecodeOptions } from './tokenizer.js';
export { padSequences, type PaddedBatch } from './padding.js';
export { trainWordPieceVocab, countWords, type TrainVocabOptions, type TrainVocabStats, type MergeScore } from './train-vocab.js';
