// `orma data download|check`: fetch the public benchmarks (pinned digests, resumable) and check any
// pair file before training on it.
import { CliError, numberFlag, parseCommandArgs } from '../args.js';
import { DATASETS, DownloadError, downloadDataset } from '../../data/download.js';
import { checkFile, formatReports, reportOk } from '../../data/check.js';

const HELP = `usage: orma data download chebi20|pcdes... --out DIR [--mirror URL] [--timeout S] [--retries N]
       orma data check FILE... [--json] [--max N]

download   fetches the benchmark's public files over HTTPS into DIR/raw/NAME/, checks each file's
           git blob id against the pinned one, and converts them to TSVs in DIR/NAME/:
             chebi20  MolT5 ChEBI-20_data/{train,validation,test}.txt
                      -> train.tsv.gz, validation.tsv, test.tsv (CID, SMILES, description)
             pcdes    KV-PLM Ret/align_smiles.txt + Ret/align_des_filt3.txt
                      -> train.tsv.gz (0-10,499), validation.tsv (10,500-11,999), test.tsv
                         (12,000-14,999) (index, CID, SMILES, description)
           A broken transfer resumes (in the run, and in the next run from NAME.part); a file with the
           wrong digest is removed. Offline: run it where there is a network and copy DIR over.
  --out DIR        output folder
  --mirror URL     fetch from URL/<upstream path> instead of https://raw.githubusercontent.com
                   (for example URL/blender-nlp/MolT5/<commit>/ChEBI-20_data/train.txt)
  --timeout S      seconds to wait for an answer, and for the next byte (default 30)
  --retries N      attempts after a broken transfer (default 5)

check      reports, for each pair file (TSV, CSV or JSONL; .gz is fine): rows, the columns detected,
           empty fields, SMILES RDKit cannot parse (line and reason), duplicate molecules, and
           molecules shared with the benchmark evaluation splits. Exit 1 if a file cannot be read
           or has unusable rows (bad rows, empty SMILES or description, unparsable SMILES).
  --json           print one JSON object {"ok", "files": [...]} with every finding
  --max N          findings of each kind shown per file in the table (default 10)
  -h, --help       this help`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    out: { type: 'string' }, mirror: { type: 'string' }, timeout: { type: 'string' }, retries: { type: 'string' },
    json: { type: 'boolean' }, max: { type: 'string' },
  }, HELP, true);
  if (!args) return 0;
  const [sub, ...rest] = args.positionals;
  const v = args.values;
  if (sub === 'download') {
    if (!rest.length) throw new CliError(`name a data set: ${Object.keys(DATASETS).join(', ')}\n\n${HELP}`);
    for (const name of rest) if (!DATASETS[name]) throw new CliError(`unknown data set '${name}' (known: ${Object.keys(DATASETS).join(', ')})`);
    if (!v.out) throw new CliError('download needs --out DIR');
    const timeoutMs = numberFlag(v.timeout as string | undefined, 'timeout', 30) * 1000;
    const retries = numberFlag(v.retries as string | undefined, 'retries', 5);
    if (timeoutMs <= 0 || retries < 0) throw new CliError('--timeout must be > 0 and --retries >= 0');
    for (const name of rest) {
      try {
        await downloadDataset(DATASETS[name]!, v.out as string, {
          mirror: v.mirror as string | undefined, connectTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs, retries,
        });
      } catch (err) {
        if (err instanceof DownloadError) throw new CliError(err.message, 1);
        throw err;
      }
    }
    return 0;
  }
  if (sub === 'check') {
    if (!rest.length) throw new CliError(`name at least one file\n\n${HELP}`);
    const max = numberFlag(v.max as string | undefined, 'max', 10);
    const reports = [];
    for (const file of rest) reports.push(await checkFile(file));
    const ok = reports.every(reportOk);
    if (v.json) console.log(JSON.stringify({ ok, files: reports }));
    else console.log(formatReports(reports, max));
    return ok ? 0 : 1;
  }
  throw new CliError(sub ? `unknown sub-command '${sub}' (download or check)\n\n${HELP}` : HELP);
}
