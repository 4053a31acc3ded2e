import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type App, type ReceiverEvent, SocketModeReceiver } from '@slack/bolt';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { SlackIngressService } from './slack-ingress.service';
import { slackLogger } from './slack-logger';

/**
 * Socket Mode (`socketMode: true` on a workspace): events and button presses arrive over
 * a WebSocket the app opens with its app-level token, so no public Request URL is needed.
 *
 * Bolt's SocketModeReceiver does the connection work (apps.connections.open through
 * `slack.apiUrl`, hello, pings, reconnects). It hands each envelope to its app's
 * `processEvent`; ours is the same verify-less normalize → ingest path HTTP uses, and
 * the envelope is acknowledged only after the commit. If ingesting fails the envelope
 * stays unacknowledged and Slack delivers it again (with retry_attempt), exactly like
 * an HTTP event answered 503.
 *
 * Runs in the gateway, where the ingest path lives. Slack spreads an app's envelopes
 * over up to 10 open connections, each delivered on one, so every gateway replica may
 * hold a connection: no single holder is needed.
 */
@Injectable()
export class SlackSocketModeService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly receivers: SocketModeReceiver[] = [];
  private readonly logger: Logger;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingress: SlackIngressService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'slack-socket-mode' });
  }

  onApplicationBootstrap(): void {
    const appTokens = new Set(
      Object.values(this.config.slack.workspaces).flatMap((ws) =>
        ws.socketMode && ws.appToken ? [ws.appToken] : [],
      ),
    );
    for (const appToken of appTokens) this.connect(appToken);
  }

  /**
   * Before the ledger closes: no new envelopes arrive while shutting down; one still being
   * ingested either commits and is acknowledged, or stays unacknowledged and comes again.
   * receiver.stop() does not wait for the close handshake; the client's disconnect() does.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.receivers.map((r) => r.client.disconnect().catch(() => undefined)));
    this.receivers.length = 0;
  }

  private connect(appToken: string): void {
    const receiver = new SocketModeReceiver({
      appToken,
      logger: slackLogger(this.logger),
      installerOptions: { clientOptions: { slackApiUrl: this.config.slack.apiUrl } },
      processEventErrorHandler: async ({ error }) => {
        this.logger.warn(
          { err: error.message },
          'Slack envelope not acknowledged; Slack will deliver it again',
        );
        return false;
      },
    });
    // SocketModeReceiver needs only `processEvent` from its App (see the class comment).
    const dispatcher: Pick<App, 'processEvent'> = {
      processEvent: (event: ReceiverEvent) => this.process(event, appToken),
    };
    receiver.init(dispatcher as App);
    this.receivers.push(receiver);
    // Not awaited: a Slack outage must not keep the gateway from serving everything else;
    // the receiver keeps reconnecting by itself.
    receiver
      .start()
      .then(() => this.logger.info('Slack Socket Mode connected'))
      .catch((err: unknown) =>
        this.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'Slack Socket Mode could not connect',
        ),
      );
  }

  private async process(event: ReceiverEvent, appToken: string): Promise<void> {
    await this.ingress.receiveFromSocket(event.body, appToken, event.retryNum);
    await event.ack();
  }
}
