/**
 * Spatial navigation: which focusable box an arrow key (or a D-pad press) moves to. Pure over
 * rectangles, so the web key handler and tests share it. A candidate must lie in the direction
 * pressed; the nearest wins, with sideways offset weighing more than distance so that moving
 * right along a row stays in the row.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Direction = 'up' | 'down' | 'left' | 'right';

const TOLERANCE = 1;
const SIDEWAYS_WEIGHT = 3;

/** Distance between intervals [a0, a1] and [b0, b1] (0 when they overlap). */
function gap(a0: number, a1: number, b0: number, b1: number): number {
  if (b1 < a0) return a0 - b1;
  if (b0 > a1) return b0 - a1;
  return 0;
}

export function score(from: Rect, to: Rect, direction: Direction): number | null {
  const fromRight = from.x + from.width;
  const fromBottom = from.y + from.height;
  const toRight = to.x + to.width;
  const toBottom = to.y + to.height;
  let ahead: number;
  let sideways: number;
  switch (direction) {
    case 'right':
      ahead = to.x - fromRight;
      sideways = gap(from.y, fromBottom, to.y, toBottom);
      if (toRight <= fromRight || to.x < from.x + from.width / 2 - TOLERANCE) return null;
      break;
    case 'left':
      ahead = from.x - toRight;
      sideways = gap(from.y, fromBottom, to.y, toBottom);
      if (to.x >= from.x || toRight > from.x + from.width / 2 + TOLERANCE) return null;
      break;
    case 'down':
      ahead = to.y - fromBottom;
      sideways = gap(from.x, fromRight, to.x, toRight);
      if (toBottom <= fromBottom || to.y < from.y + from.height / 2 - TOLERANCE) return null;
      break;
    case 'up':
      ahead = from.y - toBottom;
      sideways = gap(from.x, fromRight, to.x, toRight);
      if (to.y >= from.y || toBottom > from.y + from.height / 2 + TOLERANCE) return null;
      break;
  }
  return Math.max(0, ahead) + SIDEWAYS_WEIGHT * sideways;
}

/**
 * The index of the candidate to move to, or -1 when nothing lies that way. Boxes that share the
 * current one's row (for left/right) or column (for up/down) come first, so the end of a short
 * row does not jump to a far-off control diagonally above it.
 */
export function pickNext(from: Rect, candidates: readonly Rect[], direction: Direction): number {
  let best = -1;
  let bestScore = Infinity;
  let bestAligned = false;
  candidates.forEach((rect, i) => {
    if (rect.width <= 0 || rect.height <= 0) return;
    const s = score(from, rect, direction);
    if (s === null) return;
    const aligned =
      direction === 'left' || direction === 'right'
        ? gap(from.y, from.y + from.height, rect.y, rect.y + rect.height) === 0
        : gap(from.x, from.x + from.width, rect.x, rect.x + rect.width) === 0;
    if ((aligned && !bestAligned) || (aligned === bestAligned && s < bestScore)) {
      best = i;
      bestScore = s;
      bestAligned = aligned;
    }
  });
  if (!bestAligned && (direction === 'left' || direction === 'right')) return -1;
  return best;
}

export function directionOfKey(key: string): Direction | null {
  switch (key) {
    case 'ArrowUp':
      return 'up';
    case 'ArrowDown':
      return 'down';
    case 'ArrowLeft':
      return 'left';
    case 'ArrowRight':
      return 'right';
    default:
      return null;
  }
}
