import { type AppConfig, type SlackWorkspaceConfig } from '@app/config';
import { type SlackWorkspaceRef } from './slack-normalize';

export interface SlackWorkspace extends SlackWorkspaceConfig {
  name: string;
}

/** The configured workspaces, looked up by name (outbound targets) or by team (inbound). */
export class SlackWorkspaces {
  private readonly byName = new Map<string, SlackWorkspace>();

  constructor(config: Pick<AppConfig, 'slack'>) {
    for (const [name, ws] of Object.entries(config.slack.workspaces)) {
      this.byName.set(name, { ...ws, name });
    }
  }

  list(): SlackWorkspace[] {
    return [...this.byName.values()];
  }

  get(name: string): SlackWorkspace | undefined {
    return this.byName.get(name);
  }

  /** Every signing secret an HTTP request may be signed with (one per Slack app). */
  signingSecrets(): string[] {
    return [...new Set(this.list().flatMap((ws) => (ws.signingSecret ? [ws.signingSecret] : [])))];
  }

  /**
   * The workspace of a verified request: the one for the body's team whose app signed it
   * (or, over Socket Mode, whose app token received it). A team no workspace names — the
   * app was installed somewhere nobody configured — gets a stand-in that opens nothing,
   * so its events are still answered 200 and recorded as dropped.
   */
  resolve(teamId: string, via?: { signingSecret?: string; appToken?: string }): SlackWorkspaceRef {
    const ws = this.list().find(
      (w) =>
        w.teamId === teamId &&
        (via?.signingSecret === undefined || w.signingSecret === via.signingSecret) &&
        (via?.appToken === undefined || w.appToken === via.appToken),
    );
    if (!ws) {
      return {
        name: teamId,
        teamId,
        route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
      };
    }
    return {
      name: ws.name,
      teamId: ws.teamId,
      ...(ws.botUserId ? { botUserId: ws.botUserId } : {}),
      route: {
        openKind: ws.workflow ?? null,
        busyPolicy: ws.busyPolicy,
        collectWindowMs: ws.collectWindow,
      },
    };
  }
}

/** Workflow kinds the Slack workspaces open: the worker must have them registered. */
export function slackConfiguredKinds(
  config: Pick<AppConfig, 'slack'>,
): Array<{ kind: string; where: string }> {
  return Object.entries(config.slack.workspaces).flatMap(([name, ws]) =>
    ws.workflow ? [{ kind: ws.workflow, where: `slack.workspaces.${name}.workflow` }] : [],
  );
}
