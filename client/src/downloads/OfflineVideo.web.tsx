/** Web: a downloaded title plays from its blob: URL in a plain <video> with the browser's controls. */
export function OfflineVideo({ source, title }: { source: string; title: string }) {
  return (
    <video
      src={source}
      title={title}
      aria-label={title}
      controls
      autoPlay
      playsInline
      style={{ width: '100%', height: '100%', backgroundColor: '#000' }}
    />
  );
}
