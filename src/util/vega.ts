// Vega-Lite specs rendered to SVG headless by Vega (no browser, no canvas): the one renderer behind the
// training curves (train/plot.ts) and the Hits@k curves (eval/plot.ts).
import * as vega from 'vega';
import * as vl from 'vega-lite';

export async function vegaLiteSvg(spec: object): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec };
  const view = new vega.View(vega.parse(vl.compile(full as vl.TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
