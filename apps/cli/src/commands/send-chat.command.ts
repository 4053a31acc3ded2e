import { randomInt } from 'node:crypto';
import { type Command } from 'commander';
import { loadConfig } from '@app/config';
import { EXIT } from '../exit-codes';

interface ChatSendOptions {
  text?: string;
  gateway?: string;
  json?: boolean;
}

interface TelegramSendOptions extends ChatSendOptions {
  chat: string;
  from: string;
  name: string;
  replyTo?: string;
  callback?: string;
}

interface SlackSendOptions extends ChatSendOptions {
  channel: string;
  user: string;
  thread?: string;
}

/**
 * `workgate send telegram|slack`: a realistic update / Events API callback, signed the
 * way the provider signs it (Telegram's secret-token header; Slack's v0 HMAC), posted to
 * a running gateway — to try a bot without the provider, or to script a demo.
 */
export function registerSendChat(send: Command): void {
  registerSendTelegram(send);
  registerSendSlack(send);
}

/** `send telegram <bot>`: a message or a button press, with the bot's secret-token header. */
function registerSendTelegram(send: Command): void {
  send
    .command('telegram <bot>')
    .description('post a Telegram update (a message, or a button press) to /telegram/<bot>')
    .option('-t, --text <text>', 'the message text (e.g. "deploy v2" or "/status")')
    .option('--chat <id>', 'chat id', '100000001')
    .option('--from <id>', 'sender user id', '100000001')
    .option('--name <name>', 'sender first name', 'Tester')
    .option('--reply-to <messageId>', 'reply to this message id')
    .option('--callback <data>', 'a button press with this callback_data instead of a message')
    .option('-g, --gateway <url>', 'gateway base URL (default: $WORKGATE_URL)')
    .option('--json', 'print only the JSON answer')
    .action(async (bot: string, opts: TelegramSendOptions) => {
      const config = loadConfig();
      const settings = Object.hasOwn(config.telegram.bots, bot)
        ? config.telegram.bots[bot]
        : undefined;
      if (!settings) {
        console.error(
          `No Telegram bot "${bot}" in the config (have: ${Object.keys(config.telegram.bots).join(', ') || 'none'})`,
        );
        process.exitCode = EXIT.config;
        return;
      }
      if (!settings.secretToken) {
        console.error(
          `Bot "${bot}" has no secretToken: only webhook-mode bots take updates over HTTP.`,
        );
        process.exitCode = EXIT.config;
        return;
      }
      if (!opts.text && !opts.callback) {
        console.error('Say what to send: --text <text> or --callback <data>.');
        process.exitCode = EXIT.usage;
        return;
      }
      const update = telegramUpdate(opts);
      await postToGateway(
        `${base(opts, config.env.WORKGATE_URL)}/telegram/${bot}`,
        JSON.stringify(update),
        {
          'content-type': 'application/json',
          'x-telegram-bot-api-secret-token': settings.secretToken,
        },
        opts.json,
      );
    });
}

/** A Telegram update as the Bot API would post it: a message, or a callback_query. */
function telegramUpdate(opts: TelegramSendOptions): object {
  const now = Math.floor(Date.now() / 1000);
  const chatId = Number(opts.chat);
  const chat =
    chatId < 0
      ? { id: chatId, type: 'group', title: 'test group' }
      : { id: chatId, type: 'private', first_name: opts.name };
  const from = { id: Number(opts.from), is_bot: false, first_name: opts.name };
  const messageId = randomInt(1, 2 ** 31 - 1);
  return opts.callback
    ? {
        update_id: randomInt(1, 2 ** 31 - 1),
        callback_query: {
          id: String(randomInt(1, 2 ** 48 - 1)),
          from,
          chat_instance: String(chatId),
          data: opts.callback,
          message: {
            message_id: Number(opts.replyTo ?? messageId),
            date: now,
            chat,
            text: '(the message with the button)',
          },
        },
      }
    : {
        update_id: randomInt(1, 2 ** 31 - 1),
        message: {
          message_id: messageId,
          date: now,
          chat,
          from,
          text: opts.text,
          ...(opts.text?.startsWith('/')
            ? {
                entities: [
                  { type: 'bot_command', offset: 0, length: opts.text.split(/\s/)[0]!.length },
                ],
              }
            : {}),
          ...(opts.replyTo
            ? { reply_to_message: { message_id: Number(opts.replyTo), date: now, chat } }
            : {}),
        },
      };
}

