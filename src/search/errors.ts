// The one error type of the search API: bad input from the caller (an empty text, a SMILES RDKit cannot
// parse, a SMARTS it cannot read, a bad option), naming the field so a form or a CLI can point at it.
export class SearchError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = 'SearchError';
  }
}
