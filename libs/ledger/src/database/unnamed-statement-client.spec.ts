import { withoutName } from './unnamed-statement-client';

// The client itself is exercised behind a real PgBouncer in
// test/integration/pooled-database.int-spec.ts; this is the argument it rewrites.
describe(withoutName.name, () => {
  it('copies a query config without its name and leaves the caller’s object alone', () => {
    const config = { name: 'step-start-batch', text: 'SELECT $1', values: [1], rowMode: 'array' };
    expect(withoutName(config)).toEqual({ text: 'SELECT $1', values: [1], rowMode: 'array' });
    expect(config.name).toBe('step-start-batch');
  });

  it.each([
    ['query text', 'SELECT 1'],
    ['a config without a name', { text: 'SELECT 1' }],
    ['a Submittable (pg-cursor)', { name: 'kept', submit: () => undefined }],
    ['nothing', undefined],
  ])('passes %s through as it is', (_what, arg) => {
    expect(withoutName(arg)).toBe(arg);
  });
});
