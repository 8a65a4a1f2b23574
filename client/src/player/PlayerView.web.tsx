/**
 * The web player: hls.js on a plain <video> (MSE: Chromium, Firefox, Edge; Safari's native HLS
 * when MSE is missing). Media events feed the pure reducer in ./state; the view applies the
 * reducer's choices (quality, tracks, captions) to hls.js, reports progress, and maps the
 * keyboard (./keys) to commands: space, arrows, f, m, c, Escape.
 */
import { useRouter } from 'expo-router';
import Hls, { ErrorTypes, Events } from 'hls.js';
import { useCallback, useEffect, useReducer, useRef, useState, type ComponentRef } from 'react';
import { Text, View } from 'react-native';

import { Button, ErrorView, T } from '../components/ui';
import { colors, radius, spacing, useTheme } from '../theme';
import { useRemoteCommands } from '../remote/RemoteProvider';
import { Focusable } from '../tv/Focusable';
import { toLevels, toTracks } from './hlsLevels';
import { commandForKey, keyBelongsToControl, type PlayerCommand } from './keys';
import {
  formatTime,
  initialState,
  isBusy,
  playerReducer,
  qualityLabel,
  shownSubtitleTrack,
  wantsPlay,
  type PlayerState,
} from './state';
import type { PlayerViewProps } from './types';
import { usePlayback } from './usePlayback';

const HIDE_CONTROLS_MS = 3000;
const NEXT_COUNTDOWN_S = 10;
const US = 1_000_000;

type Menu = null | 'quality' | 'audio' | 'subtitles';

// The browser draws cues at the bottom of the <video>, where the control bar sits while it shows:
// Chromium and Safari let the cue box move up by the bar's height (--rb-cue-lift). Firefox
// (no such pseudo-element) keeps them where it puts them.
const CUE_CSS = `
video::cue { background: rgba(0,0,0,0.75); color: #fff; font-size: 1.4em; line-height: 1.35; }
video::-webkit-media-text-track-container {
  transform: translateY(calc(-1 * var(--rb-cue-lift, 0px))); transition: transform 150ms;
}
input.rb-seek { accent-color: ${colors.accent}; width: 100%; height: 24px; cursor: pointer; }
input.rb-seek:focus-visible { outline: 3px solid ${colors.focus}; outline-offset: 2px; }
`;

function bufferedEndUs(video: HTMLVideoElement): number {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i += 1) {
    if (video.buffered.start(i) <= t + 0.5 && video.buffered.end(i) >= t) return video.buffered.end(i) * US;
  }
  return t * US;
}

