import { Redis } from 'ioredis';
import { SlackLiveness, SlackSender } from '@app/channels/slack';
import { TelegramLiveness, TelegramSender } from '@app/channels/telegram';
import { type PreviewMessageRef } from '@app/core';
import { TEST_REDIS_URL } from '@test/env';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer } from '@test/slack-api';
import { TelegramApiServer } from '@test/telegram-api';
import { RedisOpenPreviews } from '../../libs/sdk/src/worker/redis-open-previews';

const TG_TOKEN = '100000041:TEST_ONLY-liveness-int';
const SLACK_TOKEN = 'xoxb-liveness-int';

/**
 * The pieces that clean up after a worker died mid-stream, against the real clients:
 * RedisOpenPreviews on real Redis, and each channel's `discard` through Telegraf and
 * the Slack WebClient against the loopback APIs, deleting a preview message a run left
 * behind — also when it is already gone.
 */
describe('left-behind previews (Redis + Telegraf + WebClient against loopback APIs)', () => {
  let prefix: string;
  let redis: Redis;
  let telegram: TelegramApiServer;
  let slack: SlackApiServer;
  let config: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    prefix = testQueuePrefix();
    redis = new Redis(TEST_REDIS_URL);
    telegram = await new TelegramApiServer().start();
    telegram.addBot(TG_TOKEN, { username: 'liveness_bot', first_name: 'Liveness' });
    slack = await new SlackApiServer().start();
    slack.tokens.set(SLACK_TOKEN, { teamId: 'T0LIVEINT', team: 'T0LIVEINT' });
    config = testConfig({
      schema: 'unused',
      prefix,
      overrides: {
        telegram: {
          apiRoot: telegram.url,
          bots: { main: { token: TG_TOKEN, mode: 'polling', liveness: 'typing' } },
        },
        slack: {
          apiUrl: slack.url,
          workspaces: {
            acme: { teamId: 'T0LIVEINT', botToken: SLACK_TOKEN, signingSecret: 'unused-secret' },
          },
        },
      },
    });
  });

  afterAll(async () => {
    redis?.disconnect();
    await telegram?.stop();
    await slack?.stop();
    await deleteKeys(prefix);
  });

  it('RedisOpenPreviews hands each open preview out once, and forgets removed ones', async () => {
    const open = new RedisOpenPreviews(redis, prefix);
    const a: PreviewMessageRef = { channel: 'telegram', target: 'main:-100', message: '7' };
    const b: PreviewMessageRef = {
      channel: 'slack',
      target: 'acme:C1',
      thread: '1.2',
      message: '3.4',
    };
    await open.add('w1', a);
    await open.add('w1', b);
    await open.add('w2', a);
    await open.remove('w1', a);
    expect(await open.take('w1')).toEqual([b]);
    expect(await open.take('w1')).toEqual([]);
    expect(await open.take('w2')).toEqual([a]);
    expect(await redis.exists(`${prefix}:previews:w1`)).toBe(0);
  });

  it('Telegram: the mode comes from the bot, and discard deletes a left-behind preview once', async () => {
    const liveness = new TelegramLiveness(config, new TelegramSender(config));
    expect(liveness.modeFor({ channel: 'telegram', target: 'main:42' })).toBe('typing');
    expect(liveness.modeFor({ channel: 'telegram', target: 'other:42' })).toBe('off');
    const chatId = -100_730_000_001;
    const opened: string[] = [];
    const preview = liveness.open(
      { channel: 'telegram', target: `main:${chatId}` },
      {
        id: 1,
        track: {
          opened: async (m) => void opened.push(m),
          closed: async () => undefined,
        },
      },
    );
    await preview.text('half an ans');
    expect(opened).toHaveLength(1);
    // The worker dies here; the next run discards what it left.
    const ref = { channel: 'telegram', target: `main:${chatId}`, message: opened[0]! };
    await liveness.discard(ref);
    expect(telegram.botMessages(chatId)).toEqual([]);
    await expect(liveness.discard(ref)).resolves.toBeUndefined(); // already gone: fine
  });

  it('Slack: discard stops a stream left open and deletes it; a second discard is fine', async () => {
    const liveness = new SlackLiveness(config, new SlackSender(config));
    const address = { channel: 'slack', target: 'acme:C0LIVEINT', thread: '1767226000.000001' };
    expect(liveness.modeFor(address)).toBe('stream');
    expect(liveness.modeFor({ ...address, thread: undefined })).toBe('off');
    const opened: string[] = [];
    const preview = liveness.open(address, {
      id: 1,
      recipient: { user: 'U0ALICE01', team: 'T0LIVEINT' },
      track: { opened: async (m) => void opened.push(m), closed: async () => undefined },
    });
    await preview.text('half an ans');
    expect(opened).toHaveLength(1);
    const ts = opened[0]!;
    expect(slack.messages.get(`C0LIVEINT/${ts}`)).toMatchObject({ stream: 'streaming' });
    await liveness.discard({ ...address, message: ts });
    expect(slack.on('chat.stopStream').map((c) => c.args.ts)).toEqual([ts]);
    expect(slack.live.deleted.map((m) => m.ts)).toEqual([ts]);
    await expect(liveness.discard({ ...address, message: ts })).resolves.toBeUndefined();
  });
});
