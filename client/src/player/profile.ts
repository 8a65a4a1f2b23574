/** Which of the server's built-in device profiles (engine/sessions/profiles.py) this device is. */
import type { DeviceProfile } from '../api/types';

export function deviceProfile(os: string, isTV: boolean, userAgent: string = ''): DeviceProfile {
  if (os === 'ios') return isTV ? 'apple-tv' : 'safari';
  if (os === 'android') return isTV ? 'android-tv' : 'android';
  if (os === 'web') {
    // hls.js needs MSE; Safari on iOS before 17.1 has none but plays HLS itself.
    const safari = /Safari\//.test(userAgent) && !/(Chrome|Chromium|Edg|Firefox)\//.test(userAgent);
    return safari ? 'safari' : 'chromium';
  }
  return 'chromium';
}
