// Neural-network building blocks over the tensor engine.
export { Module, ModuleList, type LoadOptions, type LoadReport } from './module.js';
export { Linear, LayerNorm, Embedding, Dropout, MLP, activate, type Activation, type LinearInit } from './layers.js';
export { SelfAttention, keyPaddingBias, type AttentionConfig } from './attention.js';
export { BertModel, BertLayer, type BertConfig, type BertOutput } from './bert.js';
export { GCNConv, GINEConv, gcnNorm, scatterSum, type GcnGraph } from './graph.js';
