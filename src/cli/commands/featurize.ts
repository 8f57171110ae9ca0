// `orma featurize`: SMILES -> hierarchical graph, for one molecule (--smiles) or a data set (--data).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, parseCommandArgs } from '../args.js';
import { readPairFile, formatProblems, DatasetError, type PairFile, type RowProblem } from '../../data/datasets.js';
import { GraphCache } from '../../data/graph-cache.js';
import { Progress } from '../../util/progress.js';
import { writeFileAtomic } from '../../util/fs.js';
import { initRDKit, SmilesError } from '../../chem/rdkit.js';
import { ATOM_VOCABULARIES, BOND_VOCABULARIES, ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT, describeFeatures } from '../../chem/features.js';
import { buildHierGraph, bricsBondPairs, motifLists, FEATURIZER_VERSION, type HierGraph, type HierGraphOptions } from '../../chem/hiergraph.js';
import { packHierGraphs, serializeHierGraph } from '../../chem/serialize.js';
import { depictMotifs } from '../../chem/depict.js';
import type { NoBricsFallback } from '../../chem/motifs.js';

const HELP = `usage: orma featurize --smiles SMILES [--json] [--svg FILE]
       orma featurize --data FILE.tsv --out DIR [--strict] [--cache DIR]

Turns molecules into ORMA's hierarchical graph (atoms, BRICS motifs, one molecule node).

  --smiles SMILES      featurize one molecule; prints a summary, or JSON with --json:
                       {"smiles", "atoms", "bonds", "brics_bonds": [[i,j],...], "motifs": [[atoms],...]}
  --svg FILE           with --smiles: also write an SVG with one colour per motif
  --data FILE          a TSV with a SMILES column (ChEBI-20, PCdes, or your own; .gz is fine)
  --out DIR            where --data writes graphs.ormg (all graphs, row order), index.tsv, summary.json
  --cache DIR          reuse/extend an on-disk featurization cache (keyed by canonical SMILES);
                       graphs then use the canonical SMILES atom order
  --strict             any bad row is fatal (exit 1); by default bad rows are reported and skipped
  --fallback MODE      motifs for molecules the official rule leaves with none: none | molecule | rings
                       (default rings; 'none' reproduces the official code)
  --downward           also add motif->atom and molecule->motif edges
  --allow-hypervalent  graphs (marked unsanitized) instead of errors for acyclic molecules RDKit
                       rejects only for valence, e.g. PCdes' FBr(F)(F)(F)F
  -h, --help           this help`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    smiles: { type: 'string' }, json: { type: 'boolean' }, svg: { type: 'string' },
    data: { type: 'string' }, out: { type: 'string' }, cache: { type: 'string' },
    strict: { type: 'boolean' }, fallback: { type: 'string' }, downward: { type: 'boolean' }, 'allow-hypervalent': { type: 'boolean' },
  }, HELP);
  if (!args) return 0;
  const v = args.values;
  const fallback = (v.fallback as string | undefined) ?? 'rings';
  if (!['none', 'molecule', 'rings'].includes(fallback)) throw new CliError(`--fallback must be none, molecule or rings, got '${fallback}'`);
  const options: HierGraphOptions = { noBricsFallback: fallback as NoBricsFallback, downwardEdges: Boolean(v.downward), allowHypervalent: Boolean(v['allow-hypervalent']) };
  if ((v.smiles === undefined) === (v.data === undefined)) throw new CliError(`give exactly one of --smiles or --data\n\n${HELP}`);
  await initRDKit();
  if (v.smiles !== undefined) return featurizeOne(v.smiles as string, options, Boolean(v.json), v.svg as string | undefined);
  if (!v.out) throw new CliError('--data needs --out DIR');
  return featurizeData(v.data as string, v.out as string, options, Boolean(v.strict), v.cache as string | undefined);
}

function featurizeOne(smiles: string, options: HierGraphOptions, json: boolean, svg: string | undefined): number {
  let g: HierGraph;
  try {
    g = buildHierGraph(smiles, options);
  } catch (err) {
    if (err instanceof SmilesError) throw new CliError(err.message, 1);
    throw err;
  }
  const motifs = motifLists(g);
  if (svg) writeFileSync(svg, depictMotifs(smiles, motifs));
  if (json) {
    console.log(JSON.stringify(graphJson(g)));
    return 0;
  }
  if (!g.sanitized) console.log('note: RDKit rejects this valence; graph built from the unsanitized molecule');
  console.log(`${smiles}: ${g.numAtoms} atoms, ${g.numBonds} bonds, ${g.bricsBonds.length / 2} BRICS bonds, ${g.numMotifs} motifs${g.motifFallback ? ` (fallback '${options.noBricsFallback}')` : ''}, ${g.edgeSrc.length} edges`);
  console.log(`BRICS bonds: ${JSON.stringify(bricsBondPairs(g))}`);
  motifs.forEach((m, k) => console.log(`motif ${k}: ${JSON.stringify(m)}`));
  if (svg) console.log(`wrote ${svg}`);
  return 0;
}

