import { typedAnswer } from './typed-answer';

describe(typedAnswer.name, () => {
  const boolean = { type: 'boolean' };
  it.each([
    ['yes', true],
    ['Y', true],
    [' true ', true],
    ['Approve', true],
    ['ok!', true],
    ['no', false],
    ['N', false],
    ['FALSE', false],
    ['reject.', false],
  ])('reads %j as %j for a boolean wait', (typed, value) => {
    expect(typedAnswer(boolean, typed)).toBe(value);
  });

  it('leaves other words as typed, so validation can say why', () => {
    expect(typedAnswer(boolean, 'maybe')).toBe('maybe');
  });

  it('maps a choice label typed in any case to its value', () => {
    expect(typedAnswer({ enum: ['staging', 'production'] }, 'Production')).toBe('production');
    expect(typedAnswer({ enum: [1, 2] }, '2')).toBe(2);
    expect(typedAnswer({ enum: ['a'] }, 'b')).toBe('b');
  });

  it('never touches a button value, a file message or a free-text wait', () => {
    expect(typedAnswer(boolean, true)).toBe(true);
    const files = { text: 'yes', attachments: [] };
    expect(typedAnswer(boolean, files)).toBe(files);
    expect(typedAnswer({ type: 'string' }, 'yes')).toBe('yes');
    expect(typedAnswer(null, 'yes')).toBe('yes');
  });
});
