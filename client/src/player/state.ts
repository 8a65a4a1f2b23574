/**
 * The player's state: a pure reducer over what the media element reports (loaded, playing,
 * waiting, seeking, time updates, ended, errors) and what the user chooses (quality, tracks,
 * captions). The view (`PlayerView.web.tsx` with hls.js, `PlayerView.tsx` with expo-video) only
 * feeds it events and applies its choices, so every rule here is unit-tested without a video.
 *
 * Phases:
 *   idle -> loading -> (ready: paused, or playing once the element plays)
 *   playing <-> paused, playing -> buffering -> playing, any -> seeking -> (previous phase)
 *   playing -> ended; any -> error (fatal); error -> loading (retry)
 */

export type Phase =
  | 'idle'
  | 'loading'
  | 'playing'
  | 'paused'
  | 'buffering'
  | 'seeking'
  | 'ended'
  | 'error';

export interface Level {
  /** The index in the player's level list (hls.js `levels`). */
  index: number;
  height: number;
  bitrate: number;
  label: string;
}

export interface Track {
  index: number;
  label: string;
  language: string | null;
}

/** 'auto' lets the player adapt; a number pins the level with that index. */
export type Quality = 'auto' | number;

export interface PlayerState {
  phase: Phase;
  /** The phase to return to after seeking or buffering (playing or paused). */
  resumePhase: 'playing' | 'paused';
  positionUs: number;
  durationUs: number | null;
  bufferedUs: number;
  /** Where to start once the media is ready; null once applied. */
  startAtUs: number | null;
  seekTargetUs: number | null;
  levels: Level[];
  quality: Quality;
  /** The level the player is on now (with 'auto' it changes by itself). */
  activeLevel: number | null;
  audioTracks: Track[];
  audioTrack: number | null;
  subtitleTracks: Track[];
  /** The chosen subtitle track, kept while captions are off so 'c' turns the same one back on. */
  subtitleTrack: number | null;
  captions: boolean;
  muted: boolean;
  volume: number;
  error: string | null;
}

export type PlayerEvent =
  | { type: 'load'; startAtUs: number; durationUs?: number | null }
  | {
      type: 'ready';
      levels: Level[];
      audioTracks: Track[];
      subtitleTracks: Track[];
      durationUs?: number | null;
    }
  | { type: 'tracks'; audioTracks?: Track[]; subtitleTracks?: Track[] }
  | { type: 'playing' }
  | { type: 'paused' }
  | { type: 'waiting' }
  | { type: 'seeking'; toUs: number }
  | { type: 'seeked' }
  | { type: 'time'; positionUs: number; bufferedUs?: number }
  | { type: 'duration'; durationUs: number }
  | { type: 'started-at' }
  | { type: 'ended' }
  | { type: 'error'; message: string; fatal: boolean }
  | { type: 'level-switched'; index: number }
  | { type: 'quality'; quality: Quality }
  | { type: 'audio-track'; index: number }
  | { type: 'subtitle-track'; index: number | null }
  | { type: 'toggle-captions' }
  | { type: 'volume'; volume: number; muted: boolean };

export const initialState: PlayerState = {
  phase: 'idle',
  resumePhase: 'paused',
  positionUs: 0,
  durationUs: null,
  bufferedUs: 0,
  startAtUs: null,
  seekTargetUs: null,
  levels: [],
  quality: 'auto',
  activeLevel: null,
  audioTracks: [],
  audioTrack: null,
  subtitleTracks: [],
  subtitleTrack: null,
  captions: false,
  muted: false,
  volume: 1,
  error: null,
};

function clampPosition(us: number, durationUs: number | null): number {
  const low = Math.max(0, Math.round(us));
  return durationUs !== null && durationUs > 0 ? Math.min(low, durationUs) : low;
}

