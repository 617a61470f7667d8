/** A uPlot line chart of an answer that is a time series (see time-series.ts); nothing otherwise. */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { QueryResult } from './result.js';
import { type TimeSeries, timeSeriesOf } from './time-series.js';

const HEIGHT = 260;
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

function chartOptions(series: TimeSeries, width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    // The lake's times are UTC; so are the axis and the legend.
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
    series: [
      { label: `${series.timeColumn} (UTC)` },
      ...series.series.map((s, i) => ({
        label: s.name,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        points: { show: series.x.length <= 60 },
      })),
    ],
    axes: [{ grid: { stroke: '#eef0f3' } }, { grid: { stroke: '#eef0f3' }, size: 60 }],
    cursor: { drag: { x: true, y: false } },
  };
}

export function ResultChart(props: { result: QueryResult }) {
  const series = useMemo(() => timeSeriesOf(props.result), [props.result]);
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = host.current;
    if (!series || !element) return;
    const data: uPlot.AlignedData = [series.x, ...series.series.map((s) => s.values)];
    const chart = new uPlot(chartOptions(series, Math.max(element.clientWidth, 300)), data, element);
    // Follow the page's width; a hidden page (width 0) keeps the last size.
    const observer = new ResizeObserver(() => {
      if (element.clientWidth > 0) chart.setSize({ width: element.clientWidth, height: HEIGHT });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [series]);

  if (!series) return null;
  return <div class="result-chart" data-testid="result-chart" ref={host} />;
}
