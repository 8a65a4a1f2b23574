import { ariaState } from '../tv/Focusable';
import { AA_NON_TEXT, AA_TEXT, contrastRatio } from '../theme/contrast';
import { breakpoint, colors, gridColumns, nonTextPairs, textPairs, typeScale } from '../theme';
import { pickNext, type Rect } from '../tv/spatial';

describe('contrast', () => {
  it('computes the WCAG ratio', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  it.each(textPairs.map(([fg, bg]) => [fg, bg]))('text %s on %s passes AA', (fg, bg) => {
    expect(contrastRatio(colors[fg as keyof typeof colors], colors[bg as keyof typeof colors])).toBeGreaterThanOrEqual(AA_TEXT);
  });

  it.each(nonTextPairs.map(([fg, bg]) => [fg, bg]))('focus ring %s on %s passes 3:1', (fg, bg) => {
    expect(contrastRatio(colors[fg as keyof typeof colors], colors[bg as keyof typeof colors])).toBeGreaterThanOrEqual(AA_NON_TEXT);
  });
});

describe('responsive layout', () => {
  it.each([
    [375, false, 'phone'],
    [800, false, 'tablet'],
    [1280, false, 'desktop'],
    [1920, false, 'tv'],
    [3840, false, 'tv'],
    [960, true, 'tv'],
  ])('%d wide (tv=%s) is %s', (width, tv, bp) => {
    expect(breakpoint(width, tv)).toBe(bp);
  });

  it('grows type on a TV and fits more poster columns on wider screens', () => {
    expect(typeScale('tv').body.fontSize).toBeGreaterThan(typeScale('phone').body.fontSize ?? 0);
    expect(gridColumns(375, 'phone')).toBe(3);
    expect(gridColumns(3840, 'tv')).toBeGreaterThan(gridColumns(1920, 'tv'));
  });
});

describe('spatial navigation', () => {
  // A 3x2 grid of 100x150 posters with 10-pt gaps, and a header button above the first.
  const cell = (col: number, row: number): Rect => ({ x: col * 110, y: 60 + row * 160, width: 100, height: 150 });
  const header: Rect = { x: 0, y: 0, width: 80, height: 40 };
  const rects = [header, cell(0, 0), cell(1, 0), cell(2, 0), cell(0, 1), cell(1, 1), cell(2, 1)];

  it.each<[string, Rect, 'up' | 'down' | 'left' | 'right', number]>([
    ['right along a row', cell(0, 0), 'right', 2],
    ['left along a row', cell(2, 1), 'left', 5],
    ['down a column', cell(1, 0), 'down', 5],
    ['up a column', cell(2, 1), 'up', 3],
    ['up to the header', cell(0, 0), 'up', 0],
    ['nothing right of the last column', cell(2, 0), 'right', -1],
    ['nothing below the last row', cell(0, 1), 'down', -1],
  ])('%s', (_name, from, direction, expected) => {
    const candidates = rects.map((r) => (r === from ? { ...r, width: 0 } : r));
    expect(pickNext(from, candidates, direction)).toBe(expected);
  });

  it('does not jump from the end of a row to a menu diagonally above', () => {
    const card: Rect = { x: 0, y: 60, width: 200, height: 150 };
    const menu = [{ x: 250, y: 0, width: 80, height: 40 }, { x: 340, y: 0, width: 80, height: 40 }];
    expect(pickNext(card, menu, 'right')).toBe(-1);
    expect(pickNext(card, menu, 'up')).toBe(0);
  });

  it('goes down to the nearest box of a row that is not aligned', () => {
    const from: Rect = { x: 500, y: 0, width: 80, height: 40 };
    const row = [{ x: 0, y: 100, width: 100, height: 100 }, { x: 110, y: 100, width: 100, height: 100 }];
    expect(pickNext(from, row, 'down')).toBe(1);
  });
});

describe('ariaState', () => {
  it('says "chosen" the way each role allows', () => {
    expect(ariaState('link', true, undefined)).toEqual({ current: 'page' });
    expect(ariaState('link', false, undefined)).toEqual({});
    expect(ariaState('radio', true, undefined)).toEqual({ checked: true });
    expect(ariaState('checkbox', undefined, false)).toEqual({ checked: false });
    expect(ariaState('switch', undefined, true)).toEqual({ checked: true });
    expect(ariaState('tab', true, undefined)).toEqual({ selected: true });
  });

  it('puts no selection state on roles that take none (buttons, menu items)', () => {
    expect(ariaState('button', true, true)).toEqual({});
    expect(ariaState('menuitem', true, undefined)).toEqual({});
  });
});
