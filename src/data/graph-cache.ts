// On-disk featurization cache: one small file per molecule, keyed by RDKit canonical SMILES, the
// featurizer version and graph record format (plus the graph options), sharded into 256 folders.
// Safe under concurrent runs: files are written atomically (temp file + rename), two writers of the
// same key write identical bytes, and a reader sees either no file or a whole one. A record that
// fails to decode (foreign version, damage) counts as a miss and is rewritten.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURIZER_VERSION, buildHierGraph, type HierGraph, type HierGraphOptions } from '../chem/hiergraph.js';
import { canonicalSmiles, SmilesError } from '../chem/rdkit.js';
import { GRAPH_FORMAT, deserializeHierGraph, serializeHierGraph } from '../chem/serialize.js';

export interface CacheLookup { graph: HierGraph; hit: boolean; canonical: string }

export class GraphCache {
  readonly root: string;
  private readonly options: Required<Omit<HierGraphOptions, 'bricsMatcher' | 'allowHypervalent'>>;
  private readonly allowHypervalent: boolean;
  hits = 0;
  misses = 0;

  constructor(dir: string, options: HierGraphOptions = {}) {
    this.options = { noBricsFallback: options.noBricsFallback ?? 'rings', downwardEdges: options.downwardEdges ?? false };
    this.allowHypervalent = options.allowHypervalent ?? false;
    // the record format is in the folder name too: records of another format never share a folder (a
    // running older orma would otherwise keep rewriting what this one rewrote)
    const tag = `v${FEATURIZER_VERSION}-g${GRAPH_FORMAT}-${this.options.noBricsFallback}${this.options.downwardEdges ? '-down' : ''}`;
    this.root = join(dir, tag);
    mkdirSync(this.root, { recursive: true });
  }

  private pathFor(canonical: string): string {
    const h = createHash('sha256').update(canonical).digest('hex').slice(0, 32);
    return join(this.root, h.slice(0, 2), `${h}.ormg`);
  }

  /** The cached graph of a canonical SMILES, or null. */
  get(canonical: string): HierGraph | null {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.pathFor(canonical));
    } catch {
      return null;
    }
    try {
      const g = deserializeHierGraph(bytes);
      return g.smiles === canonical ? g : null; // a hash collision reads as a miss
    } catch {
      return null;
    }
  }

  put(graph: HierGraph): void {
    const path = this.pathFor(graph.smiles);
    mkdirSync(join(path, '..'), { recursive: true });
    // temp file + rename: readers never see a partial record. No fsync (one per molecule would
    // dominate the run): a record damaged by a crash fails to decode and is simply rebuilt.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, serializeHierGraph(graph));
    renameSync(tmp, path);
  }

  /**
   * The graph of `smiles`, built from its canonical SMILES (so cached atom indices refer to
   * `graph.smiles`, whatever spelling of the molecule was asked for). Throws SmilesError.
   */
  getOrBuild(smiles: string): CacheLookup {
    let canonical: string;
    try {
      canonical = canonicalSmiles(smiles);
    } catch (err) {
      // RDKit has no canonical form for an unsanitizable molecule: build it (hypervalent fallback) uncached
      if (!this.allowHypervalent || !(err instanceof SmilesError)) throw err;
      this.misses++;
      return { graph: buildHierGraph(smiles, { ...this.options, allowHypervalent: true }), hit: false, canonical: smiles };
    }
    const cached = this.get(canonical);
    if (cached) { this.hits++; return { graph: cached, hit: true, canonical }; }
    this.misses++;
    const graph = buildHierGraph(canonical, this.options);
    this.put(graph);
    return { graph, hit: false, canonical };
  }
}
