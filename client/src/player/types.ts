/** What the player screen gives the platform's player view. */
export interface PlayerViewProps {
  itemId: number;
  title: string;
  subtitle: string | null;
  startAtUs: number;
  durationUs: number | null;
  /** The episode after this one, if any. */
  next: { label: string; play: () => void } | null;
  onExit: () => void;
}
