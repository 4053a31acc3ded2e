import { toFile } from 'openai';
import { type AgentConfig } from '@app/config';
import { type ModelError, type WorkflowContext } from '@app/engine';
import { classifyModelError, openAiSdk } from '../openai-model.client';
import { type AgentMedia } from './agent-media';
import { type PreparedAttachment } from './prepare-attachment';

/**
 * A voice note or audio file as text, through the OpenAI audio API
 * (`audio.transcriptions.create`, multipart), as one recorded step: a replay never
 * sends the audio again. A refusal (an unsupported format, a file the API cannot
 * decode) is recorded as the problem to tell the person; 429 and 5xx fail the step,
 * which is retried.
 */
export function transcribe(
  ctx: WorkflowContext,
  media: AgentMedia,
  settings: AgentConfig,
  attachment: PreparedAttachment,
): Promise<{ text: string } | { problem: string }> {
  return ctx.step(`transcribe:${attachment.id}`, async (step) => {
    const got = await media.store.get(attachment.id);
    if (!got) return { problem: `${attachment.name} is missing from the attachment store` };
    try {
      const result = await openAiSdk(settings).audio.transcriptions.create(
        {
          file: await toFile(got.data, attachment.name, { type: attachment.mime }),
          model: media.limits.transcriptionModel,
        },
        { signal: step.signal },
      );
      return { text: result.text };
    } catch (err) {
      const classified = classifyModelError(err);
      if (classified.kind !== 'fatal' || step.signal.aborted) throw classified;
      return { problem: `I could not transcribe ${attachment.name}: ${messageOf(classified)}` };
    }
  });
}

function messageOf(err: ModelError): string {
  return err.message.length > 200 ? `${err.message.slice(0, 200)}…` : err.message;
}
