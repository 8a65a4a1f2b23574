/**
 * Web (and TV browsers): arrow keys move focus spatially between focusable controls, Enter
 * presses (React Native Web's pressables handle it; `Focusable` adds it for links), and Escape
 * goes back. A screen that wants the arrows (the player) handles them in the capture
 * phase and calls preventDefault; this listener then leaves them alone.
 */
import { useEffect } from 'react';

import { directionOfKey, pickNext } from './spatial';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';

function visible(el: HTMLElement): boolean {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
}

function typing(el: Element | null, key: string): boolean {
  if (!el) return false;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag !== 'input') return false;
  // In a text field left/right move the caret; up/down leave the field.
  return key === 'ArrowLeft' || key === 'ArrowRight' || key === 'Escape';
}

export function moveFocus(key: string, root: Document = document): boolean {
  const direction = directionOfKey(key);
  if (!direction) return false;
  const all = Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(visible);
  if (all.length === 0) return false;
  const active = root.activeElement as HTMLElement | null;
  if (!active || active === root.body || !all.includes(active)) {
    all[0]?.focus();
    return true;
  }
  const from = active.getBoundingClientRect();
  const others = all.filter((el) => el !== active);
  const i = pickNext(from, others.map((el) => el.getBoundingClientRect()), direction);
  const target = i >= 0 ? others[i] : undefined;
  if (!target) return false;
  target.focus();
  target.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  return true;
}

export function useKeyNavigation(onBack: () => void): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      if (typing(document.activeElement, event.key)) return;
      if (event.key === 'Escape' || event.key === 'GoBack' || event.key === 'BrowserBack') {
        event.preventDefault();
        onBack();
        return;
      }
      if (moveFocus(event.key)) event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onBack]);
}
