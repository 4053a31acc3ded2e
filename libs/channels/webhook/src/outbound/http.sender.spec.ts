import { OutboundError } from '@app/core';
import { HttpSender } from './http.sender';

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

describe(HttpSender.name, () => {
  const fetchNever = (() => {
    throw new Error('no request may be made for an unknown target');
  }) as unknown as typeof fetch;
  const sender = new HttpSender(
    { ci: { url: 'http://127.0.0.1:9/ci', headers: {}, timeout: 1000, ratePerSecond: 5 } },
    fetchNever,
  );
  const delivery = (target: string) => ({
    outboxId: 'o1',
    workId: null,
    target,
    payload: { text: 'hi' } as never,
    idempotencyKey: 'k1',
    attempt: 1,
  });

  it.each(PROTOTYPE_NAMES)(
    'a target named %s is unknown: refused for good, no rate limit, no request',
    async (name) => {
      expect(sender.limits(delivery(name))).toEqual([]);
      const err = await sender.send(delivery(name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundError);
      expect(err).toMatchObject({ retryable: false });
      expect((err as Error).message).toMatch(/no outbound.http target named/);
    },
  );

  it('a configured target has its rate limit', () => {
    expect(sender.limits(delivery('ci'))).toEqual([{ key: 'http:ci', max: 5, perMs: 1000 }]);
  });
});
