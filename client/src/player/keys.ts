/**
 * Keyboard shortcuts of the web player (and a TV remote's media keys), as pure data:
 * `commandForKey(key)` names the command; the view carries it out.
 *
 *   space / k        play or pause          f   fullscreen
 *   left / right     back / forward 10 s    m   mute
 *   up / down        volume                 c   captions on or off
 *   j / l            back / forward 10 s    Escape: leave fullscreen, else go back
 */

export type PlayerCommand =
  | { type: 'toggle-play' }
  | { type: 'seek-by'; seconds: number }
  | { type: 'volume-by'; delta: number }
  | { type: 'toggle-fullscreen' }
  | { type: 'toggle-mute' }
  | { type: 'toggle-captions' }
  | { type: 'back' };

export const SEEK_STEP_S = 10;
export const VOLUME_STEP = 0.1;

export interface KeyLike {
  key: string;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
}

export function commandForKey(event: KeyLike): PlayerCommand | null {
  if (event.altKey || event.ctrlKey || event.metaKey) return null;
  switch (event.key) {
    case ' ':
    case 'Spacebar':
    case 'k':
    case 'K':
    case 'MediaPlayPause':
      return { type: 'toggle-play' };
    case 'ArrowLeft':
    case 'j':
    case 'J':
    case 'MediaRewind':
      return { type: 'seek-by', seconds: -SEEK_STEP_S };
    case 'ArrowRight':
    case 'l':
    case 'L':
    case 'MediaFastForward':
      return { type: 'seek-by', seconds: SEEK_STEP_S };
    case 'ArrowUp':
      return { type: 'volume-by', delta: VOLUME_STEP };
    case 'ArrowDown':
      return { type: 'volume-by', delta: -VOLUME_STEP };
    case 'f':
    case 'F':
      return { type: 'toggle-fullscreen' };
    case 'm':
    case 'M':
      return { type: 'toggle-mute' };
    case 'c':
    case 'C':
      return { type: 'toggle-captions' };
    case 'Escape':
    case 'GoBack':
    case 'BrowserBack':
      return { type: 'back' };
    default:
      return null;
  }
}

/**
 * Whether a key press belongs to a focused control rather than the player: typing in a field,
 * and Space/Enter/arrows on a focused button or menu (they press or move within it).
 */
export function keyBelongsToControl(key: string, targetTag: string | null, role: string | null): boolean {
  const tag = (targetTag ?? '').toLowerCase();
  if (tag === 'input' || tag === 'textarea' || tag === 'select') return true;
  const interactive = tag === 'button' || tag === 'a' || role === 'button' || role === 'menuitem' || role === 'radio';
  if (!interactive) return false;
  return key === ' ' || key === 'Enter' || key === 'ArrowUp' || key === 'ArrowDown';
}
