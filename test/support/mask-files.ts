import { encode } from "fast-png";

/**
 * The mask files of the tests' Labelbox, Scale and Ground Truth fixtures (80 x 60 pixels), drawn here so each
 * test can count the pixels it expects by hand: rectangles `[x0, y0, x1, y1)` filled with one value.
 */
export const W = 80;
export const H = 60;
type Rect = readonly [number, number, number, number];

function paint(
  channels: number,
  fills: readonly { rect: Rect; value: readonly number[] }[],
  depth: 8 | 16 = 8,
) {
  const data = depth === 16 ? new Uint16Array(W * H * channels) : new Uint8Array(W * H * channels);
  for (const { rect, value } of fills)
    for (let y = rect[1]; y < rect[3]; y++)
      for (let x = rect[0]; x < rect[2]; x++)
        for (let c = 0; c < channels; c++) data[(y * W + x) * channels + c] = value[c] as number;
  return data;
}

/**
 * Labelbox's composite mask (RGBA, transparent elsewhere): the road (142, 220, 196) in [0, 0, 40, 30) = 1,200
 * pixels, the sidewalk (224, 17, 103) in [50, 40, 80, 60) = 600 pixels.
 */
export const labelboxComposite = () =>
  encode({
    width: W,
    height: H,
    channels: 4,
    depth: 8,
    data: paint(4, [
      { rect: [0, 0, 40, 30], value: [142, 220, 196, 255] },
      { rect: [50, 40, 80, 60], value: [224, 17, 103, 255] },
    ]),
  });

/** Labelbox's single-instance mask (RGB, white on black): [10, 10, 30, 20) = 200 pixels. */
export const labelboxInstance = () =>
  encode({
    width: W,
    height: H,
    channels: 3,
    depth: 8,
    data: paint(3, [{ rect: [10, 10, 30, 20], value: [255, 255, 255] }]),
  });

/**
 * Ground Truth's semantic segmentation (a palette PNG: 0 white BACKGROUND, 1 road #2ca02c, 2 sidewalk #1f77b4,
 * 3 bicycle #ff7f0e): the road [0, 0, 80, 30) = 2,400 pixels, the sidewalk [0, 30, 20, 60) = 600, no bicycle.
 */
export const groundTruthSegmentation = () =>
  encode({
    width: W,
    height: H,
    channels: 1,
    depth: 8,
    palette: [
      [255, 255, 255],
      [0x2c, 0xa0, 0x2c],
      [0x1f, 0x77, 0xb4],
      [0xff, 0x7f, 0x0e],
    ],
    data: paint(1, [
      { rect: [0, 0, 80, 30], value: [1] },
      { rect: [0, 30, 20, 60], value: [2] },
    ]),
  });

/**
 * Scale's `indexedImage` (8-bit grayscale): road 1 in [0, 0, 80, 20) = 1,600 pixels, sidewalk 2 in [0, 20, 80, 30)
 * = 800, person instance 3 in [0, 40, 10, 50) = 100, person instance 4 in [20, 40, 30, 45) = 50.
 */
export const scaleIndexed = () =>
  encode({
    width: W,
    height: H,
    channels: 1,
    depth: 8,
    data: paint(1, [
      { rect: [0, 0, 80, 20], value: [1] },
      { rect: [0, 20, 80, 30], value: [2] },
      { rect: [0, 40, 10, 50], value: [3] },
      { rect: [20, 40, 30, 45], value: [4] },
    ]),
  });
