#!/usr/bin/python3
"""Reference for src/chem/morgan.ts: per-atom Morgan identifiers as Python RDKit reports them.

Run with the Debian interpreter, which has python3-rdkit (2022.09):
    /usr/bin/python3 test/reference/morgan_golden.py --data FILE.tsv [--out OUT.jsonl[.gz]] [--lines 2,5,...]
    /usr/bin/python3 test/reference/morgan_golden.py --data FILE.tsv --select 300 --out OUT.jsonl.gz
    /usr/bin/python3 test/reference/morgan_golden.py --smiles SMILES
    /usr/bin/python3 test/reference/morgan_golden.py --isotopes      # the table of src/chem/isotopes.ts

One JSON object per data row: {"line", "smiles", "r0": [id per atom], "r1": [id or null per atom]}
(or {"line", "smiles", "error"}). The identifiers are those of
`AllChem.GetMorganFingerprint(mol, 1, bitInfo=info)` (ECFP connectivity invariants, no chirality,
bond types on): info maps each identifier to the (atom, radius) pairs that set it, the way Mol2vec's
`mol2alt_sentence` reads them. r1 is null for an atom RDKit reports no radius-1 environment for (an
atom without bonds, or the second atom of a duplicate environment such as a diatomic fragment).
"""
import argparse
import gzip
import json
import sys

from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import AllChem

RDLogger.DisableLog('rdApp.*')


def identifiers(mol):
    info = {}
    AllChem.GetMorganFingerprint(mol, 1, bitInfo=info)
    n = mol.GetNumAtoms()
    r0, r1 = [None] * n, [None] * n
    for ident, hits in info.items():
        for atom, radius in hits:
            (r0 if radius == 0 else r1)[atom] = ident
    return r0, r1


def record(line, smiles):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return {'line': line, 'smiles': smiles, 'error': 'RDKit cannot parse it'}
    r0, r1 = identifiers(mol)
    return {'line': line, 'smiles': smiles, 'r0': r0, 'r1': r1}


def rows(path):
    with open(path, encoding='utf8') as f:
        header = f.readline().rstrip('\n').split('\t')
        col = header.index('SMILES')
        for i, raw in enumerate(f, start=2):
            fields = raw.rstrip('\n').split('\t')
            if len(fields) > col and fields[col]:
                yield i, fields[col]


CATEGORIES = {
    'charged': lambda m: any(a.GetFormalCharge() for a in m.GetAtoms()),
    'aromatic heteroatom': lambda m: any(a.GetIsAromatic() and a.GetAtomicNum() != 6 for a in m.GetAtoms()),
    'isotope': lambda m: any(a.GetIsotope() for a in m.GetAtoms()),
    'H-bearing N': lambda m: any(a.GetAtomicNum() == 7 and a.GetTotalNumHs() for a in m.GetAtoms()),
    'metal': lambda m: any(a.GetAtomicNum() not in (1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 33, 34, 35, 52, 53) for a in m.GetAtoms()),
    'multi-fragment': lambda m: len(Chem.GetMolFrags(m)) > 1,
    'atom without bonds': lambda m: any(a.GetDegree() == 0 for a in m.GetAtoms()),
}


def select(records, count):
    """Up to count/8 molecules of each category (first come), then every 11th other molecule to fill up."""
    per = max(1, count // len(CATEGORIES))
    chosen, taken = [], {k: 0 for k in CATEGORIES}
    for line, smiles in records:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            continue
        hit = [k for k, f in CATEGORIES.items() if taken[k] < per and f(mol)]
        if hit:
            for k in hit:
                taken[k] += 1
            chosen.append(line)
    rest = [line for line, _ in records if line not in set(chosen)]
    chosen += rest[::11][:max(0, count - len(chosen))]
    return set(chosen)


def isotope_table():
    """Atomic weights and the isotopes whose int(mass - weight) differs from int(isotope - weight)."""
    pt = Chem.GetPeriodicTable()
    weights = [pt.GetAtomicWeight(z) for z in range(119)]
    corrections = []
    for z in range(1, 119):
        for iso in range(1, 400):
            mass = pt.GetMassForIsotope(z, iso)
            if mass > 0:
                d = int(mass - weights[z]) - int(iso - weights[z])
                if d:
                    corrections.append([z, iso, d])
    return {'rdkit': rdBase.rdkitVersion, 'weights': weights, 'corrections': corrections}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data')
    ap.add_argument('--out')
    ap.add_argument('--lines', help='comma-separated 1-based data lines to keep')
    ap.add_argument('--select', type=int, help='keep about this many diverse molecules (see select())')
    ap.add_argument('--smiles')
    ap.add_argument('--isotopes', action='store_true')
    a = ap.parse_args()
    if a.isotopes:
        json.dump(isotope_table(), sys.stdout)
        return
    if a.smiles:
        print(json.dumps(record(0, a.smiles)))
        return
    keep = set(int(x) for x in a.lines.split(',')) if a.lines else None
    if a.select:
        keep = select(list(rows(a.data)), a.select)
    out = sys.stdout
    if a.out:
        out = gzip.open(a.out, 'wt', encoding='utf8') if a.out.endswith('.gz') else open(a.out, 'w', encoding='utf8')
    for line, smiles in rows(a.data):
        if keep is None or line in keep:
            out.write(json.dumps(record(line, smiles), separators=(',', ':')) + '\n')
    if out is not sys.stdout:
        out.close()


if __name__ == '__main__':
    main()
