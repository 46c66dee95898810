/**
 * The README's flow diagram as SVG, drawn from a small text source (docs/flow.txt) so it can be changed without a
 * drawing tool: nodes on a grid (column, row) with labels split on "|", and labelled arrows between them.
 * `npm run docs` writes docs/flow.svg; its check fails when the committed drawing differs.
 */
interface Node {
  readonly id: string;
  readonly col: number;
  readonly row: number;
  readonly lines: string[];
}

const W = 180;
const H = 74;
const GAP_X = 80;
const GAP_Y = 46;
const PAD = 16;

const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function flowSvg(source: string): string {
  const nodes = new Map<string, Node>();
  let title = "diagram";
  const edges: { from: string; to: string; label: string }[] = [];
  for (const [i, raw] of source.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const titled = /^title (.+)$/.exec(line);
    if (titled) {
      title = titled[1] as string;
      continue;
    }
    const node = /^node (\S+) (\d+) (\d+) (.+)$/.exec(line);
    const edge = /^edge (\S+) (\S+) (.+)$/.exec(line);
    if (node) {
      const [, id, col, row, label] = node as unknown as [string, string, string, string, string];
      nodes.set(id, { id, col: Number(col), row: Number(row), lines: label.split("|") });
    } else if (edge) {
      const [, from, to, label] = edge as unknown as [string, string, string, string];
      edges.push({ from, to, label });
    } else throw new Error(`docs/flow.txt line ${i + 1}: not "title ...", "node ..." or "edge ...": ${line}`);
  }
  const x = (n: Node) => PAD + n.col * (W + GAP_X);
  const y = (n: Node) => PAD + n.row * (H + GAP_Y);
  const cols = Math.max(...[...nodes.values()].map((n) => n.col)) + 1;
  const rows = Math.max(...[...nodes.values()].map((n) => n.row)) + 1;
  const width = PAD * 2 + cols * W + (cols - 1) * GAP_X;
  const height = PAD * 2 + rows * H + (rows - 1) * GAP_Y;
  const parts: string[] = [];
  for (const n of nodes.values()) {
    parts.push(
      `<rect x="${x(n)}" y="${y(n)}" width="${W}" height="${H}" rx="8" fill="#f4f7fb" stroke="#3b5b8a"/>`,
    );
    const top = y(n) + H / 2 - ((n.lines.length - 1) * 15) / 2 + 5;
    for (const [i, l] of n.lines.entries())
      parts.push(
        `<text x="${x(n) + W / 2}" y="${top + i * 15}" text-anchor="middle"${i === 0 ? ' font-weight="bold"' : ""}>${xmlText(l)}</text>`,
      );
  }
  for (const e of edges) {
    const a = nodes.get(e.from);
    const b = nodes.get(e.to);
    if (!a || !b) throw new Error(`docs/flow.txt: edge ${e.from} -> ${e.to} names an unknown node`);
    // From the side facing the other node, to the side facing back.
    const sameRow = a.row === b.row;
    const [x1, y1, x2, y2] = sameRow
      ? [x(a) + W, y(a) + H / 2, x(b), y(b) + H / 2]
      : a.col === b.col
        ? [x(a) + W / 2, y(a) + (b.row > a.row ? H : 0), x(b) + W / 2, y(b) + (b.row > a.row ? 0 : H)]
        : [x(a) + (b.col > a.col ? W : 0), y(a) + H / 2, x(b) + (b.col > a.col ? 0 : W), y(b) + H / 2];
    parts.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#3b5b8a" marker-end="url(#arrow)"/>`,
    );
    const lx = (x1 + x2) / 2;
    const ly = sameRow ? y1 - 6 : (y1 + y2) / 2 - 4;
    parts.push(
      `<text x="${lx}" y="${ly}" text-anchor="middle" font-size="11" fill="#555">${xmlText(e.label)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="flow-title">
<title id="flow-title">${xmlText(title)}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#3b5b8a"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
${parts.join("\n")}
</svg>
`;
}