export function PlayerView({ itemId, title, subtitle, startAtUs, durationUs, next, onExit }: PlayerViewProps) {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const containerRef = useRef<ComponentRef<typeof View> | null>(null);
  const hlsRef = useRef<Hls | null>(null);
  const positionRef = useRef(startAtUs);
  const [state, dispatch] = useReducer(playerReducer, initialState);
  const stateRef = useRef<PlayerState>(state);
  stateRef.current = state;
  positionRef.current = state.positionUs;
  const playback = usePlayback(itemId, positionRef);
  const reporter = playback.reporter;
  const [menu, setMenu] = useState<Menu>(null);
  const [controlsVisible, setControlsVisible] = useState(true);
  const [fullscreen, setFullscreen] = useState(false);
  const [countdown, setCountdown] = useState<number | null>(null);
  const [barHeight, setBarHeight] = useState(0);
  const hideTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { type, bp } = useTheme();

  // --- load: hls.js (or native HLS) on the session's master playlist ----------------------------
  useEffect(() => {
    const video = videoRef.current;
    const url = playback.url;
    if (!video || !url) return;
    dispatch({ type: 'load', startAtUs, durationUs });
    let mediaRecoveries = 0;
    if (Hls.isSupported()) {
      const hls = new Hls({ startPosition: startAtUs / US, capLevelToPlayerSize: false });
      hlsRef.current = hls;
      hls.on(Events.MANIFEST_PARSED, () => {
        dispatch({
          type: 'ready',
          levels: toLevels(hls.levels),
          audioTracks: toTracks(hls.audioTracks, 'Audio'),
          subtitleTracks: toTracks(hls.subtitleTracks, 'Subtitles'),
        });
        if (startAtUs > 0) dispatch({ type: 'started-at' });
        video.play().catch(() => undefined); // autoplay may be refused: the play button is there
      });
      hls.on(Events.AUDIO_TRACKS_UPDATED, (_e, data) =>
        dispatch({ type: 'tracks', audioTracks: toTracks(data.audioTracks, 'Audio') }),
      );
      hls.on(Events.SUBTITLE_TRACKS_UPDATED, (_e, data) =>
        dispatch({ type: 'tracks', subtitleTracks: toTracks(data.subtitleTracks, 'Subtitles') }),
      );
      hls.on(Events.LEVEL_SWITCHED, (_e, data) => dispatch({ type: 'level-switched', index: data.level }));
      hls.on(Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        if (data.type === ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
          mediaRecoveries += 1;
          hls.recoverMediaError();
          return;
        }
        dispatch({ type: 'error', fatal: true, message: `Playback failed (${data.details}).` });
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      return () => {
        hls.destroy();
        hlsRef.current = null;
      };
    }
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url;
      const onMeta = () => {
        dispatch({ type: 'ready', levels: [], audioTracks: [], subtitleTracks: [] });
        if (startAtUs > 0) {
          video.currentTime = startAtUs / US;
          dispatch({ type: 'started-at' });
        }
        video.play().catch(() => undefined);
      };
      video.addEventListener('loadedmetadata', onMeta, { once: true });
      return () => {
        video.removeEventListener('loadedmetadata', onMeta);
        video.removeAttribute('src');
        video.load();
      };
    }
    dispatch({ type: 'error', fatal: true, message: 'This browser cannot play HLS video.' });
    return undefined;
    // startAtUs and durationUs are read once per session: a new session reloads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [playback.url]);

  // --- media element events -> reducer ------------------------------------------------------------
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    const on: [string, () => void][] = [
      ['playing', () => dispatch({ type: 'playing' })],
      ['pause', () => {
        dispatch({ type: 'paused' });
        reporter?.report(video.currentTime * US, true);
      }],
      ['waiting', () => dispatch({ type: 'waiting' })],
      ['seeking', () => dispatch({ type: 'seeking', toUs: video.currentTime * US })],
      ['seeked', () => {
        dispatch({ type: 'seeked' });
        reporter?.report(video.currentTime * US, video.paused);
      }],
      ['timeupdate', () => {
        dispatch({ type: 'time', positionUs: video.currentTime * US, bufferedUs: bufferedEndUs(video) });
        reporter?.tick(video.currentTime * US, !video.paused);
      }],
      ['durationchange', () => {
        if (Number.isFinite(video.duration)) dispatch({ type: 'duration', durationUs: video.duration * US });
      }],
      ['ended', () => {
        dispatch({ type: 'ended' });
        reporter?.report(video.currentTime * US, true);
      }],
      ['volumechange', () => dispatch({ type: 'volume', volume: video.volume, muted: video.muted })],
      ['error', () => {
        if (!hlsRef.current) dispatch({ type: 'error', fatal: true, message: 'Playback failed.' });
      }],
    ];
    for (const [name, fn] of on) video.addEventListener(name, fn);
    return () => {
      for (const [name, fn] of on) video.removeEventListener(name, fn);
    };
  }, [reporter]);

  // --- the reducer's choices -> hls.js -------------------------------------------------------------
  useEffect(() => {
    const hls = hlsRef.current;
    if (!hls || state.levels.length === 0) return;
    hls.nextLevel = state.quality === 'auto' ? -1 : state.quality;
  }, [state.quality, state.levels.length]);

  useEffect(() => {
    const hls = hlsRef.current;
    if (hls && state.audioTrack !== null && hls.audioTrack !== state.audioTrack) hls.audioTrack = state.audioTrack;
  }, [state.audioTrack]);

  const shown = shownSubtitleTrack(state);
  useEffect(() => {
    const hls = hlsRef.current;
    if (!hls) return;
    hls.subtitleTrack = shown;
    hls.subtitleDisplay = shown >= 0;
  }, [shown]);

  // --- commands (buttons, keys) ----------------------------------------------------------------------
  const togglePlay = useCallback(() => {
    const video = videoRef.current;
    if (!video) return;
    if (stateRef.current.phase === 'ended') video.currentTime = 0;
    if (video.paused) video.play().catch(() => undefined);
    else video.pause();
  }, []);

  const seekTo = useCallback((us: number) => {
    const video = videoRef.current;
    if (!video) return;
    const duration = Number.isFinite(video.duration) ? video.duration : Infinity;
    video.currentTime = Math.max(0, Math.min(duration - 0.1, us / US));
  }, []);

  const toggleFullscreen = useCallback(() => {
    const el = containerRef.current as unknown as HTMLElement | null;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void el.requestFullscreen?.().catch(() => undefined);
  }, []);

  useEffect(() => {
    const onChange = () => setFullscreen(!!document.fullscreenElement);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const showControls = useCallback(() => {
    setControlsVisible(true);
    if (hideTimer.current) clearTimeout(hideTimer.current);
    hideTimer.current = setTimeout(() => {
      if (wantsPlay(stateRef.current) && !menuRef.current) setControlsVisible(false);
    }, HIDE_CONTROLS_MS);
  }, []);
  const menuRef = useRef<Menu>(null);
  menuRef.current = menu;

  const run = useCallback(
    (command: PlayerCommand) => {
      const video = videoRef.current;
      if (!video) return;
      switch (command.type) {
        case 'toggle-play':
          togglePlay();
          break;
        case 'seek-by':
          seekTo(video.currentTime * US + command.seconds * US);
          break;
        case 'volume-by':
          video.volume = Math.max(0, Math.min(1, video.volume + command.delta));
          if (video.volume > 0) video.muted = false;
          break;
        case 'toggle-mute':
          video.muted = !video.muted;
          break;
        case 'toggle-captions':
          dispatch({ type: 'toggle-captions' });
          break;
        case 'toggle-fullscreen':
          toggleFullscreen();
          break;
        case 'back':
          if (menuRef.current) setMenu(null);
          else if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
          else onExit();
          break;
      }
      showControls();
    },
    [togglePlay, seekTo, toggleFullscreen, onExit, showControls],
  );

  // Commands from the user's other devices (remote control).
  const router = useRouter();
  useRemoteCommands((command) => {
    const video = videoRef.current;
    if (!video) return;
    switch (command.command) {
      case 'play':
        if (command.itemId !== null && command.itemId !== itemId) {
          router.replace(`/play/${command.itemId}`);
          return;
        }
        if (command.positionUs !== null) seekTo(command.positionUs);
        video.play().catch(() => undefined);
        break;
      case 'pause':
        video.pause();
        break;
      case 'seek':
        seekTo(command.positionUs ?? 0);
        break;
      case 'stop':
        onExit();
        return;
    }
    showControls();
  });

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      // On the seek slider the arrows are the player's 10 s steps, not the slider's 1 s ones.
      const onSeekBar = target?.classList.contains('rb-seek') ?? false;
      if (
        !onSeekBar &&
        event.key !== 'Escape' &&
        keyBelongsToControl(event.key, target?.tagName ?? null, target?.getAttribute('role') ?? null)
      ) {
        showControls();
        return;
      }
      const command = commandForKey(event);
      if (!command) return;
      event.preventDefault();
      event.stopPropagation();
      run(command);
    };
    // Capture: before the app-wide focus navigation sees the arrows and Escape.
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [run, showControls]);

  useEffect(() => {
    if (!wantsPlay(state)) {
      setControlsVisible(true);
      if (hideTimer.current) clearTimeout(hideTimer.current);
    } else showControls();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state.phase]);

  // --- next episode countdown ------------------------------------------------------------------------
  useEffect(() => {
    if (state.phase !== 'ended' || !next) {
      setCountdown(null);
      return;
    }
    setCountdown(NEXT_COUNTDOWN_S);
    const timer = setInterval(() => setCountdown((c) => (c === null ? null : c - 1)), 1000);
    return () => clearInterval(timer);
  }, [state.phase, next]);
  useEffect(() => {
    if (countdown !== null && countdown <= 0) {
      setCountdown(null);
      next?.play();
    }
  }, [countdown, next]);

  // --- render ---------------------------------------------------------------------------------------
  const duration = state.durationUs ?? durationUs ?? 0;
  const playing = wantsPlay(state);
  const big = bp === 'tv';
  const overlay = controlsVisible || !playing;
  const cueLift = overlay ? barHeight : 0;


  return (
    <View
      ref={containerRef}
      style={{ flex: 1, backgroundColor: '#000' }}
      onPointerMove={showControls}
      accessibilityLabel={`Player: ${title}`}
    >
      <style>{CUE_CSS}</style>
      <video
        ref={videoRef}
        playsInline
        onClick={togglePlay}
        onDoubleClick={toggleFullscreen}
        aria-label={title}
        style={{
          position: 'absolute',
          inset: 0,
          width: '100%',
          height: '100%',
          objectFit: 'contain',
          background: '#000',
          ['--rb-cue-lift' as string]: `${cueLift}px`,
        }}
      />
      {isBusy(state) ? (
        <View
          pointerEvents="none"
          style={{ position: 'absolute', inset: 0, alignItems: 'center', justifyContent: 'center' }}
          accessibilityRole="progressbar"
          accessibilityLabel={state.phase === 'loading' ? 'Loading' : 'Buffering'}
        >
          <Text style={[type.heading, { color: colors.text }]}>{state.phase === 'loading' ? 'Loading…' : 'Buffering…'}</Text>
        </View>
      ) : null}
      {playback.error || state.phase === 'error' ? (
        <View style={{ position: 'absolute', inset: 0, alignItems: 'center', justifyContent: 'center', backgroundColor: colors.overlay }}>
          <ErrorView error={playback.error ?? state.error} onRetry={playback.retry} />
          <Button variant="secondary" label="Back" onPress={onExit} />
        </View>
      ) : null}
      {state.phase === 'ended' && next ? (
        <View style={{ position: 'absolute', right: spacing.xxl, bottom: 120, backgroundColor: colors.surface, borderRadius: radius.lg, padding: spacing.lg, gap: spacing.sm, maxWidth: 420 }}>
          <T kind="label" muted>
            Up next{countdown !== null ? ` in ${countdown} s` : ''}
          </T>
          <T kind="heading">{next.label}</T>
          <View style={{ flexDirection: 'row', gap: spacing.sm, padding: 3 }}>
            <Button autoFocus icon="▶" label="Play next episode" onPress={next.play} />
            <Button variant="secondary" label="Cancel" onPress={() => setCountdown(null)} />
          </View>
        </View>
      ) : null}
      {overlay ? (
        <>
          <View style={{ position: 'absolute', top: 0, left: 0, right: 0, padding: spacing.lg, flexDirection: 'row', alignItems: 'center', gap: spacing.md, backgroundColor: 'rgba(0,0,0,0.55)' }}>
            <Button variant="ghost" icon="←" label="" accessibilityLabel="Back" onPress={onExit} />
            <View style={{ flex: 1 }}>
              <Text style={[type.heading, { color: colors.text }]} numberOfLines={1} accessibilityRole="header">
                {title}
              </Text>
              {subtitle ? <Text style={[type.caption, { color: colors.textMuted }]}>{subtitle}</Text> : null}
            </View>
          </View>
          <View
            onLayout={(e) => setBarHeight(e.nativeEvent.layout.height)}
            style={{ position: 'absolute', left: 0, right: 0, bottom: 0, padding: spacing.lg, gap: spacing.sm, backgroundColor: 'rgba(0,0,0,0.7)' }}
          >
            <input
              className="rb-seek"
              type="range"
              min={0}
              max={Math.max(1, Math.round(duration / US))}
              step={1}
              value={Math.round(state.positionUs / US)}
              aria-label="Seek"
              aria-valuetext={`${formatTime(state.positionUs)} of ${formatTime(duration)}`}
              onChange={(e) => seekTo(Number(e.currentTarget.value) * US)}
            />
            <View style={{ flexDirection: 'row', alignItems: 'center', gap: spacing.sm, flexWrap: 'wrap' }}>
              <Button
                autoFocus
                icon={playing ? '❚❚' : '▶'}
                label=""
                accessibilityLabel={playing ? 'Pause' : 'Play'}
                onPress={togglePlay}
                style={{ minWidth: big ? 72 : 52 }}
              />
              <Button variant="ghost" icon="↺" label="10" accessibilityLabel="Back 10 seconds" onPress={() => run({ type: 'seek-by', seconds: -10 })} />
              <Button variant="ghost" icon="↻" label="10" accessibilityLabel="Forward 10 seconds" onPress={() => run({ type: 'seek-by', seconds: 10 })} />
              <Text style={[type.label, { color: colors.text }]} accessibilityLabel={`${formatTime(state.positionUs)} of ${formatTime(duration)}`}>
                {formatTime(state.positionUs)} / {formatTime(duration)}
              </Text>
              <View style={{ flex: 1 }} />
              <Button
                variant="ghost"
                label={state.muted || state.volume === 0 ? 'Unmute' : 'Mute'}
                onPress={() => run({ type: 'toggle-mute' })}
              />
              {state.subtitleTracks.length > 0 ? (
                <Focusable
                  label={state.captions ? 'Captions on' : 'Captions off'}
                  role="switch"
                  checked={state.captions}
                  onPress={() => run({ type: 'toggle-captions' })}
                  style={{ paddingHorizontal: spacing.md, minHeight: 44, justifyContent: 'center', backgroundColor: state.captions ? colors.accent : 'transparent' }}
                >
                  <Text style={[type.label, { color: state.captions ? colors.onAccent : colors.text }]}>CC</Text>
                </Focusable>
              ) : null}
              <Button variant="ghost" label={`Quality: ${qualityLabel(state)}`} onPress={() => setMenu(menu === 'quality' ? null : 'quality')} />
              {state.audioTracks.length > 1 ? (
                <Button variant="ghost" label="Audio" onPress={() => setMenu(menu === 'audio' ? null : 'audio')} />
              ) : null}
              {state.subtitleTracks.length > 0 ? (
                <Button variant="ghost" label="Subtitles" onPress={() => setMenu(menu === 'subtitles' ? null : 'subtitles')} />
              ) : null}
              <Button variant="ghost" label={fullscreen ? 'Exit full screen' : 'Full screen'} onPress={toggleFullscreen} />
            </View>
          </View>
        </>
      ) : null}
      {menu ? <TrackMenu menu={menu} state={state} dispatch={dispatch} close={() => setMenu(null)} /> : null}
    </View>
  );
}

