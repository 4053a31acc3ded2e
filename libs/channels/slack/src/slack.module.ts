import { Module } from '@nestjs/common';
import { SlackController } from './slack.controller';
import { SlackIngressService } from './slack-ingress.service';
import { SlackSocketModeService } from './slack-socket-mode.service';

/**
 * Slack (`POST /slack/events`, `POST /slack/interactivity`, Socket Mode). Needs the
 * ledger and config modules; the gateway registers SlackIngressService.bodyPolicy with
 * its body parser so these routes get the exact bytes.
 */
@Module({
  controllers: [SlackController],
  providers: [SlackIngressService, SlackSocketModeService],
  exports: [SlackIngressService],
})
export class SlackModule {}
