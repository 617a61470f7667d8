/**
 * Schema reconciliation (ADR 0015): conflicts with the catalog, and races with other writers, where
 * two catalogs on one store stand for two API nodes and the other node commits while this one still
 * holds the older head.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, TimestampMillisecond } from 'apache-arrow';
import { pack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore, type TenantCatalog, TenantCatalogs, tableKey } from '../../catalog/index.js';
import { decodeArrowIpc, decodeLineProtocol, decodeMsgpack } from '../../services/ingest/decode/index.js';
import { reconcileSchema } from '../../services/ingest/schema.js';
import { arrowColumn, arrowTimes, context, ipc } from './decode/helpers.js';

const lp = (text: string) => decodeLineProtocol(Buffer.from(text), context());
const columnsOf = (batches: Awaited<ReturnType<typeof reconcileSchema>>['batches']) =>
  batches[0]!.columns.map((c) => `${c.role}:${c.name}:${c.type}`);

describe('schema reconciliation against a head another writer moved', () => {
  let root: string;
  let here: TenantCatalog;
  let there: TenantCatalog;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'weir-schema-race-'));
    here = new TenantCatalogs(new LocalObjectStore(root)).forTenant('acme');
    there = new TenantCatalogs(new LocalObjectStore(root)).forTenant('acme');
    await reconcileSchema(here, lp('m v=1 1700000000000000000'));
    await there.refresh();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const catalogColumns = async () =>
    (await there.refresh()).tables
      .get(tableKey('db', 'm'))!
      .columns.map((c) => `${c.role}:${c.name}:${c.type}`);

  it('integers for a column the other writer added as float64 are widened, with no commit of ours', async () => {
    await reconcileSchema(there, lp('m x=1.5 1700000000000000000'));
    const version = (await there.current()).version;
    const result = await reconcileSchema(
      here,
      decodeMsgpack(pack({ m: 'm', t: 1, fields: { x: 2 } }), context()),
    );
    expect(result.committed).toBe(false);
    expect(columnsOf(result.batches)).toEqual(['field:x:float64']);
    expect((await there.refresh()).version).toBe(version);
  });

  it('an inferred tag yields to the field the other writer added', async () => {
    await reconcileSchema(there, lp('m note="hello" 1700000000000000000'));
    const body = pack({ m: 'm', columns: { time: [1_700_000_000], note: ['n'] } });
    const result = await reconcileSchema(here, decodeMsgpack(body, context()));
    expect(columnsOf(result.batches)).toEqual(['field:note:string']);
  });

  it('columns of the request the other writer did not add are still added, in one commit', async () => {
    await reconcileSchema(there, lp('m x=1.5 1700000000000000000'));
    const result = await reconcileSchema(here, lp('m,host=a x=2i,y=3i 1700000000000000000'));
    expect(result.committed).toBe(true);
    expect(columnsOf(result.batches)).toEqual(['tag:host:string', 'field:x:float64', 'field:y:int64']);
    expect(await catalogColumns()).toEqual([
      'time:time:timestamp',
      'field:v:float64',
      'field:x:float64',
      'tag:host:string',
      'field:y:int64',
    ]);
  });

  it('a table the other writer dropped is created again', async () => {
    await there.commit([{ op: 'dropTable', database: 'db', table: 'm' }]);
    const result = await reconcileSchema(here, lp('m w=1i 1700000000000000000'));
    expect(result.committed).toBe(true);
    expect(await catalogColumns()).toEqual(['time:time:timestamp', 'field:w:int64']);
  });

  it('a conflict with the newest state is a 400 from ingest naming both types, and commits nothing', async () => {
    await reconcileSchema(there, lp('m x="text" 1700000000000000000'));
    const version = (await there.current()).version;
    await expect(reconcileSchema(here, lp('m x=1i,y=2i 1700000000000000000'))).rejects.toMatchObject({
      httpStatus: 400,
      code: 'TYPE_CONFLICT',
      message: expect.stringContaining(
        'column x of db.m is a string field in the catalog; this request writes it as an int64 field (first at line 1: 1)',
      ),
    });
    expect((await there.refresh()).version).toBe(version);
  });
});

describe('a type conflict with the catalog names where the request first writes the column', () => {
  let root: string;
  let catalog: TenantCatalog;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'weir-schema-conflict-'));
    catalog = new TenantCatalogs(new LocalObjectStore(root)).forTenant('acme');
    await reconcileSchema(catalog, lp('m v=1i 1700000000000000000'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const refusal = (batches: ReturnType<typeof lp>, first: string) =>
    expect(reconcileSchema(catalog, batches)).rejects.toMatchObject({
      httpStatus: 400,
      code: 'TYPE_CONFLICT',
      message: expect.stringContaining(
        `column v of db.m is an int64 field in the catalog; this request writes it as a float64 field (${first})`,
      ),
    });

  it('line protocol: the line and its value', async () => {
    await refusal(lp('other w=1 1\n# a comment\nm w=2 2\nm v=2.5 3\nm v=1 4'), 'first at line 4: 2.5');
  });

  it('MessagePack: the item and the first value', async () => {
    const body = pack([
      { m: 'm', columns: { time: [1], w: [1] } },
      { m: 'm', columns: { time: [2, 3], v: [null, 0.5] } },
    ]);
    await refusal(decodeMsgpack(body, context()), 'first at item 2: 0.5');
  });

  it('Arrow: the row of the first value', async () => {
    const body = ipc([
      arrowTimes(new TimestampMillisecond(), [1n, 2n]),
      arrowColumn('v', [null, 0.25], new Float64()),
    ]);
    await refusal(decodeArrowIpc(body, { ...context(), table: 'm' }), 'first at row 2: 0.25');
  });
});
