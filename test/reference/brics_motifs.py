#!/usr/bin/python3
"""Reference for orma's chemistry layer: RDKit's own BRICS bonds and the official ORMA motif rule.

Run with the Debian interpreter, which has python3-rdkit:  /usr/bin/python3 test/reference/brics_motifs.py ...

Modes
  --data FILE.tsv [--out OUT.jsonl[.gz]]   one JSON object per data row:
        {"line", "smiles", "n_atoms", "brics_bonds": [[i, j], ...], "motifs": [[...], ...]}
        (or {"line", "smiles", "error"} when RDKit cannot parse the row or the rule raises)
  --smiles SMILES                          the same object for one molecule, on stdout
  --features                               add per-atom / per-bond RDKit features (to check orma's derivations)
  --bench                                  time SMILES -> (mol, BRICS bonds, motifs) over --data; print one JSON line

The motif rule follows orma-reference.md section 3.2, written out step by step from that description:
bond cliques, BRICS cuts with singletons, a single forward merge pass with in-loop compaction, the
0 < len < n filter, the ring split of multi-ring cliques, and the filter again. `brics_bonds` keeps
RDKit's FindBRICSBonds order and orientation.
"""
import argparse
import gzip
import json
import sys
import time

from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import BRICS

RDLogger.DisableLog('rdApp.*')


def clique_ring_count(mol, atoms):
    """Number of SSSR rings of the fragment made of `atoms`, rebuilt the way the official code does."""
    kek = Chem.Mol(mol)
    Chem.Kekulize(kek)
    smiles = Chem.MolFragmentToSmiles(kek, atoms, kekuleSmiles=True)
    frag = Chem.MolFromSmiles(smiles, sanitize=False)
    edit = Chem.RWMol()
    for atom in frag.GetAtoms():
        new = Chem.Atom(atom.GetSymbol())
        new.SetFormalCharge(atom.GetFormalCharge())
        new.SetAtomMapNum(atom.GetAtomMapNum())
        edit.AddAtom(new)
    for bond in frag.GetBonds():
        edit.AddBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), bond.GetBondType())
    frag = edit.GetMol()
    Chem.SanitizeMol(frag)  # raises like the official pipeline would
    return len(Chem.GetSymmSSSR(frag))


def official_motifs(mol, brics_bonds):
    n_atoms = mol.GetNumAtoms()
    if n_atoms == 1:
        return [[0]]
    cliques = [[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()]
    for a, b in brics_bonds:
        if [a, b] in cliques:
            cliques.remove([a, b])
        else:
            cliques.remove([b, a])
        cliques.append([a])
        cliques.append([b])
    # one forward pass, compacting after each outer step (as in the official code)
    for c in range(len(cliques) - 1):
        if c >= len(cliques):
            break
        for k in range(c + 1, len(cliques)):
            if k >= len(cliques):
                break
            if set(cliques[c]) & set(cliques[k]):
                cliques[c] = list(set(cliques[c]) | set(cliques[k]))
                cliques[k] = []
        cliques = [x for x in cliques if len(x) > 0]
    cliques = [x for x in cliques if 0 < len(x) < n_atoms]
    rings = [list(r) for r in Chem.GetSymmSSSR(mol)]
    for i in range(len(cliques)):
        c = cliques[i]
        if clique_ring_count(mol, c) > 1:
            for ring in rings:
                if set(ring) <= set(c):
                    cliques.append(list(ring))
                    cliques[i] = list(set(cliques[i]) - set(ring))
    return [x for x in cliques if 0 < len(x) < n_atoms]


HYB = {Chem.HybridizationType.S: 'S', Chem.HybridizationType.SP: 'SP', Chem.HybridizationType.SP2: 'SP2',
       Chem.HybridizationType.SP3: 'SP3', Chem.HybridizationType.SP3D: 'SP3D', Chem.HybridizationType.SP3D2: 'SP3D2'}


def features(mol):
    atoms = [{
        'z': a.GetAtomicNum(), 'chiral': str(a.GetChiralTag()), 'degree': a.GetDegree(),
        'charge': a.GetFormalCharge(), 'hs': a.GetTotalNumHs(), 'radicals': a.GetNumRadicalElectrons(),
        'hyb': HYB.get(a.GetHybridization(), 'OTHER'), 'aromatic': a.GetIsAromatic(), 'ring': a.IsInRing(),
    } for a in mol.GetAtoms()]
    bonds = [{
        'atoms': [b.GetBeginAtomIdx(), b.GetEndAtomIdx()], 'type': str(b.GetBondType()),
        'stereo': str(b.GetStereo()), 'conjugated': b.GetIsConjugated(), 'ring': b.IsInRing(),
    } for b in mol.GetBonds()]
    return atoms, bonds


def process(line, smiles, with_features):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return {'line': line, 'smiles': smiles, 'error': 'RDKit cannot parse'}
    try:
        brics = [list(pair) for pair, _labels in BRICS.FindBRICSBonds(mol)]
        motifs = official_motifs(mol, brics)
    except Exception as err:  # the official code would crash on this molecule
        return {'line': line, 'smiles': smiles, 'error': f'{type(err).__name__}: {err}'}
    out = {'line': line, 'smiles': smiles, 'n_atoms': mol.GetNumAtoms(), 'brics_bonds': brics, 'motifs': motifs}
    if with_features:
        out['atoms'], out['bonds'] = features(mol)
    return out


def read_rows(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf8') as fh:
        header = fh.readline().rstrip('\n').split('\t')
        col = next(i for i, h in enumerate(header) if h in ('SMILES', 'smiles', 'CanonicalSMILES'))
        for n, raw in enumerate(fh, start=2):
            fields = raw.rstrip('\n').split('\t')
            if len(fields) > col and fields[col]:
                yield n, fields[col]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data')
    ap.add_argument('--smiles')
    ap.add_argument('--out')
    ap.add_argument('--features', action='store_true')
    ap.add_argument('--bench', action='store_true')
    args = ap.parse_args()
    if args.smiles is not None:
        print(json.dumps(process(1, args.smiles, args.features)))
        return
    if not args.data:
        ap.error('give --data or --smiles')
    rows = list(read_rows(args.data))
    if args.bench:
        t0 = time.perf_counter()
        failures = 0
        for line, smiles in rows:
            if 'error' in process(line, smiles, False):
                failures += 1
        secs = time.perf_counter() - t0
        print(json.dumps({'rdkit': rdBase.rdkitVersion, 'molecules': len(rows), 'failures': failures,
                          'seconds': secs, 'molecules_per_second': len(rows) / secs}))
        return
    out = (gzip.open(args.out, 'wt', encoding='utf8', compresslevel=9) if args.out and args.out.endswith('.gz')
           else open(args.out, 'w', encoding='utf8') if args.out else sys.stdout)
    for line, smiles in rows:
        out.write(json.dumps(process(line, smiles, args.features), separators=(',', ':')) + '\n')
    if out is not sys.stdout:
        out.close()


if __name__ == '__main__':
    main()
