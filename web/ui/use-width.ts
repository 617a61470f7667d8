/** The width of an element, following resizes (for SVG drawn to fit its container). */
import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function useWidth(element: RefObject<HTMLElement | null>, initial = 800): number {
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const target = element.current;
    if (!target) return;
    const observer = new ResizeObserver(() => {
      // A hidden element measures 0; keep the last real width.
      if (target.clientWidth > 0) setWidth(target.clientWidth);
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [element]);
  return width;
}
