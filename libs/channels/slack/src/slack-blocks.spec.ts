import { verifyButtonToken } from '@app/security';
import { type OutboundAskPayload } from '@app/core';
import { renderAnswered, renderAsk, renderMessage, renderNotice } from './slack-blocks';

const secret = 'button-secret-for-tests-0001';
const waitId = '01890000-0000-7000-8000-0000000000bb';

function ask(overrides: Partial<OutboundAskPayload> = {}): OutboundAskPayload {
  return {
    kind: 'ask',
    waitId,
    text: 'Ship *v1.2* to production?',
    expects: { enum: ['yes', 'no', 'later'] },
    responders: null,
    thread: '1767225700.000200',
    ...overrides,
  };
}

function buttonsOf(blocks: any[] | undefined): any[] {
  return (blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements);
}

describe('Slack rendering', () => {
  it('a message: chat.postMessage in the thread', () => {
    expect(
      renderMessage({ kind: 'message', text: 'Deployed.', thread: '1767225700.000200' }, 'C1'),
    ).toEqual({
      method: 'chat.postMessage',
      args: { channel: 'C1', text: 'Deployed.', thread_ts: '1767225700.000200' },
    });
  });

  it('an ask with choices: one button per choice, each value a token for that choice', () => {
    const call = renderAsk(ask(), 'C1', secret);
    expect(call.method).toBe('chat.postMessage');
    expect(call.args).toMatchObject({
      channel: 'C1',
      text: 'Ship *v1.2* to production?',
      thread_ts: '1767225700.000200',
    });
    expect(call.args.blocks![0]).toEqual({
      type: 'section',
      block_id: `wg_ask_${waitId}`,
      text: { type: 'mrkdwn', text: 'Ship *v1.2* to production?' },
    });
    const buttons = buttonsOf(call.args.blocks);
    expect(buttons.map((b) => b.text.text)).toEqual(['yes', 'no', 'later']);
    expect(new Set(buttons.map((b) => b.action_id)).size).toBe(3);
    buttons.forEach((b, i) => {
      expect(verifyButtonToken(b.value, [secret])).toEqual({ kind: 'answer', waitId, choice: i });
      expect(verifyButtonToken(b.value, ['another-secret-0000000'])).toBeNull();
    });
  });

  it('an approval: Reject (danger) and Approve (primary)', () => {
    const buttons = buttonsOf(
      renderAsk(ask({ expects: { type: 'boolean' } }), 'C1', secret).args.blocks,
    );
    expect(buttons.map((b) => [b.text.text, b.style])).toEqual([
      ['Reject', 'danger'],
      ['Approve', 'primary'],
    ]);
    expect(verifyButtonToken(buttons[1].value, [secret])).toMatchObject({ choice: 1 });
  });

  it('more than 25 choices: rows of 25 with unique block ids', () => {
    const values = Array.from({ length: 30 }, (_v, i) => `option ${i}`);
    const blocks = renderAsk(ask({ expects: { enum: values } }), 'C1', secret).args.blocks!;
    const rows = blocks.filter((b) => b.type === 'actions') as any[];
    expect(rows.map((r) => r.elements.length)).toEqual([25, 5]);
    expect(new Set(blocks.map((b: any) => b.block_id)).size).toBe(blocks.length);
  });

  it('free text: no buttons, a line saying where to answer; responders named', () => {
    const call = renderAsk(
      ask({ expects: { type: 'string' }, responders: ['slack:T0FAKE01:U0FAKE01', 'telegram:42'] }),
      'C1',
      secret,
    );
    expect(buttonsOf(call.args.blocks)).toEqual([]);
    expect(JSON.stringify(call.args.blocks)).toContain('Reply in this thread to answer.');
    expect(JSON.stringify(call.args.blocks)).toContain('Only <@U0FAKE01> can answer.');
  });

  it('a reminder rung says so', () => {
    const call = renderAsk(ask({ rung: 'remind' }), 'C1', secret);
    expect(call.args.text).toBe('Reminder: Ship *v1.2* to production?');
  });

  it('reminders and hand-overs as the engine marks them say so too, buttons kept', () => {
    const reminder = renderAsk(ask({ reminder: true, text: 'Still waiting.' }), 'C1', secret);
    expect(reminder.args.text).toBe('Reminder: Still waiting.');
    expect(JSON.stringify(reminder.args.blocks)).toContain('*Reminder:* Still waiting.');
    expect(buttonsOf(reminder.args.blocks)).toHaveLength(3);
    expect(renderAsk(ask({ escalated: true }), 'C1', secret).args.text).toBe(
      'Escalated: Ship *v1.2* to production?',
    );
  });

  it('a handed-over or expired question loses its buttons and says why', () => {
    const closed = (how: 'escalated' | 'expired') =>
      renderAnswered(
        {
          kind: 'answered',
          waitId,
          promptMessageId: '1.2',
          text: 'Ship it?',
          answeredBy: '',
          answer: null,
          closed: how,
        },
        'C1',
      );
    expect(closed('escalated').args.text).toBe(
      'Ship it?\n⚠️ Handed over: this question is answered elsewhere now.',
    );
    expect(closed('expired').args.text).toBe('Ship it?\n⌛ Expired: no answer in time.');
    expect(buttonsOf(closed('expired').args.blocks)).toEqual([]);
  });

  it('answered: chat.update of the prompt, actions gone, who answered (escaped answer)', () => {
    const call = renderAnswered(
      {
        kind: 'answered',
        waitId,
        promptMessageId: '1767225900.000500',
        text: 'Ship it?',
        answeredBy: 'slack:T0FAKE01:U0FAKE01',
        answer: '<!channel> yes',
      },
      'C1',
    );
    expect(call).toEqual({
      method: 'chat.update',
      args: {
        channel: 'C1',
        ts: '1767225900.000500',
        text: 'Ship it?\n✅ answered by <@U0FAKE01>: &lt;!channel&gt; yes',
        blocks: [
          {
            type: 'section',
            block_id: `wg_ask_${waitId}`,
            text: { type: 'mrkdwn', text: 'Ship it?' },
          },
          {
            type: 'context',
            elements: [
              { type: 'mrkdwn', text: '✅ answered by <@U0FAKE01>: &lt;!channel&gt; yes' },
            ],
          },
        ],
      },
    });
  });

  it('answered by a person from another channel, with a boolean answer', () => {
    const call = renderAnswered(
      {
        kind: 'answered',
        waitId,
        promptMessageId: '1.2',
        text: 'Ship it?',
        answeredBy: 'Ana',
        answer: true,
      },
      'C1',
    );
    expect(call.args.text).toBe('Ship it?\n✅ answered by Ana: Approve');
  });

  it('a notice: ephemeral to one user, or in the thread with ready-made buttons', () => {
    expect(
      renderNotice(
        {
          kind: 'notice',
          text: 'Only <@U1> can answer this.',
          ephemeralTo: 'slack:T1:U0FAKE03',
          thread: '9.1',
        },
        'C1',
      ),
    ).toEqual({
      method: 'chat.postEphemeral',
      args: {
        channel: 'C1',
        user: 'U0FAKE03',
        text: 'Only <@U1> can answer this.',
        thread_ts: '9.1',
      },
    });
    const call = renderNotice(
      {
        kind: 'notice',
        text: 'Which one?',
        replyTo: '9.1',
        buttons: [{ label: 'deploy #1', token: 'tok' }],
      },
      'C1',
    );
    expect(call).toMatchObject({ method: 'chat.postMessage', args: { thread_ts: '9.1' } });
    expect(buttonsOf(call.args.blocks)).toEqual([
      expect.objectContaining({
        value: 'tok',
        text: expect.objectContaining({ text: 'deploy #1' }),
      }),
    ]);
  });
});

