// The page's HTML shell; the behaviour is /assets/main.js (built by esbuild from src/server/web/).
// No external CDN, font or image: everything comes from this server, so it works offline.
export function pageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>orma: text &harr; molecule search</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/main.css">
<script type="module" src="/assets/main.js"></script>
</head>
<body>
<a class="skip" href="#results">Skip to results</a>
<header>
  <h1>orma</h1>
  <p class="tag">Find molecules from a description, or descriptions from a SMILES, and see which words matched which parts.</p>
</header>
<main>
  <form id="search" role="search" autocomplete="off" novalidate>
    <div class="row">
      <label for="q">Description or SMILES</label>
      <input id="q" name="q" type="search" maxlength="2000" required placeholder="e.g. an aromatic carboxylic acid used as a painkiller, or CC(=O)Oc1ccccc1C(=O)O" aria-describedby="mode">
    </div>
    <div class="row">
      <label for="sub">Substructure <span class="opt">(optional SMILES, text search only)</span></label>
      <input id="sub" name="sub" type="text" maxlength="1000" spellcheck="false" placeholder="e.g. c1ccccc1">
    </div>
    <div class="row inline">
      <label class="check"><input id="rerank" type="checkbox" checked> Rerank with fine-grained scores</label>
      <button id="go" type="submit">Search</button>
    </div>
    <p id="mode" class="mode" aria-live="polite"></p>
  </form>
  <div id="status" role="status" aria-live="polite"></div>
  <section id="results" aria-label="Results" tabindex="-1"></section>
  <section id="explain" aria-label="Explanation" hidden tabindex="-1"></section>
</main>
<footer><a href="/api/docs">API (OpenAPI)</a> &middot; <a href="/healthz">health</a></footer>
</body>
</html>
`;
}
