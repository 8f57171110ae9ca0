// `orma eval` end to end on the tiny fixture model and test/fixtures/eval: the JSON report (one object
// on stdout), the table, and errors that name the file or the flag.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'orma.js');
const MODEL = join(PACKAGE_ROOT, 'test/fixtures/models/tiny');
const PAIRS = join(PACKAGE_ROOT, 'test/fixtures/eval/pairs.tsv');
const POOL = join(PACKAGE_ROOT, 'test/fixtures/eval/pool.tsv');
let cache: string;

function orma(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => { cache = mkdtempSync(join(tmpdir(), 'orma-cli-eval-')); });
after(() => rmSync(cache, { recursive: true, force: true }));

test('orma eval --json prints exactly one report object (default score rerank:50)', () => {
  const r = orma(['eval', '--model', MODEL, '--data', PAIRS, '--json', '--cache', cache]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { text_to_molecule: Record<string, number>; skipped: { row: number; reason: string }[] };
  assert.deepEqual(Object.keys(report).sort(), ['data', 'pairs', 'pool', 'pool_size', 'score', 'ties', 'merged_duplicates', 'gold_added', 'pool_unusable',
    'text_to_molecule', 'molecule_to_text', 'skipped', 'scored_pairs', 'pairs_per_second', 'seconds'].sort());
  assert.equal(report.score, 'rerank:50');
  assert.equal(report.ties, 'against gold');
  assert.equal(report.pairs, 23);
  assert.equal(report.pool_size, 20);
  assert.deepEqual(report.skipped.map((s) => s.row), [24, 25]);
  assert.ok(report.text_to_molecule['mrr']! > 0 && report.text_to_molecule['mrr']! <= 1);
  assert.equal(r.stderr, '');   // a small evaluation draws no progress
});

test('orma eval --ranks writes every query\'s rank (the report\'s metrics follow from it); hits-curves.mjs plots them', () => {
  const ranksFile = join(cache, 'ranks.tsv'), svg = join(cache, 'hits.svg');
  const r = orma(['eval', '--model', MODEL, '--data', PAIRS, '--score', 'fused', '--json', '--cache', cache, '--ranks', ranksFile]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & Record<'text_to_molecule' | 'molecule_to_text', Record<string, number>>;
  assert.equal(report['ranks'], undefined);   // in the file, not in the JSON
  const lines = readFileSync(ranksFile, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'direction\tline\trank');
  for (const d of ['text_to_molecule', 'molecule_to_text'] as const) {
    const rows = lines.slice(1).map((l) => l.split('\t')).filter((f) => f[0] === d).map((f) => ({ line: Number(f[1]), rank: Number(f[2]) }));
    assert.equal(rows.length, report[d]['queries']);
    const mrr = rows.reduce((a, x) => a + 1 / x.rank, 0) / rows.length;
    assert.ok(Math.abs(mrr - report[d]['mrr']!) < 1e-9, `${d}: MRR ${mrr} from the file, ${report[d]['mrr']} in the report`);
    assert.ok(Math.abs((100 * rows.filter((x) => x.rank <= 1).length) / rows.length - report[d]['hits@1']!) < 1e-9);
    assert.ok(rows.every((x) => x.line >= 2), 'data-file lines (after the header)');
  }
  // the skipped row 24 (unparsable SMILES) is a text -> molecule miss: rank = pool size
  assert.ok(lines.includes(`text_to_molecule\t24\t${report['pool_size']}`), lines.join('\n'));
  const plot = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'hits-curves.mjs'), svg, `tiny=${ranksFile}`, '--title', 'fixture'], { encoding: 'utf8' });
  assert.equal(plot.status, 0, plot.stderr);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<svg/);
  assert.match(text, /Hits@k/);
  assert.match(text, /molecule → text/);
});

test('orma eval prints a table: pool, tie rule, MoMu, skipped rows', () => {
  const r = orma(['eval', '--model', MODEL, '--data', PAIRS, '--pool', 'split', '--pool', POOL, '--score', 'global', '--momu', '--cache', cache]);
  assert.equal(r.code, 0, r.stderr);
  // merged: the data's C(C) (ethane again), the file's respellings of CID 12417 and of one of its own molecules
  assert.match(r.stdout, /23 pairs; pool split \+ .*pool\.tsv: 30 molecules \(3 duplicate\(s\) merged, 0 gold molecule\(s\) added, 1 unusable left out\)/);
  assert.match(r.stdout, /ties count against the gold item/);
  assert.match(r.stdout, /^Hits@1 %\s+\d+\.\d\d\s+\d+\.\d\d$/m);
  assert.match(r.stdout, /MoMu protocol \(22 pairs, 1 without a usable molecule left out; global score\)/);
  assert.match(r.stdout, /line 24: field 'SMILES': cannot parse SMILES 'C1CC'.*scored as a miss/);
  assert.match(r.stderr, /eval: pool: 1 molecule\(s\) cannot be used and are left out, e\.g\. 999005 N1CC/);
});

test('orma eval: usage errors exit 2, unreadable files exit 1, each naming the culprit', () => {
  const help = orma(['eval', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: orma eval --model DIR --data FILE/);
  assert.match(orma(['--help']).stdout, /\n {2}eval {12}/);
  const noModel = orma(['eval', '--data', PAIRS]);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /orma eval: --model is required/);
  const badScore = orma(['eval', '--model', MODEL, '--data', PAIRS, '--score', 'rerank:x']);
  assert.equal(badScore.code, 2);
  assert.match(badScore.stderr, /--score must be global, fused or rerank:K/);
  const missing = orma(['eval', '--model', MODEL, '--data', join(cache, 'nope.tsv'), '--cache', cache]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /orma eval: data file: cannot read .*nope\.tsv/);
});

test('orma eval --weights: 1,0,0 ranks as --score global does; the weights are echoed; bad weights exit 2', () => {
  const json = (args: string[]) => {
    const r = orma(['eval', '--model', MODEL, '--data', PAIRS, '--json', '--cache', cache, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { weights?: Record<string, number>; text_to_molecule: Record<string, number>; molecule_to_text: Record<string, number> };
  };
  const global = json(['--score', 'global']), onlyGlobal = json(['--score', 'fused', '--weights', '1,0,0']);
  assert.deepEqual(onlyGlobal.weights, { global: 1, local: 0, mid: 0 });
  assert.equal(global.weights, undefined);
  // the same ranking up to float rounding of the cosine: the fused path scales it by the global logit scale
  assert.ok(Math.abs(onlyGlobal.text_to_molecule['mrr']! - global.text_to_molecule['mrr']!) < 1e-3, `${onlyGlobal.text_to_molecule['mrr']} vs ${global.text_to_molecule['mrr']}`);
  const localOnly = json(['--score', 'fused', '--weights', '0,1,0']);
  assert.notDeepEqual(localOnly.text_to_molecule, onlyGlobal.text_to_molecule);
  for (const bad of ['1,0', '1,-1,0', '0,0,0', 'a,b,c']) {
    const r = orma(['eval', '--model', MODEL, '--data', PAIRS, '--weights', bad, '--cache', cache]);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /--weights must be three numbers >= 0/);
  }
});
