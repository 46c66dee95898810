/**
 * CVAT video job bodies as the puller queues them (`cvat: "job-video"`): job 77 of task 31 in project 5 (the
 * mapping key `cvat:5`), one label `car` (101), the video `traffic/clip-9.mp4` (input `clip-9`).
 */
export interface TrackSpec {
  readonly id: number;
  /** Keyframes: frame and the box's left edge x; boxes are `size` px square at y. */
  readonly keyframes: readonly { frame: number; x: number }[];
}

export function cvatVideoJob(options: {
  readonly updatedAt?: string;
  readonly stopFrame: number;
  readonly tracks: readonly TrackSpec[];
  readonly size?: number;
  readonly y?: number;
  readonly media?: { width: number; height: number };
}): string {
  const { size = 50, y = 10 } = options;
  const rect = (frame: number, x: number) => ({
    type: "rectangle",
    frame,
    label_id: 101,
    points: [x, y, x + size, y + size],
    rotation: 0,
    outside: false,
  });
  return JSON.stringify({
    cvat: "job-video",
    job: {
      id: 77,
      task_id: 31,
      project_id: 5,
      updated_date: options.updatedAt ?? "2026-11-30T08:00:00Z",
      assignee: { id: 9, username: "mira" },
      start_frame: 0,
      stop_frame: options.stopFrame,
    },
    media: { name: "traffic/clip-9.mp4", ...(options.media ?? { width: 640, height: 360 }) },
    labels: [{ id: 101, name: "car" }],
    shapes: [],
    tracks: options.tracks.map((t) => ({
      id: t.id,
      label_id: 101,
      shapes: t.keyframes.map((k) => rect(k.frame, k.x)),
    })),
    tags: 0,
  });
}

/**
 * A track over a video of `frames` frames, as the puller queues the job: keyframes at frame 0 (x 96 px) and at the
 * middle frame (x 1,632 px of 1,920), held to the last frame; boxes of 100 px at y 200.
 */
export const cvatVideoTrack = (frames: number): string =>
  cvatVideoJob({
    stopFrame: frames - 1,
    size: 100,
    y: 200,
    media: { width: 1920, height: 1080 },
    tracks: [
      {
        id: 12,
        keyframes: [
          { frame: 0, x: 96 },
          { frame: Math.floor(frames / 2) - 1, x: 1_632 },
        ],
      },
    ],
  });
