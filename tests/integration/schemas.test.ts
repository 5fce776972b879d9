import { TickflowError } from '../../pipelines/runtime/errors';
import { RegistryAdmin, checkCatalog, registerCatalog } from '../../ops/schemas/registry';
import { readSchema } from '../../schemas/avro';
import { unique } from '../support/helpers';

describe('schemas against the real registry', () => {
  const admin = new RegistryAdmin();

  it('registers the catalog idempotently under <topic>-value with BACKWARD compatibility', async () => {
    const first = await registerCatalog(admin);
    const second = await registerCatalog(admin);
    expect(second.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(first.map((r) => r.subject)).toContain('md.trades.v1-value');
    expect(await admin.compatibility('md.trades.v1-value')).toBe('BACKWARD');
    expect((await checkCatalog(admin)).every((r) => r.registered && r.problems.length === 0)).toBe(true);
  });

  it('fails a changed schema that breaks BACKWARD, naming the field, and accepts a compatible one', async () => {
    const subject = `${unique('test.schema.')}.v1-value`;
    const trade = readSchema('trade') as unknown as { fields: unknown[]; [key: string]: unknown };
    const v1 = await admin.register(subject, trade as never);
    expect(v1.version).toBe(1);

    const breaking = { ...trade, fields: [...trade.fields, { name: 'exchangeFee', type: 'string' }] };
    expect(await admin.check(subject, breaking as never)).toEqual([
      "field 'Trade.exchangeFee' was added without a default, so old records cannot fill it",
    ]);
    let error: unknown;
    try {
      await admin.register(subject, breaking as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).code).toBe('SCHEMA_INCOMPATIBLE');
    expect((error as TickflowError).message).toMatch(/exchangeFee/);

    const compatible = {
      ...trade,
      fields: [...trade.fields, { name: 'exchangeFee', type: ['null', 'string'], default: null }],
    };
    expect(await admin.check(subject, compatible as never)).toEqual([]);
    expect((await admin.register(subject, compatible as never)).version).toBe(2);
  });
});

describe('schema ids survive a registry restart', () => {
  it('keeps ids and decodes records written before the restart', async () => {
    const { stopComponent, stackUp } = await import('../../ops/stack/stack');
    const { AvroCodec } = await import('../../pipelines/runtime/codec');
    const { Decimal } = await import('../../schemas/decimal');
    const before = new AvroCodec();
    const bytes = await before.encode('md.trades.v1', {
      instrumentId: 'X:Y',
      venue: 'X',
      symbol: 'Y',
      source: 't',
      tsEvent: 1,
      tsRecv: 2,
      price: new Decimal('1.5'),
      size: '2',
      side: 'BUY',
      tradeId: '1',
    });
    const id = bytes.readInt32BE(1);
    expect(await stopComponent('registry')).toBe(true);
    await stackUp({});
    const latest = await new RegistryAdmin().latest('md.trades.v1-value');
    expect(latest?.id).toBe(id);
    const decoded = await new AvroCodec().decode<{ price: InstanceType<typeof Decimal> }>('md.trades.v1', bytes);
    expect(decoded.price.toFixed()).toBe('1.5');
  });
});
