/**
 * The benchmark's plot as plain SVG (no charting dependency for two groups of three bars): events/s by batch size
 * for each implementation, from the unthrottled pass. bench/RESULTS.md shows it.
 */
export interface ChartRow {
  readonly impl: string;
  readonly caseName: string;
  readonly eventsPerSecond: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c"];
const escapeXml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

export function chart(rows: readonly ChartRow[]): string {
  const groups = [...new Set(rows.map((r) => r.caseName))];
  const impls = [...new Set(rows.map((r) => r.impl))];
  const max = Math.max(1, ...rows.map((r) => r.eventsPerSecond));
  const width = 720;
  const height = 360;
  const left = 70;
  const bottom = 300;
  const top = 40;
  const groupWidth = (width - left - 20) / Math.max(1, groups.length);
  const barWidth = (groupWidth - 40) / Math.max(1, impls.length);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="title" width="${width}" height="${height + 20 * impls.length}" viewBox="0 0 ${width} ${height + 20 * impls.length}" font-family="sans-serif" font-size="12">`,
    `<title id="title">${escapeXml(`Events per second by batch size: ${impls.join(", ")}`)}</title>`,
    `<text x="${left}" y="20" font-size="14">Events/s by batch size (unthrottled, stand-in answering in about 50 ms)</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString("en-US")}</text>`,
      `<line x1="${left}" y1="${y(v)}" x2="${width - 10}" y2="${y(v)}" stroke="#ddd"/>`,
    );
  }
  groups.forEach((group, g) => {
    const x0 = left + 20 + g * groupWidth;
    impls.forEach((impl, i) => {
      const row = rows.find((r) => r.caseName === group && r.impl === impl);
      const v = row?.eventsPerSecond ?? 0;
      const x = x0 + i * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barWidth - 6).toFixed(1)}" height="${(bottom - y(v)).toFixed(1)}" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${(x + (barWidth - 6) / 2).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle">${Math.round(v).toLocaleString("en-US")}</text>`,
      );
    });
    parts.push(
      `<text x="${(x0 + (impls.length * barWidth) / 2).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${escapeXml(group)}</text>`,
    );
  });
  impls.forEach((impl, i) => {
    const yy = height + 10 + 20 * i;
    parts.push(
      `<rect x="${left}" y="${yy - 10}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${left + 18}" y="${yy}">${escapeXml(impl)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
