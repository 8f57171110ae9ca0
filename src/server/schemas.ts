// Request and response schemas of the HTTP API (TypeBox, the schema language of the training config).
// Fastify validates requests with them, serializes responses with them, and @fastify/swagger turns
// them into the OpenAPI document at /api/docs.
import { Type, type TSchema } from '@sinclair/typebox';

export const LIMITS = {
  textChars: 2000,
  smilesChars: 1000,
  maxK: 100,
  maxRerank: 1000,
  bodyBytes: 64 * 1024,
  idChars: 128,
} as const;

const strict = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });

const Text = Type.String({ minLength: 1, maxLength: LIMITS.textChars, description: `a description (1-${LIMITS.textChars} characters)` });
const Smiles = (what = 'a SMILES') => Type.String({ minLength: 1, maxLength: LIMITS.smilesChars, description: `${what} (1-${LIMITS.smilesChars} characters)` });
const K = Type.Integer({ minimum: 1, maximum: LIMITS.maxK, description: `results wanted (1-${LIMITS.maxK}, default 10)` });
const Rerank = Type.Integer({ minimum: 0, maximum: LIMITS.maxRerank, description: 'rerank the global top N with the fused fine-grained score (0: global only; default: the model\'s)' });

export const SearchBody = strict({ text: Text, k: Type.Optional(K), rerank: Type.Optional(Rerank), substructure: Type.Optional(Smiles('keep only molecules containing this SMILES/SMARTS substructure')) });
export const DescribeBody = strict({ smiles: Smiles(), k: Type.Optional(K), rerank: Type.Optional(Rerank) });
export const ExplainBody = strict({ text: Text, smiles: Smiles(), depict: Type.Optional(Type.Boolean({ description: 'also return an SVG of the molecule with each motif in its palette colour (default true)' })) });

const Grains = Type.Object({ global: Type.Number(), local: Type.Optional(Type.Number()), mid: Type.Optional(Type.Number()), fused: Type.Optional(Type.Number()) });
export const MoleculeHit = Type.Object({ rank: Type.Integer(), id: Type.String(), smiles: Type.String(), name: Type.Optional(Type.String()), score: Type.Number(), grains: Grains });
export const TextHit = Type.Object({ rank: Type.Integer(), id: Type.String(), text: Type.String(), score: Type.Number(), grains: Grains });
export const SearchReply = Type.Object({ query: Type.String(), results: Type.Array(MoleculeHit), ms: Type.Number() });
export const DescribeReply = Type.Object({ query: Type.String(), smiles: Type.String(), results: Type.Array(TextHit), ms: Type.Number() });
export const ExplainReply = Type.Object({
  text: Type.String(),
  smiles: Type.String({ description: 'canonical SMILES; motif atom indices refer to it' }),
  tokens: Type.Array(Type.String()),
  motifs: Type.Array(Type.Array(Type.Integer()), { description: 'atom indices of each motif' }),
  wholeMolecule: Type.Boolean({ description: 'the molecule has no motif and counts as one whole-molecule motif' }),
  plan: Type.Array(Type.Array(Type.Number()), { description: 'optimal-transport plan, tokens x motifs' }),
  tokenMotif: Type.Array(Type.Integer(), { description: 'motif each token is transported to most (-1: none, [CLS]/[SEP])' }),
  grains: Type.Object({ global: Type.Number(), local: Type.Number(), mid: Type.Number() }),
  fused: Type.Number(),
  truncated: Type.Optional(Type.Boolean({ description: 'the text was longer than the model reads; its tail was not seen' })),
  palette: Type.Array(Type.String(), { description: 'CSS colour of motif k is palette[k % palette.length]' }),
  svg: Type.Optional(Type.String({ description: 'the molecule with each motif highlighted in its colour' })),
  ms: Type.Number(),
});
export const MoleculeParams = strict({ id: Type.String({ minLength: 1, maxLength: LIMITS.idChars, pattern: '^[A-Za-z0-9][A-Za-z0-9_:-]*$', description: 'a molecule id of the loaded library' }) });
export const MoleculeQuery = strict({
  highlight: Type.Optional(Type.String({ maxLength: 4000, pattern: '^(motifs|[0-9]{1,4}(,[0-9]{1,4})*)$', description: "'motifs' (each motif in its colour) or atom indices '0,1,2'" })),
  width: Type.Optional(Type.String({ pattern: '^[0-9]{2,4}$', description: 'pixels, 80-1200 (default 300)' })),
  height: Type.Optional(Type.String({ pattern: '^[0-9]{2,4}$', description: 'pixels, 80-1200 (default 220)' })),
});
export const Health = Type.Object({
  status: Type.String(),
  model: Type.String(), molecules: Type.Integer(), texts: Type.Integer(), dim: Type.Integer(),
  queue: Type.Object({ running: Type.Integer(), queued: Type.Integer(), maxQueued: Type.Integer(), rejected: Type.Integer() }),
  uptimeSeconds: Type.Number(),
});
export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String({ description: 'machine-readable kind: bad_request, not_found, too_large, busy, timeout, internal' }),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'the request field at fault, when there is one' })),
});