/** The --json shape: decoded atom and bond features, BRICS bonds and motifs. */
export function graphJson(g: HierGraph): Record<string, unknown> {
  const atoms = Array.from({ length: g.numAtoms }, (_, i) => ({ index: i, ...describeFeatures(g.atomFeatures.subarray(i * ATOM_FEATURE_COUNT, (i + 1) * ATOM_FEATURE_COUNT), ATOM_VOCABULARIES) }));
  const bonds = Array.from({ length: g.numBonds }, (_, b) => ({
    atoms: [g.bondAtoms[2 * b], g.bondAtoms[2 * b + 1]],
    ...describeFeatures(g.bondFeatures.subarray(b * BOND_FEATURE_COUNT, (b + 1) * BOND_FEATURE_COUNT), BOND_VOCABULARIES),
  }));
  return { smiles: g.smiles, atoms, bonds, brics_bonds: bricsBondPairs(g), motifs: motifLists(g), ...(g.sanitized ? {} : { sanitized: false }) };
}

interface Failure extends RowProblem { id?: string; smiles?: string }

function featurizeData(file: string, outDir: string, options: HierGraphOptions, strict: boolean, cacheDir: string | undefined): number {
  let data: PairFile;
  try {
    data = readPairFile(file, { strict });
  } catch (err) {
    if (err instanceof DatasetError || (err instanceof Error && err.message.startsWith('cannot read'))) throw new CliError(err.message, 1);
    throw err;
  }
  const failures: Failure[] = data.problems.map((p) => ({ ...p }));
  const cache = cacheDir ? new GraphCache(cacheDir, options) : null;
  mkdirSync(outDir, { recursive: true });
  const records: Uint8Array[] = [];
  const index: string[] = ['line\tid\tstatus\tatoms\tmotifs\tmessage'];
  let atomSum = 0, atomMax = 0, motifSum = 0, motifMax = 0, noOfficialMotifs = 0;
  const progress = new Progress({ label: 'featurize', total: data.rows.length, unit: 'mol' });
  for (const row of data.rows) {
    let g: HierGraph;
    try {
      g = cache ? cache.getOrBuild(row.smiles).graph : buildHierGraph(row.smiles, options);
    } catch (err) {
      if (!(err instanceof SmilesError)) throw err;
      const failure: Failure = { file, line: row.line, field: 'SMILES', message: err.message, id: row.id, smiles: row.smiles };
      if (strict) { progress.finish(); throw new CliError(`${file}:${row.line}: ${err.message}`, 1); }
      failures.push(failure);
      index.push(`${row.line}\t${row.id}\terror\t\t\t${err.reason}`);
      progress.tick();
      continue;
    }
    records.push(serializeHierGraph(g));
    index.push(`${row.line}\t${row.id}\tok\t${g.numAtoms}\t${g.numMotifs}\t`);
    atomSum += g.numAtoms; atomMax = Math.max(atomMax, g.numAtoms);
    motifSum += g.numMotifs; motifMax = Math.max(motifMax, g.numMotifs);
    if (g.motifFallback || g.numMotifs === 0) noOfficialMotifs++;
    progress.tick();
  }
  progress.finish();
  failures.sort((a, b) => a.line - b.line);
  const seconds = progress.elapsedSeconds();
  const ok = records.length;
  writeFileAtomic(join(outDir, 'graphs.ormg'), packHierGraphs(records));
  writeFileAtomic(join(outDir, 'index.tsv'), index.join('\n') + '\n');
  const summary = {
    file, featurizer_version: FEATURIZER_VERSION, options, rows: data.rows.length + data.problems.length,
    molecules: ok, failures: failures.length,
    atoms: { mean: ok ? atomSum / ok : 0, max: atomMax }, motifs: { mean: ok ? motifSum / ok : 0, max: motifMax },
    without_official_motifs: noOfficialMotifs, seconds, molecules_per_second: data.rows.length / Math.max(seconds, 1e-9),
    cache: cache ? { dir: cache.root, hits: cache.hits, misses: cache.misses } : null,
    failed_rows: failures.map((f) => ({ line: f.line, id: f.id, smiles: f.smiles, message: f.message })),
  };
  writeFileAtomic(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(`featurized ${ok} of ${summary.rows} rows from ${file} in ${seconds.toFixed(1)} s (${summary.molecules_per_second.toFixed(0)} molecules/s)`);
  console.log(`atoms mean ${summary.atoms.mean.toFixed(1)} max ${atomMax}; motifs mean ${summary.motifs.mean.toFixed(2)} max ${motifMax}; ${noOfficialMotifs} molecules without official motifs (fallback '${options.noBricsFallback}')`);
  if (failures.length) console.log(`${failures.length} failures:\n${formatProblems(failures)}`);
  console.log(`wrote ${join(outDir, 'graphs.ormg')}, index.tsv, summary.json`);
  return 0;
}
