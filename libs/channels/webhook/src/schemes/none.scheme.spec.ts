import { NoneScheme } from './none.scheme';

describe(NoneScheme.name, () => {
  const scheme = new NoneScheme();

  it('accepts any delivery, signed or not, at any time', () => {
    expect(
      scheme.verify({
        headers: { 'webhook-signature': 'v1,garbage' },
        rawBody: Buffer.from([0xff, 0x00]),
        secrets: [],
        nowSeconds: 0,
        toleranceSeconds: 300,
      }),
    ).toEqual({ ok: true, deliveryId: undefined });
  });

  it('has no idempotency key of its own and signs nothing', () => {
    expect(scheme.defaultIdempotency).toBeUndefined();
    expect(scheme.sign({ rawBody: Buffer.from('{}'), secret: '', nowSeconds: 0 })).toEqual({});
  });
});
