/** A message the loopback Slack holds (slack-api.ts's StoredMessage, with its stream state). */
export interface StreamableMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown;
  thread_ts?: string;
  /** `streaming` from chat.startStream until chat.stopStream. */
  stream?: 'streaming' | 'stopped';
}

type Answer = { status: number; body: unknown };
const ok = (body: Record<string, unknown>): Answer => ({
  status: 200,
  body: { ok: true, ...body },
});
const fail = (error: string): Answer => ({ status: 200, body: { ok: false, error } });

/** The text of `markdown_text` plus any markdown_text chunks (chat.*Stream's two forms). */
function textOf(args: Record<string, any>): string {
  const chunks = Array.isArray(args.chunks) ? (args.chunks as Array<Record<string, unknown>>) : [];
  return (
    String(args.markdown_text ?? '') +
    chunks
      .filter((c) => c.type === 'markdown_text')
      .map((c) => (typeof c.text === 'string' ? c.text : ''))
      .join('')
  );
}

/**
 * The loopback's liveness methods, answering as Slack does: assistant.threads.setStatus
 * (channel_id and thread_ts required; every status kept in `statuses`), the native
 * streaming trio — chat.startStream (a thread is required; outside a DM, the recipient
 * user and team too), chat.appendStream and chat.stopStream (the message must exist and
 * still be streaming) — and chat.delete. Streamed messages live in the same store as
 * posted ones; `streams` keeps every piece in order, for what the user saw.
 */
export class SlackStreams {
  readonly statuses: Array<{ channel: string; thread: string; status: string; at: number }> = [];
  readonly streams: Array<{
    method: string;
    channel: string;
    ts: string;
    text: string;
    at: number;
  }> = [];
  /** Messages removed by chat.delete, in order. */
  readonly deleted: StreamableMessage[] = [];

  constructor(
    private readonly messages: Map<string, StreamableMessage>,
    private readonly nextTs: () => string,
  ) {}

  handles(method: string): boolean {
    return [
      'assistant.threads.setStatus',
      'chat.startStream',
      'chat.appendStream',
      'chat.stopStream',
      'chat.delete',
    ].includes(method);
  }

  answer(method: string, args: Record<string, any>): Answer {
    if (method === 'assistant.threads.setStatus') {
      if (!args.channel_id || !args.thread_ts) return fail('invalid_arguments');
      const status = String(args.status ?? '');
      this.statuses.push({
        channel: args.channel_id,
        thread: args.thread_ts,
        status,
        at: Date.now(),
      });
      return ok({});
    }
    const channel = typeof args.channel === 'string' ? args.channel : '';
    if (!channel) return fail('channel_not_found');
    if (method === 'chat.startStream') return this.start(channel, args);
    const key = `${channel}/${String(args.ts)}`;
    const stored = this.messages.get(key);
    if (!stored) return fail('message_not_found');
    if (method === 'chat.delete') {
      this.messages.delete(key);
      this.deleted.push(stored);
      return ok({ channel, ts: stored.ts });
    }
    if (stored.stream !== 'streaming') return fail('message_not_in_streaming_state');
    const text = textOf(args);
    stored.text += text;
    this.streams.push({ method, channel, ts: stored.ts, text, at: Date.now() });
    if (method === 'chat.stopStream') {
      stored.stream = 'stopped';
      return ok({ channel, ts: stored.ts, message: { type: 'message', text: stored.text } });
    }
    return ok({ channel, ts: stored.ts });
  }

  private start(channel: string, args: Record<string, any>): Answer {
    if (!args.thread_ts) return fail('invalid_arguments');
    // Outside a DM a stream is shown to one person, named with their team.
    if (!channel.startsWith('D')) {
      if (!args.recipient_user_id) return fail('missing_recipient_user_id');
      if (!args.recipient_team_id) return fail('missing_recipient_team_id');
    }
    const ts = this.nextTs();
    const text = textOf(args);
    this.messages.set(`${channel}/${ts}`, {
      channel,
      ts,
      text,
      thread_ts: String(args.thread_ts),
      stream: 'streaming',
    });
    this.streams.push({ method: 'chat.startStream', channel, ts, text, at: Date.now() });
    return ok({ channel, ts });
  }
}
