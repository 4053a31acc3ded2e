import { conversationKeyOf, type EscalationRung, unwrapStepOutput } from '@app/core';
import { type WaitSpec } from '../runner/run-resources';
import { durationMs, recordable, type RunScope } from './run-scope';
import { NonRetryableError, Suspend } from './workflow.errors';
import {
  type AskOptions,
  type Duration,
  type EscalationStep,
  type WaitForOptions,
} from './workflow.types';

/**
 * The ctx calls that suspend the run until something happens: ctx.sleep (a timer),
 * ctx.waitFor (an event on a correlation key) and ctx.ask (a person's answer, with its
 * prompt and escalation ladder). Each returns its recorded result on replay, or opens
 * its wait (RunStore.waits) and suspends the run.
 */

/** The escalation ladder as stored (relative ms), from the workflow's declaration. */
export function toLadder<T>(
  opts: Pick<AskOptions<T>, 'escalation' | 'timeout' | 'onTimeout' | 'default'>,
): EscalationRung[] {
  const steps: EscalationStep[] =
    opts.escalation ??
    (opts.timeout !== undefined
      ? [
          opts.onTimeout === 'default'
            ? { after: opts.timeout, action: 'default', value: opts.default ?? null }
            : { after: opts.timeout, action: 'fail' },
        ]
      : []);
  let last = -1;
  return steps.map((s, i) => {
    const afterMs = durationMs(s.after, `escalation rung ${i + 1}`);
    if (afterMs <= last)
      throw new NonRetryableError(
        `escalation rungs must come later one after another (rung ${i + 1})`,
        'invalid_escalation',
      );
    last = afterMs;
    switch (s.action) {
      case 'remind':
        return s.text ? { afterMs, action: 'remind', text: s.text } : { afterMs, action: 'remind' };
      case 'escalate':
        return {
          afterMs,
          action: 'escalate',
          target: JSON.stringify(s.to),
          ...(s.text ? { text: s.text } : {}),
        };
      case 'default':
        return { afterMs, action: 'default', value: s.value };
      case 'fail':
        return { afterMs, action: 'fail' };
    }
  });
}

/** The wait's declaration and prompt come from workflow code: checked as step outputs are. */
function openWait(scope: RunScope, seq: number, spec: WaitSpec) {
  recordable(spec.stepName, { wait: spec.wait, prompt: spec.prompt });
  return scope.deps.store.waits.openWait(scope.run, seq, spec);
}

export async function sleepCall(
  scope: RunScope,
  duration: Duration | { until: Date | string },
): Promise<void> {
  const { seq, recorded } = scope.next('sleep', 'sleep');
  if (recorded?.status === 'completed') return;
  const { clock, store } = scope.deps;
  // The wake time is fixed when the sleep is first reached, and derived from the step's
  // record on every later run, so a replay never moves it.
  const base = recorded ? recorded.startedAt.getTime() : clock.now();
  const at =
    typeof duration === 'object' && 'until' in duration
      ? new Date(duration.until).getTime()
      : base + durationMs(duration, 'sleep');
  if (Number.isNaN(at))
    throw new NonRetryableError(
      `sleep: not a time: ${JSON.stringify(duration)}`,
      'invalid_duration',
    );
  if (at <= clock.now() && !recorded) {
    // Already due: nothing to wait for, but the position is still recorded.
    await scope.underway(store.recorded.recordSleep(scope.run, seq));
    return;
  }
  await scope.quiesce('sleep');
  await openWait(scope, seq, {
    stepName: 'sleep',
    stepType: 'sleep',
    wait: { type: 'timer', onTimeout: 'resume' },
    timerAt: at,
    restartStepId: recorded?.id,
  });
  throw new Suspend('waiting');
}

export async function waitForCall<T>(scope: RunScope, options: WaitForOptions<T>): Promise<T> {
  const name = `waitFor:${options.match}`;
  const { seq, recorded } = scope.next(name, 'wait');
  // A wait step that is not completed (its wait timed out and the work was retried,
  // or a rerun cancelled it) opens a fresh wait.
  if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
  const ladder = toLadder({
    timeout: options.timeout,
    onTimeout: options.onTimeout,
    default: options.default,
  });
  await scope.quiesce(name);
  // One clock reading for the wait's opening and its first rung (later rungs are
  // computed from the wait's createdAt), so no rung is due before its time.
  const openedAt = scope.deps.clock.now();
  const opened = await openWait(scope, seq, {
    stepName: name,
    stepType: 'wait',
    wait: {
      type: options.type ?? 'event',
      correlationKey: options.match,
      expects: options.expects ?? null,
      onTimeout: ladder.length ? 'escalate' : 'fail',
      escalation: ladder.length ? ladder : null,
      defaultValue: options.default ?? null,
      createdAt: new Date(openedAt),
    },
    inboxCorrelationKey: options.match,
    timerAt: ladder[0] ? openedAt + ladder[0].afterMs : undefined,
    restartStepId: recorded?.id,
  });
  if (opened.satisfied) return opened.value as T;
  throw new Suspend('waiting');
}

export async function askCall<T>(scope: RunScope, options: AskOptions<T>): Promise<T> {
  const { seq, recorded } = scope.next('ask', 'wait');
  if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
  const ladder = toLadder(options);
  await scope.quiesce('ask');
  // Without `to`, a work opened from a chat asks in that chat.
  if (!options.to && scope.origin.address) options = { ...options, to: scope.origin.address };
  const to = options.to;
  const conversationKey = to ? conversationKeyOf(to) : scope.work.conversationKey;
  const openedAt = scope.deps.clock.now(); // see waitForCall
  await openWait(scope, seq, {
    stepName: 'ask',
    stepType: 'wait',
    wait: {
      type: options.waitType ?? 'human',
      conversationKey,
      expects: options.expects ?? null,
      responders: options.responders ?? null,
      resumeChannel: to ? JSON.stringify(to) : null,
      onTimeout: ladder.length ? 'escalate' : 'fail',
      escalation: ladder.length ? ladder : null,
      defaultValue: options.default ?? null,
      createdAt: new Date(openedAt),
    },
    prompt: to
      ? {
          channel: to.channel,
          target: to.target,
          payload: {
            kind: options.plain ? 'message' : 'ask',
            text: options.text,
            expects: options.expects ?? null,
            responders: options.responders ?? null,
            ...(to.thread ? { thread: to.thread } : {}),
          },
        }
      : undefined,
    timerAt: ladder[0] ? openedAt + ladder[0].afterMs : undefined,
    restartStepId: recorded?.id,
  });
  throw new Suspend('waiting');
}