describe('Slack rendering with format markdown', () => {
  it.each([
    ['Markdown → mrkdwn', 'a **b** [c](https://x.y)', 'a *b* <https://x.y|c>'],
    ['plain text → only escaped', 'x < y & <!channel>', 'x &lt; y &amp; &lt;!channel&gt;'],
  ])('%s', (_name, text, expected) => {
    expect(renderMessage({ kind: 'message', text }, 'C1', 'markdown').args.text).toBe(expected);
  });

  it('leaves a message with blocks of its own, and format plain, as typed', () => {
    const blocks = [{ type: 'divider' }];
    expect(
      renderMessage({ kind: 'message', text: '**b**', blocks }, 'C1', 'markdown').args.text,
    ).toBe('**b**');
    expect(renderMessage({ kind: 'message', text: '**b**' }, 'C1', 'plain').args.text).toBe(
      '**b**',
    );
  });
});

const WAIT = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('Slack rendering of long questions', () => {
  it('a question over 3,000 characters keeps every word, in several sections', () => {
    const text = `${'a question '.repeat(400)}\n\n${'more detail '.repeat(300)}end?`;
    const call = renderAsk(
      { kind: 'ask', waitId: WAIT, text, expects: { type: 'boolean' }, responders: null },
      'C1',
      'secret-secret-secret-0001',
    );
    const sectionTexts = (call.args.blocks ?? [])
      .filter((b) => b.type === 'section')
      .map((b) => (b as { text: { text: string } }).text.text);
    expect(sectionTexts.length).toBeGreaterThan(1);
    for (const t of sectionTexts) expect(t.length).toBeLessThanOrEqual(3000);
    expect(sectionTexts.join('')).toBe(text);
    expect(call.args.blocks![0]).toMatchObject({ block_id: `wg_ask_${WAIT}` });
  });
});
