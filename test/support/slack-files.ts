import { randomBytes } from 'node:crypto';

/** A file in the loopback Slack: uploaded by the bot, or "shared" by a user. */
export interface SlackHeldFile {
  id: string;
  name: string;
  mimetype: string;
  data: Buffer | null;
  /** Set once files.completeUploadExternal shared it. */
  shared?: { channel: string; threadTs?: string; initialComment?: string };
}

/**
 * The file side of the loopback Slack Web API: files users share (a file object with
 * `url_private_download`, served only with the right bot token, as Slack does), and the
 * upload flow — files.getUploadURLExternal (an upload URL on this server),
 * the POST of the bytes there, files.completeUploadExternal.
 */
export class SlackFiles {
  readonly byId = new Map<string, SlackHeldFile>();
  readonly downloads: Array<{ id: string; token: string | null; status: number }> = [];

  constructor(private readonly base: () => string) {}

  /** A file a user shares: the file object as it appears in the event's `files`. */
  userFile(data: Buffer, name: string, mimetype: string, opts: { declaredSize?: number } = {}) {
    const id = `F0${randomBytes(5).toString('hex').toUpperCase()}`;
    this.byId.set(id, { id, name, mimetype, data });
    const url = `${this.base()}/files-pri/T0FAKE01-${id}/${encodeURIComponent(name)}`;
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      name,
      title: name,
      mimetype,
      filetype: name.split('.').pop(),
      user: 'U0FAKE01',
      size: opts.declaredSize ?? data.byteLength,
      mode: 'hosted',
      is_external: false,
      url_private: url,
      url_private_download: `${url}?download=1`,
    };
  }

  /** GET /files-pri/<team>-<id>/<name>: the bytes with a valid bot token; else Slack's login page redirect. */
  download(
    path: string,
    token: string | null,
    tokenValid: boolean,
  ): { status: number; body: Buffer; headers: Record<string, string> } {
    const id = /^\/files-pri\/[^-]+-([^/]+)\//.exec(path)?.[1] ?? '';
    const file = this.byId.get(id);
    const status = !tokenValid ? 302 : !file?.data ? 404 : 200;
    this.downloads.push({ id, token, status });
    if (status === 302)
      return {
        status,
        body: Buffer.alloc(0),
        headers: { location: 'https://workgate-fake.slack.com/?redir=login' },
      };
    if (status === 404) return { status, body: Buffer.from('Not Found'), headers: {} };
    return { status, body: file!.data!, headers: { 'content-type': file!.mimetype } };
  }

  getUploadURLExternal(args: Record<string, any>) {
    if (!args.filename || !args.length) return { ok: false, error: 'invalid_arguments' };
    const id = `F0${randomBytes(5).toString('hex').toUpperCase()}`;
    this.byId.set(id, { id, name: String(args.filename), mimetype: '', data: null });
    return { ok: true, upload_url: `${this.base()}/upload/v1/${id}`, file_id: id };
  }

  /** POST /upload/v1/<id> (multipart or raw bytes): Slack answers 200 "OK - <size>". */
  async upload(
    path: string,
    contentType: string,
    body: Buffer,
  ): Promise<{ status: number; body: string }> {
    const id = /^\/upload\/v1\/([^/?]+)/.exec(path)?.[1] ?? '';
    const file = this.byId.get(id);
    if (!file) return { status: 404, body: 'Not Found' };
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(new Uint8Array(body), {
        headers: { 'content-type': contentType },
      }).formData();
      const part = [...form.values()].find((v): v is File => typeof v !== 'string');
      if (!part) return { status: 400, body: 'no file' };
      file.data = Buffer.from(await part.arrayBuffer());
      file.mimetype = part.type;
    } else file.data = body;
    return { status: 200, body: `OK - ${file.data.byteLength}` };
  }

  completeUploadExternal(args: Record<string, any>) {
    const files = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as Array<{
      id: string;
      title?: string;
    }>;
    if (!Array.isArray(files) || !files.length) return { ok: false, error: 'invalid_arguments' };
    const done = [];
    for (const f of files) {
      const file = this.byId.get(f.id);
      if (!file?.data) return { ok: false, error: 'file_not_found' };
      if (args.channel_id)
        file.shared = {
          channel: String(args.channel_id),
          ...(args.thread_ts ? { threadTs: String(args.thread_ts) } : {}),
          ...(args.initial_comment ? { initialComment: String(args.initial_comment) } : {}),
        };
      done.push({
        id: file.id,
        title: f.title ?? file.name,
        name: file.name,
        size: file.data.byteLength,
      });
    }
    return { ok: true, files: done };
  }

  /** Files the bot shared in a channel, oldest first. */
  shared(channel: string): SlackHeldFile[] {
    return [...this.byId.values()].filter((f) => f.shared?.channel === channel);
  }
}
