/**
 * CVAT's interpolation of a polygon (or polyline) between two keyframes, as its server does it for exports:
 * `polyshape_interpolation` and `interpolate_position` in `TrackManager.get_interpolated_shapes`
 * (cvat-ai/cvat `cvat/apps/dataset_manager/annotation.py`). The two outlines need not have the same points: each
 * point is placed by its share of the outline's length, matched to the nearest share on the other outline (and
 * every unmatched point of the other to its nearest), the matched pairs moved linearly, and runs of the result
 * thinned where points come closer than half the outline's mean segment. A polygon is closed (its first point
 * repeated) while this runs, and opened again after.
 */
interface P {
  readonly x: number;
  readonly y: number;
}

const toPoints = (flat: readonly number[]): P[] => {
  const out: P[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ x: flat[i] as number, y: flat[i + 1] as number });
  return out;
};
const distance = (a: P, b: P) => Math.sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2);

function curveLength(points: readonly P[]): number {
  let length = 0;
  for (let i = 1; i < points.length; i++) length += distance(points[i] as P, points[i - 1] as P);
  return length;
}

/** Each point's share of the outline's length from its start. */
function offsets(points: readonly P[], length: number): number[] {
  const out = [0];
  let accumulated = 0;
  for (let i = 1; i < points.length; i++) {
    accumulated += distance(points[i] as P, points[i - 1] as P);
    out.push(accumulated / length);
  }
  return out;
}

/** The index of the share nearest `value` (the first of equals). */
function nearest(value: number, curve: readonly number[]): number {
  let best = 0;
  let bestDistance = Math.abs(value - (curve[0] as number));
  for (let i = 1; i < curve.length; i++) {
    const d = Math.abs(value - (curve[i] as number));
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  return best;
}

/** The outline at `offset` (0..1) of the way from `left` to `right`, flat [x, y, ...], as CVAT computes it. */
export function interpolatePosition(
  left: readonly number[],
  right: readonly number[],
  offset: number,
): number[] {
  const leftPoints = toPoints(left);
  const rightPoints = toPoints(right);
  const leftCurve = offsets(leftPoints, curveLength(leftPoints));
  const rightCurve = offsets(rightPoints, curveLength(rightPoints));

  const matching: number[][] = leftCurve.map((share) => [nearest(share, rightCurve)]);
  const matched = new Set(matching.flat());
  for (let r = 0; r < rightCurve.length; r++)
    if (!matched.has(r)) matching[nearest(rightCurve[r] as number, leftCurve)]?.push(r);
  for (const list of matching) list.sort((a, b) => a - b);

  const interpolated: P[] = [];
  leftPoints.forEach((l, i) => {
    for (const r of matching[i] ?? []) {
      const rp = rightPoints[r] as P;
      interpolated.push({ x: l.x + (rp.x - l.x) * offset, y: l.y + (rp.y - l.y) * offset });
    }
  });

  // Where each left point's interpolated points start in `interpolated`.
  const indexes: number[][] = [];
  let accumulated = 0;
  for (const list of matching) {
    indexes.push(list.map(() => accumulated++));
  }
  const reduced: P[] = [];
  const minimize = (baseLength: number, n: number, start: number, stop: number) => {
    const threshold = baseLength / (2 * n);
    const minimized = [interpolated[start] as P];
    let latest = start;
    for (let i = start + 1; i < stop; i++) {
      if (distance(interpolated[latest] as P, interpolated[i] as P) >= threshold) {
        minimized.push(interpolated[i] as P);
        latest = i;
      }
    }
    minimized.push(interpolated[stop] as P);
    const [a, b] = minimized as [P, P];
    if (minimized.length === 2 && distance(a, b) < threshold)
      return [{ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }];
    return minimized;
  };
  const leftSegment = (start: number, stop: number) => {
    const startAt = indexes[start]?.[0] as number;
    const stopAt = indexes[stop]?.[0] as number;
    if (startAt === stopAt) {
      reduced.push(interpolated[startAt] as P);
      return;
    }
    reduced.push(
      ...minimize(curveLength(leftPoints.slice(start, stop + 1)), stop - start + 1, startAt, stopAt),
    );
  };
  const rightSegment = (leftPoint: number) => {
    const list = matching[leftPoint] as number[];
    const start = list[0] as number;
    const stop = list[list.length - 1] as number;
    const at = indexes[leftPoint] as number[];
    reduced.push(
      ...minimize(
        curveLength(rightPoints.slice(start, stop + 1)),
        stop - start + 1,
        at[0] as number,
        at[at.length - 1] as number,
      ),
    );
  };
  let opened: number | undefined;
  for (let i = 0; i < leftPoints.length; i++) {
    const list = matching[i] as number[];
    if (list.length === 1) {
      if (opened !== undefined) {
        if (list[0] === matching[opened]?.[0]) continue;
        leftSegment(opened, i - 1);
      }
      opened = i;
    } else {
      if (opened !== undefined) {
        leftSegment(opened, i - 1);
        opened = undefined;
      }
      rightSegment(i);
    }
  }
  if (opened !== undefined) leftSegment(opened, leftPoints.length - 1);
  return reduced.flatMap((p) => [p.x, p.y]);
}

/** A polygon's points between two keyframes: closed for the computation, opened again, as CVAT does. */
export function interpolatePolygon(
  left: readonly number[],
  right: readonly number[],
  offset: number,
): number[] {
  const closed = (points: readonly number[]) => [...points, ...points.slice(0, 2)];
  return interpolatePosition(closed(left), closed(right), offset).slice(0, -2);
}
