/** Loads data for a component; an answer that arrives after its inputs changed is dropped. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

type Result<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: unknown }
  | { readonly state: 'done'; readonly value: T };

/** `reload` keeps the current value on screen until the new one arrives (no flicker when polling). */
export type Async<T> = Result<T> & { readonly reload: () => void };

export function useAsync<T>(load: () => Promise<T>, inputs: readonly unknown[]): Async<T> {
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  const [result, setResult] = useState<Result<T>>({ state: 'loading' });
  const lastAttempt = useRef(attempt);
  // `load` is new every render; `inputs` say when it changes.
  useEffect(() => {
    let current = true;
    if (lastAttempt.current === attempt) setResult({ state: 'loading' });
    lastAttempt.current = attempt;
    load().then(
      (value) => current && setResult({ state: 'done', value }),
      (error: unknown) => current && setResult({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [...inputs, attempt]);
  return { ...result, reload };
}
