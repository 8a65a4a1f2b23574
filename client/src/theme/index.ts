/**
 * The one design system: a dark palette whose text pairs pass WCAG AA (checked in
 * theme.test.ts), a 4-pt spacing scale, a type scale that grows with the screen (phone to
 * 10-foot TV), and the focus ring every focusable control shows.
 */
import { Platform, useWindowDimensions, type TextStyle, type ViewStyle } from 'react-native';

export const colors = {
  background: '#0b0d12',
  surface: '#151923',
  surfaceRaised: '#1f2533',
  border: '#6f7a95',
  text: '#f2f4f8',
  textMuted: '#aab3c5',
  accent: '#7cb2ff',
  onAccent: '#0b0d12',
  focus: '#ffd166',
  danger: '#ff8a8a',
  success: '#7ee2a8',
  overlay: 'rgba(0,0,0,0.6)',
  progressTrack: '#3a4256',
} as const;

/** Text/background pairs that must pass AA (the unit test walks this list). */
export const textPairs: readonly (readonly [keyof typeof colors, keyof typeof colors])[] = [
  ['text', 'background'],
  ['text', 'surface'],
  ['text', 'surfaceRaised'],
  ['textMuted', 'background'],
  ['textMuted', 'surface'],
  ['textMuted', 'surfaceRaised'],
  ['accent', 'background'],
  ['accent', 'surface'],
  ['onAccent', 'accent'],
  ['danger', 'background'],
  ['danger', 'surface'],
  ['success', 'background'],
];

/**
 * Non-text parts need 3:1 against what they sit on. The focus ring replaces a transparent
 * border, so it is measured against the surfaces a control can stand on (WCAG 2.4.13: the
 * focused pixels against the same pixels unfocused).
 */
export const nonTextPairs: readonly (readonly [keyof typeof colors, keyof typeof colors])[] = [
  ['focus', 'background'],
  ['focus', 'surface'],
  ['focus', 'surfaceRaised'],
  ['border', 'background'],
  ['border', 'surface'],
  ['border', 'surfaceRaised'],
];

export const spacing = { xs: 4, sm: 8, md: 12, lg: 16, xl: 24, xxl: 32, xxxl: 48 } as const;
export const radius = { sm: 4, md: 8, lg: 12, pill: 999 } as const;

export type Breakpoint = 'phone' | 'tablet' | 'desktop' | 'tv';

/** The layout class of a window `width` points wide; a TV build is always 'tv'. */
export function breakpoint(width: number, isTV: boolean = Platform.isTV): Breakpoint {
  if (isTV || width >= 1800) return 'tv';
  if (width >= 1024) return 'desktop';
  if (width >= 600) return 'tablet';
  return 'phone';
}

const SCALE: Record<Breakpoint, number> = { phone: 1, tablet: 1.05, desktop: 1.1, tv: 1.5 };

const baseType = {
  display: { fontSize: 32, lineHeight: 40, fontWeight: '700' },
  title: { fontSize: 24, lineHeight: 32, fontWeight: '700' },
  heading: { fontSize: 19, lineHeight: 26, fontWeight: '600' },
  body: { fontSize: 16, lineHeight: 24, fontWeight: '400' },
  label: { fontSize: 15, lineHeight: 20, fontWeight: '600' },
  caption: { fontSize: 13, lineHeight: 18, fontWeight: '400' },
} as const satisfies Record<string, TextStyle>;

export type TypeName = keyof typeof baseType;

/** The type scale for a breakpoint (sizes grow on big screens; the OS text size still applies). */
export function typeScale(bp: Breakpoint): Record<TypeName, TextStyle> {
  const k = SCALE[bp];
  const out = {} as Record<TypeName, TextStyle>;
  for (const name of Object.keys(baseType) as TypeName[]) {
    const t = baseType[name];
    out[name] = {
      fontSize: Math.round(t.fontSize * k),
      lineHeight: Math.round(t.lineHeight * k),
      fontWeight: t.fontWeight,
      color: colors.text,
    };
  }
  return out;
}

/** Poster grid: how many columns of at least `min` points fit in `width` (gutters included). */
export function gridColumns(width: number, bp: Breakpoint): number {
  const min = bp === 'tv' ? 220 : bp === 'phone' ? 110 : 160;
  const gutter = spacing.md;
  return Math.max(2, Math.floor((width + gutter) / (min + gutter)));
}

export const FOCUS_WIDTH = 3;

/** The focus ring: a 3-pt outline in `colors.focus` drawn outside the control. */
export const focusRing: ViewStyle = {
  borderColor: colors.focus,
  borderWidth: FOCUS_WIDTH,
};

/** The same width in a transparent colour, so focusing a control does not move its layout. */
export const focusRingHidden: ViewStyle = {
  borderColor: 'transparent',
  borderWidth: FOCUS_WIDTH,
};

export interface Theme {
  bp: Breakpoint;
  width: number;
  height: number;
  type: Record<TypeName, TextStyle>;
  /** Horizontal page padding. */
  gutter: number;
}

export function useTheme(): Theme {
  const { width, height } = useWindowDimensions();
  const bp = breakpoint(width);
  const gutter = bp === 'phone' ? spacing.lg : bp === 'tv' ? spacing.xxxl * 1.5 : spacing.xxl;
  return { bp, width, height, type: typeScale(bp), gutter };
}
