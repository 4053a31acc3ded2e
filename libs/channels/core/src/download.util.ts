import { AttachmentFetchError } from '@app/core';

/**
 * GETs a file, reading at most `maxBytes`: the declared Content-Length is checked first
 * and the body is counted as it streams, so a provider that under-declares (or declares
 * nothing) cannot make us hold more than the limit in memory.
 */
export async function downloadCapped(
  url: string,
  options: {
    headers?: Record<string, string>;
    maxBytes: number;
    signal: AbortSignal;
    what: string;
  },
): Promise<Uint8Array> {
  const { maxBytes, what } = options;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: options.headers ?? {},
      signal: options.signal,
      // Slack answers a bad token on url_private with a redirect to its login page (HTML,
      // 200): followed, that page would be stored as the file. Redirects are refused.
      redirect: 'manual',
    });
  } catch (err) {
    throw new AttachmentFetchError(
      `${what}: ${err instanceof Error ? err.message : String(err)}`,
      'unavailable',
      true,
    );
  }
  if (res.status === 404 || res.status === 410)
    throw new AttachmentFetchError(`${what}: HTTP ${res.status}`, 'not_found', false);
  if (res.status >= 300) {
    await res.body?.cancel();
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    throw new AttachmentFetchError(`${what}: HTTP ${res.status}`, 'unavailable', retryable);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new AttachmentFetchError(`${what}: ${declared} bytes`, 'too_large', false);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    // Leaving the loop early (throw) cancels the stream: the rest is never read.
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes)
        throw new AttachmentFetchError(`${what}: more than ${maxBytes} bytes`, 'too_large', false);
      chunks.push(chunk);
    }
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.byteLength;
  }
  return data;
}