export function playerReducer(state: PlayerState, event: PlayerEvent): PlayerState {
  switch (event.type) {
    case 'load':
      return {
        ...initialState,
        // Choices survive a reload (next episode, retry): the same quality and caption wish.
        quality: state.quality,
        captions: state.captions,
        muted: state.muted,
        volume: state.volume,
        phase: 'loading',
        durationUs: event.durationUs ?? null,
        startAtUs: event.startAtUs > 0 ? event.startAtUs : null,
        positionUs: Math.max(0, event.startAtUs),
      };
    case 'ready': {
      if (state.phase === 'idle' || state.phase === 'error') return state;
      const quality =
        typeof state.quality === 'number' && !event.levels.some((l) => l.index === state.quality)
          ? 'auto'
          : state.quality;
      const subtitleTrack = state.subtitleTrack ?? event.subtitleTracks[0]?.index ?? null;
      // The element may already be playing (autoplay raced the manifest): keep what it does.
      const loading = state.phase === 'loading';
      return {
        ...state,
        phase: loading ? 'paused' : state.phase,
        resumePhase: loading ? 'paused' : state.resumePhase,
        levels: event.levels,
        quality,
        audioTracks: event.audioTracks,
        audioTrack: state.audioTrack ?? event.audioTracks[0]?.index ?? null,
        subtitleTracks: event.subtitleTracks,
        subtitleTrack,
        captions: state.captions && subtitleTrack !== null,
        durationUs: event.durationUs ?? state.durationUs,
      };
    }
    case 'tracks': {
      // hls.js learns a group's tracks after the manifest (AUDIO/SUBTITLE_TRACKS_UPDATED).
      const audioTracks = event.audioTracks ?? state.audioTracks;
      const subtitleTracks = event.subtitleTracks ?? state.subtitleTracks;
      const audioTrack = audioTracks.some((t) => t.index === state.audioTrack)
        ? state.audioTrack
        : (audioTracks[0]?.index ?? null);
      const subtitleTrack = subtitleTracks.some((t) => t.index === state.subtitleTrack)
        ? state.subtitleTrack
        : (subtitleTracks[0]?.index ?? null);
      return {
        ...state,
        audioTracks,
        audioTrack,
        subtitleTracks,
        subtitleTrack,
        captions: state.captions && subtitleTrack !== null,
      };
    }
    case 'started-at':
      return { ...state, startAtUs: null };
    case 'playing':
      if (state.phase === 'error') return state;
      return { ...state, phase: 'playing', resumePhase: 'playing', seekTargetUs: null };
    case 'paused':
      if (state.phase === 'error' || state.phase === 'ended') return state;
      if (state.phase === 'seeking' || state.phase === 'loading')
        return { ...state, resumePhase: 'paused' };
      return { ...state, phase: 'paused', resumePhase: 'paused' };
    case 'waiting':
      if (state.phase !== 'playing') return state;
      return { ...state, phase: 'buffering', resumePhase: 'playing' };
    case 'seeking': {
      if (state.phase === 'idle' || state.phase === 'error') return state;
      const target = clampPosition(event.toUs, state.durationUs);
      const resumePhase =
        state.phase === 'playing' || state.phase === 'buffering' ? 'playing' : state.resumePhase;
      return {
        ...state,
        phase: state.phase === 'loading' ? 'loading' : 'seeking',
        resumePhase: state.phase === 'ended' ? 'paused' : resumePhase,
        seekTargetUs: target,
        positionUs: target,
      };
    }
    case 'seeked':
      if (state.phase !== 'seeking') return { ...state, seekTargetUs: null };
      return { ...state, phase: state.resumePhase, seekTargetUs: null };
    case 'time': {
      // While seeking the element may still report the old position: keep the target.
      if (state.phase === 'seeking') return state;
      const positionUs = clampPosition(event.positionUs, state.durationUs);
      const bufferedUs = event.bufferedUs ?? state.bufferedUs;
      if (positionUs === state.positionUs && bufferedUs === state.bufferedUs) return state;
      return { ...state, positionUs, bufferedUs };
    }
    case 'duration':
      return event.durationUs > 0 ? { ...state, durationUs: event.durationUs } : state;
    case 'ended':
      if (state.phase === 'error') return state;
      return {
        ...state,
        phase: 'ended',
        resumePhase: 'paused',
        positionUs: state.durationUs ?? state.positionUs,
      };
    case 'error':
      if (!event.fatal) return state;
      return { ...state, phase: 'error', error: event.message };
    case 'level-switched':
      return { ...state, activeLevel: event.index };
    case 'quality':
      if (event.quality !== 'auto' && !state.levels.some((l) => l.index === event.quality))
        return state;
      return { ...state, quality: event.quality };
    case 'audio-track':
      if (!state.audioTracks.some((t) => t.index === event.index)) return state;
      return { ...state, audioTrack: event.index };
    case 'subtitle-track':
      if (event.index === null) return { ...state, captions: false };
      if (!state.subtitleTracks.some((t) => t.index === event.index)) return state;
      return { ...state, subtitleTrack: event.index, captions: true };
    case 'toggle-captions':
      if (state.subtitleTrack === null) return state;
      return { ...state, captions: !state.captions };
    case 'volume':
      return { ...state, volume: Math.min(1, Math.max(0, event.volume)), muted: event.muted };
  }
}

