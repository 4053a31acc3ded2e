import { prettyLogLine } from './pretty-log';

describe(prettyLogLine.name, () => {
  it('prints a pino line as time, level, app, message and the other fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 11, 4, 12, 3, 4),
      pid: 1,
      hostname: 'h',
      msg: 'lease expired',
      workId: 'w1',
      n: 2,
    });
    expect(prettyLogLine(line, 'worker')).toBe(
      '12:03:04 \u001b[33mWARN \u001b[0m [worker] lease expired workId=w1 n=2',
    );
  });

  it.each(['Error: boom', '    at main (x.js:1:1)', '[1,2]', 'null'])(
    'keeps a line that is not a pino object as it is: %s',
    (text) => {
      expect(prettyLogLine(text, 'gateway')).toBe(`[gateway] ${text}`);
    },
  );
});