/** `send slack <workspace>`: an Events API callback signed with the signing secret. */
function registerSendSlack(send: Command): void {
  send
    .command('slack <workspace>')
    .description(
      'post a signed Slack event (an app mention, or a DM for D… channels) to /slack/events',
    )
    .requiredOption('-t, --text <text>', 'what the user writes (the bot mention is added)')
    .option('--channel <id>', 'channel id (D… for a direct message)', 'C0000TEST1')
    .option('--user <id>', 'the Slack user id writing', 'U0000TEST1')
    .option('--thread <ts>', 'reply in this thread (thread_ts)')
    .option('-g, --gateway <url>', 'gateway base URL (default: $WORKGATE_URL)')
    .option('--json', 'print only the JSON answer')
    .action(async (workspace: string, opts: SlackSendOptions) => {
      const config = loadConfig();
      const ws = Object.hasOwn(config.slack.workspaces, workspace)
        ? config.slack.workspaces[workspace]
        : undefined;
      if (!ws) {
        console.error(
          `No Slack workspace "${workspace}" in the config (have: ${Object.keys(config.slack.workspaces).join(', ') || 'none'})`,
        );
        process.exitCode = EXIT.config;
        return;
      }
      if (!ws.signingSecret) {
        console.error(`Workspace "${workspace}" has no signingSecret (Socket Mode only).`);
        process.exitCode = EXIT.config;
        return;
      }
      const nowMs = Date.now();
      const ts = `${Math.floor(nowMs / 1000)}.${String(nowMs % 1000).padStart(3, '0')}${String(randomInt(0, 999)).padStart(3, '0')}`;
      const bot = ws.botUserId ?? 'U0000WGBOT';
      const dm = opts.channel.startsWith('D');
      const body = JSON.stringify({
        token: 'unused',
        team_id: ws.teamId,
        api_app_id: 'A0000WGCLI',
        type: 'event_callback',
        event_id: `Ev${randomInt(1, 2 ** 47)
          .toString(36)
          .toUpperCase()}`,
        event_time: Math.floor(nowMs / 1000),
        authorizations: [{ team_id: ws.teamId, user_id: bot, is_bot: true }],
        event: {
          type: dm ? 'message' : 'app_mention',
          ...(dm ? { channel_type: 'im' } : {}),
          user: opts.user,
          text: dm ? opts.text : `<@${bot}> ${opts.text}`,
          ts,
          event_ts: ts,
          channel: opts.channel,
          ...(opts.thread ? { thread_ts: opts.thread } : {}),
        },
      });
      // Loaded here: the Slack channel's index brings Bolt (~400 ms) to every CLI command.
      const { signSlackRequest } = await import('@app/channels/slack');
      await postToGateway(
        `${base(opts, config.env.WORKGATE_URL)}/slack/events`,
        body,
        {
          'content-type': 'application/json',
          ...signSlackRequest(body, ws.signingSecret, Math.floor(nowMs / 1000)),
        },
        opts.json,
      );
    });
}

function base(opts: ChatSendOptions, fallback: string): string {
  return (opts.gateway ?? fallback).replace(/\/$/, '');
}

/** Posts a test event and prints the gateway's answer; sets the exit code from its status. */
export async function postToGateway(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  json: boolean | undefined,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers });
  } catch (err) {
    console.error(
      `Cannot reach the gateway at ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
    process.exitCode = EXIT.unavailable;
    return;
  }
  const answer = await res.text();
  if (json) console.log(answer);
  else console.log(`${res.status} ${res.statusText}\n${answer}`);
  process.exitCode = res.ok ? EXIT.ok : res.status >= 500 ? EXIT.unavailable : EXIT.failed;
}
