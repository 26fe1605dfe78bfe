export interface Bar {
  key: string;
  label: string;
  value: number;
}

const WIDTH = 480;
const HEIGHT = 220;
const TOP = 24; // room for the value above the tallest bar
const BOTTOM = 40; // room for the labels
const GAP = 24;

/**
 * A bar chart in plain SVG: no chart library, no inline styles (colours come from CSS classes,
 * sizes are SVG attributes), so it runs under `style-src 'self'`. Each bar carries its value
 * as text and in its `<title>`, and the whole chart has a text alternative.
 */
export function BarChart({ bars, title, testId }: { bars: Bar[]; title: string; testId: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = (WIDTH - GAP) / bars.length;
  const barWidth = slot - GAP;
  const plot = HEIGHT - TOP - BOTTOM;
  const summary = bars.map((b) => `${b.label}: ${b.value}`).join(', ');
  return (
    <svg className="bar-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}. ${summary}`} data-testid={testId}>
      <title>{title}</title>
      <line className="axis" x1={GAP / 2} x2={WIDTH - GAP / 2} y1={TOP + plot} y2={TOP + plot} />
      {bars.map((b, i) => {
        const h = Math.round((b.value / max) * plot);
        const x = GAP + i * slot;
        const y = TOP + plot - h;
        return (
          <g key={b.key} className={`bar bar-${b.key}`} data-testid={`bar-${b.key}`} data-value={b.value}>
            <rect x={x} y={y} width={barWidth} height={Math.max(h, 1)}>
              <title>{`${b.label}: ${b.value}`}</title>
            </rect>
            <text className="bar-value" x={x + barWidth / 2} y={y - 6} textAnchor="middle">
              {b.value}
            </text>
            <text className="bar-label" x={x + barWidth / 2} y={TOP + plot + 18} textAnchor="middle">
              {b.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
