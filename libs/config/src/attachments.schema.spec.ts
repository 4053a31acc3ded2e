import { attachmentsConfigSchema } from './attachments.schema';
import { fileConfigSchema } from './config.schema';
import { interpolateEnv } from './interpolate.util';

describe('attachments config', () => {
  it('keeps files in PostgreSQL by default; the s3 block has its defaults', () => {
    const config = attachmentsConfigSchema.parse(undefined);
    expect(config.store).toBe('postgres');
    expect(config.s3).toEqual({
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      timeout: 60_000,
    });
  });

  it('takes an S3-compatible server with its keys from the environment', () => {
    const file = {
      attachments: {
        store: 's3',
        s3: {
          bucket: 'files',
          prefix: 'workgate/',
          endpoint: 'http://minio:9000',
          forcePathStyle: true,
          accessKeyId: '${S3_ACCESS_KEY_ID}',
          secretAccessKey: '${S3_SECRET_ACCESS_KEY}',
          timeout: '30s',
        },
      },
    };
    const env = { S3_ACCESS_KEY_ID: 'minio', S3_SECRET_ACCESS_KEY: 'minio-secret' };
    const { s3 } = fileConfigSchema.parse(interpolateEnv(file, env)).attachments;
    expect(s3).toMatchObject({
      bucket: 'files',
      accessKeyId: 'minio',
      secretAccessKey: 'minio-secret',
      timeout: 30_000,
    });
  });

  it.each([
    [{ store: 's3' }, ['s3', 'bucket'], /`store: s3` needs `attachments.s3.bucket`/],
    [
      { store: 's3', s3: { bucket: 'b', accessKeyId: 'k' } },
      ['s3', 'secretAccessKey'],
      /both accessKeyId and secretAccessKey, or neither/,
    ],
    [
      { s3: { bucket: 'b', endpoint: 'minio:9000' } },
      ['s3', 'endpoint'],
      /an http:\/\/ or https:\/\/ URL/,
    ],
    [{ s3: { bucket: 'b', sessionToken: 't' } }, ['s3'], /sessionToken/],
  ])('refuses %j', (attachments, path, message) => {
    const result = attachmentsConfigSchema.safeParse(attachments);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});
