// The page's view of the HTTP API (the shapes of src/server/schemas.ts).
export interface Grains { global: number; local?: number; mid?: number; fused?: number }
export interface MoleculeHit { rank: number; id: string; smiles: string; name?: string; score: number; grains: Grains }
export interface TextHit { rank: number; id: string; text: string; score: number; grains: Grains }
export interface SearchReply { query: string; results: MoleculeHit[]; ms: number }
export interface DescribeReply { query: string; smiles: string; results: TextHit[]; ms: number }
export interface ExplainReply {
  text: string; smiles: string; tokens: string[]; motifs: number[][]; wholeMolecule: boolean; plan: number[][];
  tokenMotif: number[]; grains: { global: number; local: number; mid: number }; fused: number; palette: string[]; svg?: string; ms: number;
}
export interface ApiErrorBody { statusCode: number; error: string; message: string; field?: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ApiErrorBody | null, readonly retryAfter: string | null) {
    super(body?.message ?? `HTTP ${status}`);
  }
}

export async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data as ApiErrorBody | null, res.headers.get('retry-after'));
  return data as T;
}
