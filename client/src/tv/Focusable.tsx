/**
 * A pressable control with an accessible name and role and the visible focus ring (keyboard,
 * D-pad and remote focus alike). Every interactive element of the app is one of these.
 */
import { useEffect, useRef, useState, type ComponentRef, type ReactNode } from 'react';
import {
  Platform,
  Pressable,
  type AccessibilityRole,
  type PressableProps,
  type StyleProp,
  type ViewStyle,
} from 'react-native';

import { focusRing, focusRingHidden, radius } from '../theme';

export interface FocusableProps extends Omit<PressableProps, 'style' | 'children' | 'accessibilityLabel' | 'role'> {
  /** The accessible name, read by screen readers (required: every control has one). */
  label: string;
  role?: AccessibilityRole;
  /**
   * The chosen one of several: the current page for a link, checked for a checkbox, radio or
   * switch, selected for a tab (ARIA allows `aria-selected` on few roles).
   */
  selected?: boolean;
  /** For checkbox, radio and switch roles. */
  checked?: boolean;
  style?: StyleProp<ViewStyle>;
  /** Extra style while focused (the ring is always drawn). */
  focusedStyle?: StyleProp<ViewStyle>;
  children: ReactNode | ((state: { focused: boolean; pressed: boolean }) => ReactNode);
  /** TV: take focus when the screen opens. */
  autoFocus?: boolean;
}

/** `selected` and `checked` as the ARIA attributes `role` supports (others are an error). */
export function ariaState(
  role: AccessibilityRole,
  selected: boolean | undefined,
  checked: boolean | undefined,
): { selected?: boolean; checked?: boolean; current?: 'page' } {
  switch (role) {
    case 'tab':
      return { selected: selected ?? checked };
    case 'checkbox':
    case 'radio':
    case 'switch':
      return { checked: checked ?? selected };
    case 'link':
      return selected ? { current: 'page' } : {};
    default:
      return {};
  }
}

const webReset: ViewStyle = Platform.OS === 'web' ? ({ outlineStyle: 'none' } as unknown as ViewStyle) : {};

export function Focusable({
  label,
  role = 'button',
  selected,
  checked,
  disabled,
  style,
  focusedStyle,
  children,
  autoFocus,
  onFocus,
  onBlur,
  ...rest
}: FocusableProps) {
  const [focused, setFocused] = useState(false);
  const own = useRef<ComponentRef<typeof Pressable> | null>(null);
  useEffect(() => {
    // Native TV uses hasTVPreferredFocus; a browser needs the element focused.
    if (autoFocus && Platform.OS === 'web') (own.current as unknown as HTMLElement | null)?.focus?.();
  }, [autoFocus]);
  // React Native Web leaves Enter on a role="link" element to the browser (it expects an <a>),
  // so a link-like pressable would ignore the keyboard and the remote's OK button.
  const onPress = rest.onPress;
  const state = ariaState(role, selected, checked);
  const webKeys =
    Platform.OS === 'web' && role === 'link' && onPress
      ? {
          onKeyDown: (e: { nativeEvent: { key: string }; preventDefault(): void }) => {
            if (e.nativeEvent.key === 'Enter') {
              e.preventDefault();
              onPress(e as never);
            }
          },
        }
      : {};
  return (
    <Pressable
      {...(webKeys as object)}
      ref={own}
      accessibilityRole={role}
      accessibilityLabel={label}
      aria-selected={state.selected}
      aria-checked={state.checked}
      aria-current={state.current}
      aria-disabled={disabled ?? undefined}
      disabled={disabled}
      hasTVPreferredFocus={autoFocus}
      onFocus={(e) => {
        setFocused(true);
        onFocus?.(e);
      }}
      onBlur={(e) => {
        setFocused(false);
        onBlur?.(e);
      }}
      style={({ pressed }) => [
        { borderRadius: radius.md },
        webReset,
        style,
        focused ? focusRing : focusRingHidden,
        focused ? focusedStyle : null,
        pressed ? { opacity: 0.85 } : null,
        disabled ? { opacity: 0.5 } : null,
      ]}
      {...rest}
    >
      {({ pressed }) => (typeof children === 'function' ? children({ focused, pressed }) : children)}
    </Pressable>
  );
}