function TrackMenu({
  menu,
  state,
  dispatch,
  close,
}: {
  menu: Exclude<Menu, null>;
  state: PlayerState;
  dispatch: React.Dispatch<Parameters<typeof playerReducer>[1]>;
  close: () => void;
}) {
  const { type } = useTheme();
  let title: string;
  let options: { key: string; label: string; selected: boolean; choose: () => void }[];
  if (menu === 'quality') {
    title = 'Quality';
    options = [
      { key: 'auto', label: 'Auto', selected: state.quality === 'auto', choose: () => dispatch({ type: 'quality', quality: 'auto' }) },
      ...state.levels.map((l) => ({
        key: `l${l.index}`,
        label: l.label,
        selected: state.quality === l.index,
        choose: () => dispatch({ type: 'quality', quality: l.index }),
      })),
    ];
  } else if (menu === 'audio') {
    title = 'Audio';
    options = state.audioTracks.map((t) => ({
      key: `a${t.index}`,
      label: t.label,
      selected: state.audioTrack === t.index,
      choose: () => dispatch({ type: 'audio-track', index: t.index }),
    }));
  } else {
    title = 'Subtitles';
    options = [
      { key: 'off', label: 'Off', selected: !state.captions, choose: () => dispatch({ type: 'subtitle-track', index: null }) },
      ...state.subtitleTracks.map((t) => ({
        key: `s${t.index}`,
        label: t.label,
        selected: state.captions && state.subtitleTrack === t.index,
        choose: () => dispatch({ type: 'subtitle-track', index: t.index }),
      })),
    ];
  }
  return (
    <View
      role="radiogroup"
      aria-label={title}
      style={{ position: 'absolute', right: spacing.lg, bottom: 130, backgroundColor: colors.surface, borderRadius: radius.lg, padding: spacing.sm, minWidth: 220, gap: spacing.xs }}
    >
      <Text style={[type.label, { color: colors.textMuted, padding: spacing.sm }]}>{title}</Text>
      {options.map((o, i) => (
        <Focusable
          key={o.key}
          role="radio"
          label={o.label}
          checked={o.selected}
          autoFocus={o.selected || (i === 0 && !options.some((x) => x.selected))}
          onPress={() => {
            o.choose();
            close();
          }}
          style={{ paddingHorizontal: spacing.md, paddingVertical: spacing.sm, backgroundColor: o.selected ? colors.surfaceRaised : 'transparent' }}
        >
          <Text style={[type.body, { color: colors.text }]}>
            {o.selected ? '✓ ' : '   '}
            {o.label}
          </Text>
        </Focusable>
      ))}
    </View>
  );
}
