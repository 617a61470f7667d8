/** parquet-wasm, initialised once from our own origin. */
import initParquet, { ParquetFile } from 'parquet-wasm/esm';

let ready: Promise<unknown> | undefined;

export async function openParquet(url: string): Promise<ParquetFile> {
  ready ??= initParquet({ module_or_path: new URL('./assets/parquet_wasm_bg.wasm', import.meta.url) });
  await ready;
  return ParquetFile.fromUrl(url);
}
