import { Pool } from 'pg';
import { StandardWebhooksScheme } from '../../libs/channels/webhook/src/schemes/standard-webhooks.scheme';
import { API_TOKEN, type Cluster, WEBHOOK_SECRET } from './cluster';
import { type Plan, type Traffic } from './generator';
import { replyValue } from './program';

/**
 * Plays a plan's traffic against the gateway as the outside world would: signed
 * webhooks (a sender retries until it gets a 2xx, and sometimes delivers twice),
 * replies early, late and twice, operator actions through the API, and a person
 * answering every open ask through the signal endpoint. Every 2xx is recorded with
 * the event id it acknowledged: those are the promises the checker holds the ledger to.
 */

export interface AckedEvent {
  eventId: string;
  externalId: string;
  kind: 'start' | 'reply';
  /** Program index (starts) or correlation key (replies). */
  ref: string;
  decision: string;
  workId: string | null;
  at: number;
}

export interface OperatorCall {
  p: number;
  action: string;
  status: number;
  at: number;
}

const scheme = new StandardWebhooksScheme();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class TrafficDriver {
  readonly acked: AckedEvent[] = [];
  /** A duplicate delivery answered with another event id than the first: dedupe broke. */
  readonly dedupeBreaks: Array<{ externalId: string; first: string; again: string }> = [];
  readonly calls: OperatorCall[] = [];
  readonly workIds = new Map<number, string>();
  readonly signals: Array<{ workId: string; status: number }> = [];
  /** Deliveries that never got a 2xx within the sender's patience (not a promise made). */
  readonly gaveUp: string[] = [];
  private readonly pending: Array<Promise<unknown>> = [];
  private answering = false;
  private readonly answered = new Set<string>();
  private readonly db: Pool;

  constructor(
    private readonly cluster: Cluster,
    private readonly plan: Plan,
    private readonly runLabel: string,
  ) {
    this.db = new Pool({
      connectionString: cluster.services.databaseUrl,
      options: `-c search_path="${cluster.schema}"`,
      max: 2,
      connectionTimeoutMillis: 2_000,
    });
    // PostgreSQL restarts under it are part of the plan.
    this.db.on('error', () => undefined);
  }

  /** Fires every traffic item at its offset from `t0`; resolves when all have settled. */
  async play(t0: number): Promise<void> {
    await Promise.allSettled(
      this.plan.traffic.map((item) =>
        sleep(Math.max(0, t0 + item.at - Date.now())).then(() => this.fire(item)),
      ),
    );
  }

  private async fire(item: Traffic): Promise<void> {
    switch (item.t) {
      case 'start': {
        const program = this.plan.programs[item.p]!;
        const id = `${this.runLabel}-start-${item.p}`;
        const ack = await this.deliver(
          'starts',
          id,
          { ...program },
          'start',
          String(item.p),
          item.dup,
        );
        if (ack?.workId) this.workIds.set(item.p, ack.workId);
        return;
      }
      case 'reply': {
        const body = { ref: item.key, v: replyValue(item.key) };
        await this.deliver(
          'replies',
          `${this.runLabel}-reply-${item.key}`,
          body,
          'reply',
          item.key,
          item.dup,
        );
        if (item.extra) {
          // A second, distinct reply on a key already answered: it must land somewhere.
          await sleep(800);
          await this.deliver(
            'replies',
            `${this.runLabel}-reply2-${item.key}`,
            body,
            'reply',
            item.key,
            false,
          );
        }
        return;
      }
      case 'op':
        return this.operate(item.p, item.action);
    }
  }

  /** One webhook delivery, retried like a sender does until a 2xx (then maybe again). */
  private async deliver(
    source: string,
    id: string,
    doc: unknown,
    kind: AckedEvent['kind'],
    ref: string,
    dup: boolean,
  ): Promise<AckedEvent | undefined> {
    const raw = Buffer.from(JSON.stringify(doc));
    const send = async () => {
      const headers = scheme.sign({
        rawBody: raw,
        secret: WEBHOOK_SECRET,
        nowSeconds: Math.floor(Date.now() / 1000),
        id,
      });
      const res = await fetch(`${this.cluster.gatewayUrl}/hooks/${source}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: raw,
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: res.status, json };
    };
    const deadline = Date.now() + 45_000;
    let first: AckedEvent | undefined;
    while (Date.now() < deadline) {
      const answer = await send().catch(() => undefined);
      if (answer && answer.status >= 200 && answer.status < 300) {
        first = {
          eventId: String(answer.json.eventId),
          externalId: `${source}:${id}`,
          kind,
          ref,
          decision: String(answer.json.decision),
          workId: typeof answer.json.workId === 'string' ? answer.json.workId : null,
          at: Date.now(),
        };
        this.acked.push(first);
        break;
      }
      await sleep(300);
    }
    if (!first) {
      this.gaveUp.push(`${source}:${id}`);
      return undefined;
    }
    if (dup) {
      const again = await send().catch(() => undefined);
      if (again && again.status < 300 && String(again.json.eventId) !== first.eventId)
        this.dedupeBreaks.push({
          externalId: first.externalId,
          first: first.eventId,
          again: String(again.json.eventId),
        });
    }
    return first;
  }

  private async api(path: string, body: unknown): Promise<number> {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${this.cluster.gatewayUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      // Down or unavailable (a restart in progress): an operator tries again.
      if (res && res.status !== 503 && res.status < 500) return res.status;
      await sleep(500);
    }
    return 0;
  }

  async operate(p: number, action: string): Promise<void> {
    const workId = this.workIds.get(p);
    if (!workId) return;
    const body =
      action === 'rerun' ? { fromStep: 1, reason: 'simulation' } : { reason: 'simulation' };
    const status = await this.api(`/api/v1/works/${workId}/${action}`, body);
    this.calls.push({ p, action, status, at: Date.now() });
    // A rerun from step 1 discards the waits the replies satisfied; each waitFor it runs
    // again opens a new wait (DESIGN: asked again, a new wait) that the consumed reply
    // does not answer. The sender answers it again, as a real one would be asked to.
    if (action === 'rerun' && status === 200)
      for (const op of this.plan.programs[p]!.ops)
        if (op.t === 'wait')
          await this.deliver(
            'replies',
            `${this.runLabel}-reply-rerun-${op.key}`,
            { ref: op.key, v: replyValue(op.key) },
            'reply',
            op.key,
            false,
          );
  }

  /** A person answering every open ask (its `expects` is the const it wants). */
  startAnswering(): void {
    this.answering = true;
    const loop = async () => {
      while (this.answering) {
        try {
          const { rows } = await this.db.query<{
            id: string;
            workId: string;
            expects: { const?: unknown };
          }>(`SELECT id, "workId", expects FROM "Wait" WHERE status = 'open' AND type = 'human'`);
          for (const w of rows) {
            if (this.answered.has(w.id)) continue;
            const status = await this.api(`/api/v1/works/${w.workId}/signal`, {
              waitId: w.id,
              payload: w.expects?.const,
            });
            this.signals.push({ workId: w.workId, status });
            if (status === 200 || status === 409) this.answered.add(w.id);
          }
        } catch {
          // PostgreSQL is restarting: ask again on the next pass.
        }
        await sleep(250);
      }
    };
    this.pending.push(loop());
  }

  async stop(): Promise<void> {
    this.answering = false;
    await Promise.allSettled(this.pending);
    await this.db.end().catch(() => undefined);
  }
}