// --- derived values -------------------------------------------------------------------------------

/** The subtitle track the player should show now (-1 for none, as hls.js wants). */
export function shownSubtitleTrack(state: PlayerState): number {
  return state.captions && state.subtitleTrack !== null ? state.subtitleTrack : -1;
}

/** Whether the user sees a spinner. */
export function isBusy(state: PlayerState): boolean {
  return state.phase === 'loading' || state.phase === 'buffering' || state.phase === 'seeking';
}

/** Whether play/pause shows "pause" (the player is, or is about to be, playing). */
export function wantsPlay(state: PlayerState): boolean {
  return (
    state.phase === 'playing' ||
    ((state.phase === 'buffering' || state.phase === 'seeking') && state.resumePhase === 'playing')
  );
}

/** A label for a video level: "1080p", with "(original)" for the top level when it is v0. */
export function levelLabel(height: number, bitrate: number): string {
  if (height > 0) return `${height}p`;
  return bitrate > 0 ? `${Math.round(bitrate / 1000)} kb/s` : 'Unknown';
}

/** What the quality menu shows: "Auto (720p)" while adapting, else the pinned level. */
export function qualityLabel(state: PlayerState): string {
  if (state.quality === 'auto') {
    const active = state.levels.find((l) => l.index === state.activeLevel);
    return active ? `Auto (${active.label})` : 'Auto';
  }
  return state.levels.find((l) => l.index === state.quality)?.label ?? 'Auto';
}

// --- resume ----------------------------------------------------------------------------------------

/** Positions closer than this to the start are not worth resuming (5% of a short clip). */
export const RESUME_MIN_US = 10_000_000;
/** Within this of the end (10% of a short clip) the item counts as watched: start again. */
export const RESUME_END_MARGIN_US = 30_000_000;

/** Where playback starts: the saved position unless it is near either end or marked played. */
export function resumePosition(
  user: { position_us: number; played: boolean } | null | undefined,
  durationUs: number | null | undefined,
): number {
  if (!user || user.played) return 0;
  const p = user.position_us;
  const known = durationUs !== null && durationUs !== undefined && durationUs > 0;
  const start = known ? Math.min(RESUME_MIN_US, durationUs * 0.05) : RESUME_MIN_US;
  if (p < start) return 0;
  if (known && p > durationUs - Math.min(RESUME_END_MARGIN_US, durationUs * 0.1)) return 0;
  return p;
}

/** "1:02:03" or "4:05" */
export function formatTime(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us) || us < 0) return '0:00';
  const total = Math.floor(us / 1_000_000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
