declare module 'async-exit-hook' {
  function exitHook(hook: (callback?: () => void) => void): void;
  export default exitHook;
}
