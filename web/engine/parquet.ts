/** parquet-wasm, initialised once from our own origin. */
import initParquet, { ParquetFile } from 'parquet-wasm/esm';

let ready: Promise<unknown> | undefined;

/** Compiles parquet-wasm's module (once per page; a failure is retried by the next call). */
export function startParquet(): Promise<unknown> {
  ready ??= initParquet({ module_or_path: new URL('./assets/parquet_wasm_bg.wasm', import.meta.url) }).catch(
    (error: unknown) => {
      ready = undefined;
      throw error;
    },
  );
  return ready;
}

export async function openParquet(url: string): Promise<ParquetFile> {
  await startParquet();
  return ParquetFile.fromUrl(url);
}
