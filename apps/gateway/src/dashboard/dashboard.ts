import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';

/** Where the page lives; the files sit next to this module in src (tests) and in dist (start). */
export const DASHBOARD_PREFIX = '/dashboard';
export const DASHBOARD_ROOT = join(__dirname, 'static');

/**
 * The page loads only its own three files and talks only to this gateway: nothing
 * inline, nothing from elsewhere. A token in sessionStorage is as safe as the page's
 * scripts are, so no other script may ever run here.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the operator dashboard (static files, no build step) at /dashboard/ with
 * @fastify/static. A plain Fastify route, outside Nest's router: the page is public,
 * the data it shows comes from /api/v1 with the operator's own token.
 */
export async function registerDashboard(app: NestFastifyApplication): Promise<void> {
  await app.register(fastifyStatic, {
    root: DASHBOARD_ROOT,
    prefix: `${DASHBOARD_PREFIX}/`,
    // Swagger UI registers @fastify/static too; reply.sendFile may only be decorated once.
    decorateReply: false,
    // /dashboard → /dashboard/, so the page's relative URLs (app.js, app.css) resolve.
    redirect: true,
    index: ['index.html'],
    // Only the files that exist; an unknown path is a plain 404.
    wildcard: false,
    // Revalidate every load (ETag): a new version is picked up right after a deploy.
    cacheControl: false,
    setHeaders: (reply) => {
      void reply.header('cache-control', 'no-cache');
      void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
    },
  });
}
