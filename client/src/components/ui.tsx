/** Small building blocks on the design system: text, buttons, fields, chips, states. */
import { useState, type ReactNode } from 'react';
import {
  ActivityIndicator,
  Platform,
  Text,
  TextInput,
  View,
  type StyleProp,
  type TextInputProps,
  type TextStyle,
  type ViewStyle,
} from 'react-native';

import { colors, focusRing, radius, spacing, useTheme, type TypeName } from '../theme';
import { Focusable } from '../tv/Focusable';

export function T({
  kind = 'body',
  muted,
  style,
  children,
  numberOfLines,
  role,
}: {
  kind?: TypeName;
  muted?: boolean;
  style?: StyleProp<TextStyle>;
  children: ReactNode;
  numberOfLines?: number;
  role?: 'header' | 'text' | 'alert';
}) {
  const { type } = useTheme();
  return (
    <Text
      accessibilityRole={role}
      numberOfLines={numberOfLines}
      style={[type[kind], muted ? { color: colors.textMuted } : null, style]}
    >
      {children}
    </Text>
  );
}

export function Button({
  label,
  onPress,
  variant = 'primary',
  icon,
  disabled,
  autoFocus,
  style,
  accessibilityLabel,
}: {
  label: string;
  onPress: () => void;
  variant?: 'primary' | 'secondary' | 'ghost';
  icon?: string;
  disabled?: boolean;
  autoFocus?: boolean;
  style?: StyleProp<ViewStyle>;
  /** When the visible label is not enough (an icon-only button): the spoken name. */
  accessibilityLabel?: string;
}) {
  const { type } = useTheme();
  const background =
    variant === 'primary' ? colors.accent : variant === 'secondary' ? colors.surfaceRaised : 'transparent';
  const color = variant === 'primary' ? colors.onAccent : colors.text;
  return (
    <Focusable
      label={accessibilityLabel ?? label}
      onPress={onPress}
      disabled={disabled}
      autoFocus={autoFocus}
      style={[
        {
          backgroundColor: background,
          paddingHorizontal: spacing.lg,
          paddingVertical: spacing.sm,
          minHeight: 44,
          minWidth: 44,
          flexDirection: 'row',
          alignItems: 'center',
          justifyContent: 'center',
          gap: spacing.sm,
        },
        style,
      ]}
    >
      {icon ? (
        <Text style={[type.label, { color }]} aria-hidden importantForAccessibility="no">
          {icon}
        </Text>
      ) : null}
      {label ? <Text style={[type.label, { color }]}>{label}</Text> : null}
    </Focusable>
  );
}

export function Chip({
  label,
  selected,
  onPress,
  accessibilityLabel,
  radio,
}: {
  label: string;
  selected: boolean;
  onPress: () => void;
  accessibilityLabel?: string;
  /** One choice of several (a radio button) rather than an on/off filter (a checkbox). */
  radio?: boolean;
}) {
  const { type } = useTheme();
  return (
    <Focusable
      label={accessibilityLabel ?? label}
      role={radio ? 'radio' : 'checkbox'}
      checked={selected}
      onPress={onPress}
      style={{
        backgroundColor: selected ? colors.accent : colors.surfaceRaised,
        borderRadius: radius.pill,
        paddingHorizontal: spacing.md,
        paddingVertical: spacing.xs,
        minHeight: 36,
        justifyContent: 'center',
      }}
    >
      <Text style={[type.label, { color: selected ? colors.onAccent : colors.text }]}>{label}</Text>
    </Focusable>
  );
}

export function TextField({
  label,
  style,
  ...props
}: TextInputProps & { label: string; style?: StyleProp<TextStyle> }) {
  const { type } = useTheme();
  const [focused, setFocused] = useState(false);
  return (
    <View style={{ gap: spacing.xs }}>
      <Text style={[type.label, { color: colors.textMuted }]} nativeID={`label-${label}`}>
        {label}
      </Text>
      <TextInput
        accessibilityLabel={label}
        aria-labelledby={`label-${label}`}
        placeholderTextColor={colors.textMuted}
        {...props}
        onFocus={(e) => {
          setFocused(true);
          props.onFocus?.(e);
        }}
        onBlur={(e) => {
          setFocused(false);
          props.onBlur?.(e);
        }}
        style={[
          type.body,
          {
            backgroundColor: colors.surface,
            borderRadius: radius.md,
            paddingHorizontal: spacing.md,
            paddingVertical: spacing.sm,
            minHeight: 44,
            borderWidth: 1,
            borderColor: colors.border,
          },
          Platform.OS === 'web' ? ({ outlineStyle: 'none' } as unknown as TextStyle) : null,
          focused ? { borderWidth: focusRing.borderWidth, borderColor: colors.focus } : null,
          style,
        ]}
      />
    </View>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <View style={{ padding: spacing.xxl, alignItems: 'center' }} accessibilityLabel={label} accessibilityRole="progressbar">
      <ActivityIndicator color={colors.accent} size="large" />
    </View>
  );
}

export function ErrorView({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <View style={{ padding: spacing.xl, gap: spacing.md, alignItems: 'flex-start' }}>
      <T role="alert" style={{ color: colors.danger }}>
        {message}
      </T>
      {onRetry ? <Button label="Try again" variant="secondary" onPress={onRetry} /> : null}
    </View>
  );
}

/** A thin progress bar (resume position), hidden from screen readers (the label says it). */
export function ProgressBar({ fraction, style }: { fraction: number; style?: StyleProp<ViewStyle> }) {
  const f = Math.max(0, Math.min(1, fraction));
  return (
    <View
      importantForAccessibility="no-hide-descendants"
      aria-hidden
      style={[{ height: 4, backgroundColor: colors.progressTrack, borderRadius: 2, overflow: 'hidden' }, style]}
    >
      <View style={{ width: `${f * 100}%`, height: '100%', backgroundColor: colors.accent }} />
    </View>
  );
}
