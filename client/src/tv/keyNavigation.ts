/**
 * Native: the platform moves focus with the D-pad itself (react-native-tvos, Android TV), and
 * the hardware back button pops the navigation stack (expo-router), so there is nothing to do.
 */
export function useKeyNavigation(_onBack: () => void): void {}
