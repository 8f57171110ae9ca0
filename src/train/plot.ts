// Training curves as SVG, drawn by Vega-Lite (util/vega.ts): the training loss (total and per grain) and
// the validation MRR of every validation set, over time.
import { vegaLiteSvg } from '../util/vega.js';

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
  return vegaLiteSvg({
    title, hconcat: [panel(points.train, 'loss', 'training loss (InfoNCE, EMA)'), panel(points.validation, 'mrr', 'validation MRR (mean of both directions)')],
    resolve: { scale: { color: 'independent' } },
  });
}
