// Training curves as SVG, drawn by Vega-Lite (rendered headless by Vega; no browser, no canvas):
// the training loss (total and per grain) and the validation MRR of every validation set, over time.
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface CurvePoints {
  train: { minutes: number; step: number; series: string; loss: number }[];
  validation: { minutes: number; step: number; series: string; mrr: number }[];
}

export async function trainingCurvesSvg(points: CurvePoints, title: string): Promise<string> {
  const panel = (data: object[], y: string, yTitle: string) => ({
    data: { values: data }, width: 420, height: 240,
    mark: { type: 'line', point: data.length < 200 },
    encoding: {
      x: { field: 'minutes', type: 'quantitative', title: 'training time (minutes)' },
      y: { field: y, type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title, hconcat: [panel(points.train, 'loss', 'training loss (InfoNCE, EMA)'), panel(points.validation, 'mrr', 'validation MRR (mean of both directions)')],
    resolve: { scale: { color: 'independent' } },
  };
  const view = new vega.View(vega.parse(vl.compile(spec as vl.TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
