/**
 * The progress bar of an import, on stderr (cli-progress): one bar for checking the file, one for
 * sending it. Shown on a terminal only; piped or logged output gets the summary alone.
 */
import { Presets, SingleBar } from 'cli-progress';
import { formatCount } from '../output.js';

export class Progress {
  private bar: SingleBar | undefined;

  constructor(private readonly enabled: boolean) {}

  /** A new bar: `total` in `unit`s (bytes are shown in MiB). */
  start(label: string, total: number, unit: 'bytes' | 'rows'): void {
    this.stop();
    if (!this.enabled || total <= 0) return;
    const scale = unit === 'bytes' ? 1024 * 1024 : 1;
    const shown = unit === 'bytes' ? 'MiB' : 'rows';
    this.bar = new SingleBar(
      {
        format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${shown} | {duration_formatted} | ETA {eta_formatted}`,
        formatValue: (value, _options, type) =>
          type === 'value' || type === 'total'
            ? unit === 'bytes'
              ? (value / scale).toFixed(1)
              : formatCount(value)
            : String(value),
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    this.bar.start(total, 0);
  }

  update(value: number): void {
    this.bar?.update(value);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
