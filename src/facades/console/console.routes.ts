import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { getClientForOperator } from '../../core/clients/client.service.js';
import { ctxFor, type CoreDeps } from '../../core/context.js';
import { getSession, LOGIN_PATH, redeemLoginToken, SESSION_TTL_SECONDS } from '../../core/sso/sso.service.js';
import { toAppError } from '../../http/errors.js';
import { getSiteDashboard, switchSite } from '../../core/sites/site.service.js';

const SESSION_COOKIE = 'hp_session';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · Hostplane</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .25rem}</style></head>` +
        `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

function readCookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined; // malformed percent-encoding: no session
    }
  }
  return undefined;
}

/** The SSO landing: consumes a login token, starts a session, and shows the client's page. */
export async function consoleRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  const secure = deps.settings.publicUrl.startsWith('https:');
  const sessionCookie = (token: string) => [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${SESSION_TTL_SECONDS}`, ...(secure ? ['Secure'] : [])].join('; ');

  // Site switching posts a plain HTML form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  /**
   * ApisCP's panel entry: `/apps/dashboard?esprit_id=<session id>` (what admin:hijack returns) opens
   * the site's dashboard and keeps the session in a cookie; without esprit_id the cookie is used.
   */
  app.get('/apps/dashboard', { schema: { hide: true } }, async (req, reply) => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    const given = (req.query as { esprit_id?: unknown }).esprit_id;
    const token = typeof given === 'string' ? given : (readCookie(req, SESSION_COOKIE) ?? '');
    const session = await getSession(ctx, token);
    const view = session ? await getSiteDashboard(ctx, { clientId: session.client_id, originClientId: session.origin_client_id, login: session.login }) : undefined;
    if (!session || !view) {
      return page(reply, 401, 'Please log in', '<p>This session is invalid, has ended, or its site is suspended.</p>');
    }
    if (typeof given === 'string') reply.header('set-cookie', sessionCookie(token));
    const switchForm = (target: { site: string; domain: string | null }, label: string) =>
      `<form method="post" action="/apps/dashboard/switch"><input type="hidden" name="site" value="${escapeHtml(target.site)}"><button>${escapeHtml(label)} ${escapeHtml(target.domain ?? target.site)}</button></form>`;
    const subs = view.subordinates.map((t) => `<li>${switchForm(t, 'Switch to')}</li>`).join('');
    return page(
      reply,
      200,
      view.domain ?? view.site,
      `<p>Signed in to <code>${escapeHtml(view.site)}</code> as <code>${escapeHtml(view.user)}</code>.</p>` +
        (view.origin ? switchForm(view.origin, 'Back to') : '') +
        (subs ? `<h2>Subordinate sites</h2><ul>${subs}</ul>` : ''),
    );
  });

  app.post('/apps/dashboard/switch', { schema: { hide: true } }, async (req, reply) => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    const session = await getSession(ctx, readCookie(req, SESSION_COOKIE) ?? '');
    if (!session) return page(reply, 401, 'Please log in', '<p>Your session has ended.</p>');
    const target = (req.body as { site?: unknown } | undefined)?.site;
    try {
      if (typeof target !== 'string' || target === '') throw new AppError('validation_failed', 'name the site to switch to');
      const next = await switchSite(ctx, { session: { clientId: session.client_id, originClientId: session.origin_client_id }, target });
      reply.header('set-cookie', sessionCookie(next.id));
      return reply.code(303).header('cache-control', 'no-store').redirect('/apps/dashboard');
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'internal') throw e;
      const status = err.code === 'forbidden' ? 403 : err.code === 'not_found' ? 404 : err.code === 'invalid_state' ? 409 : 422;
      return page(reply, status, 'You cannot switch to this site', `<p>${escapeHtml(err.message)}</p>`);
    }
  });

  app.get(LOGIN_PATH, { schema: { hide: true } }, async (req, reply) => {
    const token = (req.query as { token?: unknown }).token;
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    try {
      const session = await redeemLoginToken(ctx, typeof token === 'string' ? token : '');
      const cookie = [`${SESSION_COOKIE}=${session.token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${SESSION_TTL_SECONDS}`, ...(secure ? ['Secure'] : [])];
      reply.header('set-cookie', cookie.join('; '));
      return reply.code(303).header('cache-control', 'no-store').redirect(session.clientId ? `/console/clients/${session.clientId}` : '/console');
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'internal') throw e;
      return page(
        reply,
        403,
        'This login link cannot be used',
        '<p>The link is invalid, has expired, or was already used. Login links work once and only for one minute.</p><p>Ask your provider for a new one.</p>',
      );
    }
  });

  app.get('/console/clients/:id', { schema: { hide: true } }, async (req, reply) => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    const session = await getSession(ctx, readCookie(req, SESSION_COOKIE) ?? '');
    const id = Number((req.params as { id: string }).id);
    if (!session || session.client_id !== id) {
      return page(reply, 401, 'Please log in', '<p>Your session has ended or does not cover this account. Use a new login link from your provider.</p>');
    }
    const client = await getClientForOperator(ctxFor(deps, { kind: 'system' }, req.log), id);
    const domains = client.domains.map((d) => `<li><code>${escapeHtml(d.name)}</code> — ${escapeHtml(d.status)}</li>`).join('');
    return page(
      reply,
      200,
      client.name ?? `Client ${client.id}`,
      `<p>Signed in as the account administrator.</p><h2>Domains</h2><ul>${domains || '<li>none</li>'}</ul>`,
    );
  });
}
