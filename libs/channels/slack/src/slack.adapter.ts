import { type ChannelAdapter, type InboundRequest } from '@app/channels/core';
import { verifyButtonToken } from '@app/security';
import {
  ErrorCode,
  type InboundEventInput,
  type OutboundAskPayload,
  type OutboundSender,
  WorkgateError,
} from '@app/core';
import {
  type SlackBlockActions,
  type SlackEventEnvelope,
  classifyEvents,
  classifyInteraction,
  parseSlackEventsBody,
  parseSlackInteractionBody,
  type SlackEventsBody,
  type SlackInteractionBody,
} from './slack-payloads';
import {
  SLACK_CHANNEL,
  type SlackWorkspaceRef,
  type VerifiedAction,
  normalizeSlackBlockActions,
  normalizeSlackEvent,
} from './slack-normalize';
import { verifySlackSignature } from './slack-signature';
import { type SlackCall } from './slack-blocks';
import { parseSlackTarget, renderSlackCall } from './slack.sender';
import { type SlackWorkspaces } from './slack-workspaces';

/** The Slack endpoints: `params.endpoint` of an InboundRequest. */
export type SlackEndpoint = 'events' | 'interactivity';

/** A request Slack provably sent, parsed, with the workspace it belongs to. */
export type SlackVerified =
  | { kind: 'url_verification'; challenge: string }
  | { kind: 'event'; workspace: SlackWorkspaceRef; envelope: SlackEventEnvelope }
  | {
      kind: 'actions';
      workspace: SlackWorkspaceRef;
      payload: SlackBlockActions;
      actions: VerifiedAction[];
    }
  /** Authentic, but nothing workgate handles (app_rate_limited, view_submission, …): 200, nothing written. */
  | { kind: 'ignored'; reason: string };

/**
 * Slack as a ChannelAdapter: requests are authenticated with the app's signing secret
 * over the exact bytes, routed to a workspace by the body's team, and normalized into
 * ledger events; outbound payloads become Web API calls (SlackSender).
 *
 * Which workspace: every configured signing secret is tried (one per Slack app), then
 * the workspace is the one whose team is the body's `team_id` AND whose app signed it.
 * Routing by the team before verifying would mean parsing unauthenticated JSON first;
 * several workspaces of one distributed app share a signing secret, so the secret alone
 * cannot say which team it is.
 */
export class SlackAdapter implements ChannelAdapter<SlackVerified> {
  readonly channel = SLACK_CHANNEL;

  constructor(
    private readonly workspaces: SlackWorkspaces,
    private readonly buttonSecrets: () => string[],
    readonly sender: OutboundSender,
    private readonly nowSeconds: () => number,
  ) {}

  verify(request: InboundRequest): SlackVerified {
    const secrets = this.workspaces.signingSecrets();
    if (secrets.length === 0) {
      throw new WorkgateError(
        ErrorCode.UnknownSource,
        'No Slack workspace with a signing secret is configured.',
      );
    }
    const signingSecret = verifySlackSignature({
      headers: request.headers,
      rawBody: request.rawBody,
      secrets,
      nowSeconds: this.nowSeconds(),
    });
    const endpoint = request.params.endpoint as SlackEndpoint;
    return endpoint === 'interactivity'
      ? this.fromInteraction(parseSlackInteractionBody(request.rawBody), { signingSecret })
      : this.fromEvents(parseSlackEventsBody(request.rawBody), { signingSecret });
  }

  /**
   * What Socket Mode hands over: already authenticated by the app-level token's
   * connection, so only parsing and the button tokens are checked.
   */
  fromSocket(body: unknown, appToken: string): SlackVerified {
    const type = (body as { type?: unknown } | null)?.type;
    return type === 'event_callback' || type === 'url_verification'
      ? this.fromEvents(classifyEvents(body), { appToken })
      : this.fromInteraction(classifyInteraction(body), { appToken });
  }

  normalize(verified: SlackVerified): InboundEventInput[] {
    switch (verified.kind) {
      case 'event':
        return normalizeSlackEvent(verified.envelope, verified.workspace);
      case 'actions':
        return normalizeSlackBlockActions(verified.payload, verified.workspace, verified.actions);
      case 'url_verification':
      case 'ignored':
        return [];
    }
  }

  renderAsk(ask: OutboundAskPayload, target: string): SlackCall {
    const parsed = parseSlackTarget(target);
    if (!parsed) throw new Error(`"${target}" is not a Slack target (<workspace>:<channelId>)`);
    return renderSlackCall(ask, parsed.channel, this.buttonSecrets()[0]!);
  }

  private fromEvents(
    body: SlackEventsBody,
    via: { signingSecret?: string; appToken?: string },
  ): SlackVerified {
    switch (body.type) {
      case 'url_verification':
        return { kind: 'url_verification', challenge: body.challenge };
      case 'event_callback':
        return {
          kind: 'event',
          workspace: this.workspaces.resolve(body.envelope.team_id, via),
          envelope: body.envelope,
        };
      case 'other':
        return { kind: 'ignored', reason: `envelope type ${body.name}` };
    }
  }

  private fromInteraction(
    body: SlackInteractionBody,
    via: { signingSecret?: string; appToken?: string },
  ): SlackVerified {
    if (body.type === 'other') return { kind: 'ignored', reason: `interaction ${body.name}` };
    const { payload } = body;
    const secrets = this.buttonSecrets();
    const actions: VerifiedAction[] = [];
    for (const action of payload.actions) {
      // Every button workgate renders carries a signed token; anything else is forged
      // (or stale beyond every configured secret) and must answer nothing.
      const press = action.value ? verifyButtonToken(action.value, secrets) : null;
      if (!press) {
        throw new WorkgateError(
          ErrorCode.SignatureInvalid,
          `The button "${action.action_id}" carries no valid workgate token.`,
        );
      }
      actions.push({ action, press });
    }
    const teamId = payload.team?.id ?? payload.user.team_id;
    if (!teamId) {
      throw new WorkgateError(ErrorCode.MalformedBody, 'The block_actions payload names no team.');
    }
    return {
      kind: 'actions',
      workspace: this.workspaces.resolve(teamId, via),
      payload,
      actions,
    };
  }
}
