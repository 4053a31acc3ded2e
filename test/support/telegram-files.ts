import { randomBytes } from 'node:crypto';

/** A file the loopback Bot API holds: what getFile and the file URL serve. */
export interface HeldTelegramFile {
  file_id: string;
  file_unique_id: string;
  file_path: string;
  data: Buffer;
}

/** A file a bot uploaded (sendPhoto / sendDocument multipart part). */
export interface UploadedTelegramFile {
  field: string;
  name: string;
  type: string;
  data: Buffer;
}

/** Bots may download files of at most 20 MB (Bot API, getFile). */
export const TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

/**
 * The file side of the loopback Bot API: files users "sent" (by file_id), getFile
 * answering a file_path, the download URL `/file/bot<token>/<file_path>`, and multipart
 * bodies (how Telegraf uploads an InputFile) decoded into arguments and files.
 */
export class TelegramFiles {
  readonly byId = new Map<string, HeldTelegramFile>();
  readonly downloads: string[] = [];

  /** Holds bytes as a file users sent; returns its file_id and file_unique_id. */
  hold(data: Buffer, ext = 'bin'): HeldTelegramFile {
    const unique = randomBytes(6).toString('hex');
    const file: HeldTelegramFile = {
      file_id: `AgAC${randomBytes(18).toString('base64url')}`,
      file_unique_id: `AQAD${unique}`,
      file_path: `documents/file_${unique}.${ext}`,
      data,
    };
    this.byId.set(file.file_id, file);
    return file;
  }

  /** getFile as Telegram answers it: a File object, or 400 for a bad id or a file over 20 MB. */
  getFile(args: Record<string, any>): { status: number; body: unknown } {
    const file = this.byId.get(String(args.file_id ?? ''));
    if (!file) return fail(400, 'Bad Request: invalid file_id');
    if (file.data.byteLength > TELEGRAM_DOWNLOAD_LIMIT)
      return fail(400, 'Bad Request: file is too big');
    return {
      status: 200,
      body: {
        ok: true,
        result: {
          file_id: file.file_id,
          file_unique_id: file.file_unique_id,
          file_size: file.data.byteLength,
          file_path: file.file_path,
        },
      },
    };
  }

  /** GET /file/bot<token>/<file_path>: the bytes, or 404. */
  download(path: string): { status: number; body: Buffer } {
    this.downloads.push(path);
    const file = [...this.byId.values()].find((f) => f.file_path === path);
    if (!file)
      return {
        status: 404,
        body: Buffer.from('{"ok":false,"error_code":404,"description":"Not Found"}'),
      };
    return { status: 200, body: file.data };
  }
}

function fail(code: number, description: string) {
  return { status: code, body: { ok: false, error_code: code, description } };
}

const JSON_FIELDS = new Set(['reply_parameters', 'reply_markup', 'caption_entities']);
const NUMBER_FIELDS = new Set(['chat_id', 'message_thread_id', 'reply_to_message_id']);

/**
 * A multipart/form-data body as Bot API arguments: text fields (JSON-valued ones such as
 * reply_parameters parsed, as Telegram does) and the uploaded files.
 */
export async function decodeMultipart(
  contentType: string,
  body: Buffer,
): Promise<{ args: Record<string, any>; files: UploadedTelegramFile[] }> {
  const form = await new Response(new Uint8Array(body), {
    headers: { 'content-type': contentType },
  }).formData();
  const args: Record<string, any> = {};
  const files: UploadedTelegramFile[] = [];
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') {
      args[key] = JSON_FIELDS.has(key)
        ? JSON.parse(value)
        : NUMBER_FIELDS.has(key) && /^-?\d+$/.test(value)
          ? Number(value)
          : value;
    } else {
      const file = value;
      files.push({
        field: key,
        name: file.name,
        type: file.type,
        data: Buffer.from(await file.arrayBuffer()),
      });
      args[key] = `attach://${file.name}`;
    }
  }
  return { args, files };
}
