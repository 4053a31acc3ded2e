import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import { SCHEMES } from '@app/channels/webhook';
import { loadConfig } from '@app/config';
import { EXIT } from '../exit-codes';
import { postToGateway, registerSendChat } from './send-chat.command';

interface SendWebhookOptions {
  data?: string;
  file?: string;
  id?: string;
  gateway?: string;
  header: string[];
  json?: boolean;
}

/** Posts a correctly signed test delivery for a configured source to a running gateway. */
export function registerSend(program: Command): void {
  const send = program.command('send').description('send test events to a running gateway');
  registerSendChat(send);
  send
    .command('webhook <source>')
    .description('sign and post a webhook for a source in workgate.config.yaml')
    .option('-d, --data <json>', 'the JSON body', '{}')
    .option('-f, --file <path>', 'read the JSON body from a file')
    .option('--id <id>', 'delivery id (webhook-id / X-GitHub-Delivery); random when absent')
    .option(
      '-g, --gateway <url>',
      'gateway base URL (default: $WORKGATE_URL or http://127.0.0.1:3000)',
    )
    .option(
      '-H, --header <name:value>',
      'extra header (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--json', 'print only the JSON answer')
    .action(async (sourceName: string, opts: SendWebhookOptions) => {
      const config = loadConfig();
      const source = Object.hasOwn(config.webhooks.sources, sourceName)
        ? config.webhooks.sources[sourceName]
        : undefined;
      if (!source) {
        console.error(
          `No webhook source "${sourceName}" in ${config.configPath ?? 'the config'} (have: ${Object.keys(config.webhooks.sources).join(', ') || 'none'})`,
        );
        process.exitCode = EXIT.config;
        return;
      }
      const text = opts.file ? readFileSync(opts.file, 'utf8') : (opts.data ?? '{}');
      try {
        JSON.parse(text);
      } catch (err) {
        console.error(`The body is not JSON: ${(err as Error).message}`);
        process.exitCode = EXIT.usage;
        return;
      }
      const rawBody = Buffer.from(text);
      const signed =
        source.scheme === 'none'
          ? {}
          : SCHEMES[source.scheme].sign({
              rawBody,
              secret: source.secrets[0]!,
              nowSeconds: Math.floor(Date.now() / 1000),
              id: opts.id,
            });
      const extra = Object.fromEntries(
        opts.header.map((h) => [
          h.slice(0, h.indexOf(':')).trim().toLowerCase(),
          h.slice(h.indexOf(':') + 1).trim(),
        ]),
      );
      const url = `${(opts.gateway ?? config.env.WORKGATE_URL).replace(/\/$/, '')}/hooks/${sourceName}`;
      await postToGateway(
        url,
        rawBody,
        { 'content-type': 'application/json', ...signed, ...extra },
        opts.json,
      );
    });
}
