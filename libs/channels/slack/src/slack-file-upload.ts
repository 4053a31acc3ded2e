import { type webApi } from '@slack/bolt';
import { type ResolvedFile } from '@app/channels/core';
import { OutboundError } from '@app/core';
import { toOutboundError } from './slack.sender';

/**
 * Slack's file upload flow (docs.slack.dev/messaging/working-with-files, what
 * `files.uploadV2` does): files.getUploadURLExternal for an upload URL and a file id,
 * the bytes POSTed to that URL, then files.completeUploadExternal shares the file in the
 * channel (and thread) with the message's text as its comment. The upload URL is on
 * Slack's file host; the WebClient here only calls method names (allowAbsoluteUrls off),
 * so the bytes go with fetch, to that host only.
 */
export async function uploadSlackFile(
  client: webApi.WebClient,
  file: ResolvedFile,
  message: { channel: string; text: string; thread_ts?: string },
): Promise<{ providerMessageId: string | null }> {
  let step = 'files.getUploadURLExternal';
  try {
    const ticket = await client.files.getUploadURLExternal({
      filename: file.name,
      length: file.data.byteLength,
    });
    if (!ticket.upload_url || !ticket.file_id)
      throw new OutboundError(`${step}: no upload_url or file_id in the answer`, true);
    step = 'upload';
    await postBytes(ticket.upload_url, file, client.slackApiUrl);
    step = 'files.completeUploadExternal';
    await client.files.completeUploadExternal({
      files: [{ id: ticket.file_id, title: file.name }],
      channel_id: message.channel,
      ...(message.text ? { initial_comment: message.text } : {}),
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    });
    return { providerMessageId: ticket.file_id };
  } catch (err) {
    throw toOutboundError(err, step);
  }
}

async function postBytes(uploadUrl: string, file: ResolvedFile, apiUrl: string): Promise<void> {
  const origin = new URL(uploadUrl).origin;
  // Slack's upload host, or the configured API's (a loopback server in tests).
  if (origin !== 'https://files.slack.com' && origin !== new URL(apiUrl).origin)
    throw new OutboundError(`upload: ${origin} is not a Slack upload host`, false);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file.data)], { type: file.mime }), file.name);
  const res = await fetch(uploadUrl, { method: 'POST', body: form, redirect: 'manual' });
  await res.body?.cancel();
  if (res.status !== 200)
    throw new OutboundError(`upload: HTTP ${res.status}`, res.status >= 500 || res.status === 429);
}
