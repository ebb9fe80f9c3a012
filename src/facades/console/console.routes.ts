import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { getClientForOperator } from '../../core/clients/client.service.js';
import { ctxFor, type CoreDeps } from '../../core/context.js';
import { deactivateInstanceUser } from '../../core/saas/instance-users.js';
import { addInstanceUser, getInstanceOverview, storeInstanceFile, type InstanceOverview } from '../../core/saas/saas.service.js';
import { csrfTokenFor, csrfTokenValid, getSession, LOGIN_PATH, loginClientUser, redeemLoginToken, SESSION_TTL_SECONDS } from '../../core/sso/sso.service.js';
import { setRetryAfter, toAppError } from '../../http/errors.js';
import { getSiteDashboard, switchSite } from '../../core/sites/site.service.js';
import { cookiesSecure, readCookie, sessionCookie } from '../../http/cookies.js';
import { httpStatusOf } from '../admin-rest/admin.errors.js';
import { getClientAreaHeader } from '../../core/sso/sso.client-area.js';
import { getSuspendedSiteSession } from '../../core/sso/sso.suspended.js';
import { panelAppPath } from './panel-apps.js';

/** The client session's cookie (SSO landing, ApisCP hijack, password sign-in): HttpOnly, SameSite=Lax. */
export const SESSION_COOKIE = 'hp_session';
/** Where a client session lands: the client area of the web console. */
export const CLIENT_AREA_PATH = '/console/my';

export function clientSessionCookie(deps: Pick<CoreDeps, 'settings'>, req: Pick<FastifyRequest, 'protocol'>, token: string, maxAge = SESSION_TTL_SECONDS): string {
  return sessionCookie(SESSION_COOKIE, token, { path: '/', maxAge, secure: cookiesSecure(deps.settings.publicUrl, req) });
}

// Control characters (a login read from an instance's own database may hold them) are shown as
// \u escapes: HTML has no way to carry most of them, and raw they would hide or mangle the text.
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/\p{Cc}/gu, (c) => (c === '\t' || c === '\n' || c === '\r' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

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

/** Instance forms carry a file's text up to 1 MiB, plus the other fields. */
const FORM_BODY_LIMIT = 1024 * 1024 + 4096;

/** The SSO landing: consumes a login token, starts a session, and sends the browser to the client area. */
export async function consoleRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  // Browsers get a page, never Fastify's JSON: "come back later" (503, Retry-After) while the database
  // is away, and a page naming the problem for what the routes do not answer themselves (a form that
  // cannot be read, NUL in a field, a body over the limit).
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    if (appError.code === 'unavailable') {
      setRetryAfter(reply, appError);
      return page(reply, 503, 'Temporarily unavailable', '<p role="alert">The service cannot answer right now. Please try again in a few seconds.</p>');
    }
    if (appError.code === 'internal') return page(reply, 500, 'Server error', '<p role="alert">Something went wrong on our side. Please try again later.</p>');
    const status = typeof appError.details.status === 'number' ? appError.details.status : httpStatusOf(appError.code);
    return page(reply, status, 'This request cannot be used', `<p role="alert">${escapeHtml(appError.message)}</p>`);
  });

  // Site switching posts a plain HTML form.
  // Forms: site switching, sign-in, and an instance's user and file forms (a file's text up to 1 MiB).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  /**
   * ApisCP's panel entry: `/apps/<app>?esprit_id=<session id>` (what admin:hijack returns; billing
   * modules name the app) keeps the session in the cookie and sends the browser on to the client-console
   * page for that app (PANEL_APPS), by a URL without the session id: it is a bearer secret, and
   * should stay out of history, bookmarks and Referer headers. Without esprit_id the cookie is used.
   * A suspended site's admin lands on the overview's suspension notice (cp.config auth suspended_login).
   */
  const badSession = (reply: FastifyReply) => page(reply, 401, 'Please log in', '<p>This session is invalid, has ended, or its site is suspended.</p>');
  const landing = async (req: FastifyRequest, reply: FastifyReply, app: string, given: string | undefined) => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    const token = given ?? readCookie(req, SESSION_COOKIE) ?? '';
    const session = await getSession(ctx, token);
    let target: string | undefined;
    if (session && session.client_id !== null) {
      // A SaaS instance has one page of its own: every app lands on its overview.
      target = (await getClientAreaHeader(ctx, session.client_id)).kind === 'instance' ? CLIENT_AREA_PATH : panelAppPath(app, CLIENT_AREA_PATH);
    } else if (!session && (await getSuspendedSiteSession(ctx, token))) {
      target = CLIENT_AREA_PATH;
    }
    if (!target) return badSession(reply);
    if (given !== undefined) reply.header('set-cookie', clientSessionCookie(deps, req, token));
    return reply.code(303).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target);
  };
  /** esprit_id as given: undefined when absent, null when it is not one value (a repeated parameter). */
  const espritOf = (req: FastifyRequest): string | null | undefined => {
    const given = (req.query as { esprit_id?: unknown }).esprit_id;
    return given === undefined ? undefined : typeof given === 'string' ? given : null;
  };

  app.get('/apps/:app', { schema: { hide: true } }, async (req, reply) => {
    const given = espritOf(req);
    if (given === null) return badSession(reply);
    return landing(req, reply, (req.params as { app: string }).app, given);
  });

  /**
   * `/apps/dashboard?esprit_id=` lands on the client console's overview like every app; with the
   * cookie alone it is the site's own dashboard page, whose forms switch between sites without scripts.
   */
  app.get('/apps/dashboard', { schema: { hide: true } }, async (req, reply) => {
    const given = espritOf(req);
    if (given === null) return badSession(reply);
    if (given !== undefined) return landing(req, reply, 'dashboard', given);
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    const token = readCookie(req, SESSION_COOKIE) ?? '';
    const session = await getSession(ctx, token);
    const view = session ? await getSiteDashboard(ctx, { clientId: session.client_id, originClientId: session.origin_client_id, login: session.login }) : undefined;
    if (!session || !view) return landing(req, reply, 'dashboard', undefined);
    const switchForm = (target: { site: string; domain: string | null }, label: string) =>
      `<form method="post" action="/apps/dashboard/switch"><input type="hidden" name="site" value="${escapeHtml(target.site)}"><button>${escapeHtml(label)} ${escapeHtml(target.domain ?? target.site)}</button></form>`;
    const subs = view.subordinates.map((t) => `<li>${switchForm(t, 'Switch to')}</li>`).join('');
    return page(
      reply,
      200,
      view.domain ?? view.site,
      `<p>Signed in to <code>${escapeHtml(view.site)}</code> as <code>${escapeHtml(view.user)}</code>.</p>` +
        `<p><a href="${CLIENT_AREA_PATH}">Open the client area</a></p>` +
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
      const next = await switchSite(ctx, { session: { userId: session.user_id, clientId: session.client_id, originClientId: session.origin_client_id, viaResellerId: session.via_reseller_id }, target });
      reply.header('set-cookie', clientSessionCookie(deps, req, next.id));
      return reply.code(303).header('cache-control', 'no-store').redirect('/apps/dashboard');
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'internal' || err.code === 'unavailable') throw e;
      return page(reply, httpStatusOf(err.code), 'You cannot switch to this site', `<p>${escapeHtml(err.message)}</p>`);
    }
  });

  app.get(LOGIN_PATH, { schema: { hide: true } }, async (req, reply) => {
    const token = (req.query as { token?: unknown }).token;
    const ctx = ctxFor(deps, { kind: 'system' }, req.log, req);
    try {
      const session = await redeemLoginToken(ctx, typeof token === 'string' ? token : '');
      reply.header('set-cookie', clientSessionCookie(deps, req, session.token));
      // The client area (the web console's /console/my) shows the client; a session without one has nothing there.
      return reply.code(303).header('cache-control', 'no-store').redirect(session.clientId ? CLIENT_AREA_PATH : '/console');
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'internal' || err.code === 'unavailable') throw e;
      return page(
        reply,
        403,
        'This login link cannot be used',
        '<p>The link is invalid, has expired, or was already used. Login links work once, and only for a short time.</p><p>Ask your provider for a new one.</p>',
      );
    }
  });

  /** The signed-in session when it covers this client; undefined otherwise. */
  const sessionFor = async (req: FastifyRequest, clientId: number) => {
    const token = readCookie(req, SESSION_COOKIE) ?? '';
    const session = await getSession(ctxFor(deps, { kind: 'system' }, req.log, req), token);
    return session && session.client_id === clientId ? { ...session, token } : undefined;
  };
  const clientIdOf = (req: FastifyRequest) => {
    const id = Number((req.params as { id: string }).id);
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  };
  const signIn = (id: number) =>
    `<p>Your session has ended or does not cover this account. Use a new login link from your provider, or <a href="/console/clients/${id}/login">sign in with your login and password</a>.</p>`;

  const instancePage = (view: InstanceOverview, csrf: string, notice: string) => {
    const limit = view.max_users > 0 ? `${view.users_count} of ${view.max_users}` : `${view.users_count} (no limit)`;
    const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
    // Users Hostplane made (an id) may be deactivated here, except the administrator and the owner, the
    // instance's first end user (the use case refuses them too).
    const ownerId = [...view.users].filter((x) => x.role === 'end_user' && x.id !== null).sort((a, b) => a.id! - b.id!)[0]?.id;
    const deactivate = (u: InstanceOverview['users'][number]) =>
      u.id !== null && u.role !== 'client_admin' && u.id !== ownerId
        ? ` <form method="post" action="/console/clients/${view.id}/users/deactivate" class="inline">${hidden}<input type="hidden" name="user_id" value="${u.id}"><button>Deactivate</button></form>`
        : '';
    const users = view.users
      .map(
        (u) =>
          `<li><code>${escapeHtml(u.login)}</code>${u.role === 'client_admin' ? ' (administrator, not counted)' : u.role === 'instance_user' ? ' (made in the instance)' : ''}: ${u.groups.map((g) => `<code>${escapeHtml(g)}</code>`).join(' ') || 'no groups'}${deactivate(u)}</li>`,
      )
      .join('');
    const source =
      view.users_source === 'instance_database'
        ? `<p id="users-source">Read from the instance's own database${view.users_reported_at ? ` at ${escapeHtml(view.users_reported_at)}` : ''}.</p>`
        : '<p id="users-source">Kept by your provider.</p>';
    const pending = view.pending_logins.length ? `<p id="users-pending">Being added to the database: ${view.pending_logins.map((l) => `<code>${escapeHtml(l)}</code>`).join(' ')}</p>` : '';
    const u = view.usage;
    const storage = u.limit_mb > 0 ? `${u.used_mb} MB of ${u.limit_mb} MB` : `${u.used_mb} MB (no limit)`;
    const staged = view.files.staged ? ` <span id="files-staged">${view.files.staged} being moved into it</span>` : '';
    const files = `<p id="files">${view.files.count} file${view.files.count === 1 ? '' : 's'}, ${(view.files.bytes / (1024 * 1024)).toFixed(2)} MB${view.files.source === 'instance_database' ? `, in the instance's own database.${staged}` : ''}</p>`;
    // A file stored where the database has ir_attachment is moved there by its node (docs/adr/0027).
    const fileForm = `<form method="post" action="/console/clients/${view.id}/files">${hidden}<label>File name <input name="name" required></label> <label>Content <textarea name="content"></textarea></label> <button>Store file</button></form>`;
    return (
      (notice ? `<p role="status"><strong>${escapeHtml(notice)}</strong></p>` : '') +
      `<h2>Users: <span id="users-count">${escapeHtml(limit)}</span></h2>${source}<ul id="users">${users}</ul>${usersPager(view)}${pending}` +
      `<form method="post" action="/console/clients/${view.id}/users">${hidden}<label>Login <input name="login" required></label> <label>Name <input name="name"></label> <label>Password <input name="password" type="password" required></label> <button>Add user</button></form>` +
      `<h2>Storage: <span id="storage">${escapeHtml(storage)}</span>${u.exceeded ? ' <strong id="storage-exceeded">over the limit</strong>' : ''}</h2>` +
      files +
      fileForm +
      `<h2>Modules</h2><ul id="modules">${view.modules.map((m) => `<li><code>${escapeHtml(m)}</code></li>`).join('') || '<li>none</li>'}</ul>` +
      databaseSection(view)
    );
  };

  // A big instance's users come a page at a time (the doors' users_offset); the page says where it is.
  const usersPager = (view: InstanceOverview) => {
    const first = (view.users_next_offset ?? view.users_total) - view.users.length + 1;
    const shown = view.users_next_offset === null && first <= 1 ? '' : `<p id="users-page">Users ${first} to ${first + view.users.length - 1} of ${view.users_total}.</p>`;
    const next = view.users_next_offset === null ? '' : `<p><a id="users-next" href="/console/clients/${view.id}?users_offset=${view.users_next_offset}">Next users</a></p>`;
    return shown + next;
  };

  // The instance's own database: what its owner connects to, and what its node last measured. The
  // node's name and error text stay with the operator (admin API); the owner sees the state.
  const DATABASE_STATES = { not_placed: 'waiting for a database server', applying: 'being prepared', applied: 'ready', failed: 'not ready: the provider has been told' } as const;
  const databaseSection = (view: InstanceOverview) => {
    const d = view.database;
    if (!d) return '';
    const size = d.size_bytes === null ? 'not measured yet' : `${(d.size_bytes / (1024 * 1024)).toFixed(1)} MB`;
    const users = d.active_users === null ? 'not measured' : view.max_users > 0 ? `${d.active_users} of ${view.max_users}` : `${d.active_users} (no limit)`;
    return (
      `<h2>Database</h2><dl id="database">` +
      `<dt>Name</dt><dd><code>${escapeHtml(d.name)}</code></dd><dt>Owner role</dt><dd><code>${escapeHtml(d.owner)}</code></dd>` +
      `<dt>State</dt><dd id="database-state">${escapeHtml(DATABASE_STATES[d.status])}</dd>` +
      `<dt>Size</dt><dd id="database-size">${escapeHtml(size)}</dd><dt>Active users in it</dt><dd id="database-users">${escapeHtml(users)}</dd></dl>`
    );
  };

  app.get('/console/clients/:id', { schema: { hide: true } }, async (req, reply) => {
    const id = clientIdOf(req);
    const session = id ? await sessionFor(req, id) : undefined;
    if (!id || !session) return page(reply, 401, 'Please log in', id ? signIn(id) : '<p>No such account.</p>');
    const member = ctxFor(deps, { kind: 'user', userId: session.user_id }, req.log, req);
    const usersOffset = (req.query as { users_offset?: unknown }).users_offset;
    let view: InstanceOverview | undefined;
    try {
      view = await getInstanceOverview(member, id, { users_offset: usersOffset });
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'validation_failed') return page(reply, 422, 'Not a page of users', `<p role="alert">${escapeHtml(err.message)}</p><p><a href="/console/clients/${id}">Back</a></p>`);
      if (err.code !== 'not_found') throw e; // not found: a hosting client, not a SaaS instance
    }
    const done = (req.query as { done?: unknown }).done;
    const notice = done === 'user' ? 'User added.' : done === 'file' ? 'File stored.' : done === 'deactivated' ? 'User deactivated.' : '';
    if (view) return page(reply, 200, view.name ?? `Instance ${id}`, `<p>Signed in to <code>${escapeHtml(view.name ?? String(id))}</code> as <code>${escapeHtml(session.login)}</code>.</p>${instancePage(view, csrfTokenFor(deps, session.token), notice)}`);
    const client = await getClientForOperator(ctxFor(deps, { kind: 'system' }, req.log), id);
    const domains = client.domains.map((d) => `<li><code>${escapeHtml(d.name)}</code> — ${escapeHtml(d.status)}</li>`).join('');
    return page(reply, 200, client.name ?? `Client ${client.id}`, `<p>Signed in as the account administrator.</p><h2>Domains</h2><ul>${domains || '<li>none</li>'}</ul>`);
  });

  const loginForm = (id: number, message = '') =>
    (message ? `<p role="alert">${escapeHtml(message)}</p>` : '') +
    `<form method="post" action="/console/clients/${id}/login"><label>Login <input name="login" autocomplete="username" required></label> <label>Password <input name="password" type="password" autocomplete="current-password" required></label> <button>Sign in</button></form>`;

  app.get('/console/clients/:id/login', { schema: { hide: true } }, async (req, reply) => {
    const id = clientIdOf(req);
    if (!id) return page(reply, 404, 'Not found', '<p>No such account.</p>');
    return page(reply, 200, 'Sign in', loginForm(id));
  });

  app.post('/console/clients/:id/login', { schema: { hide: true } }, async (req, reply) => {
    const id = clientIdOf(req);
    if (!id) return page(reply, 404, 'Not found', '<p>No such account.</p>');
    const body = (req.body ?? {}) as { login?: unknown; password?: unknown };
    try {
      const session = await loginClientUser(ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req), { clientId: id, login: body.login, password: body.password });
      reply.header('set-cookie', clientSessionCookie(deps, req, session.token));
      return reply.code(303).header('cache-control', 'no-store').redirect(CLIENT_AREA_PATH);
    } catch (e) {
      const err = toAppError(e);
      if (err.code === 'internal' || err.code === 'unavailable') throw e;
      setRetryAfter(reply, err);
      return page(reply, httpStatusOf(err.code), 'Sign in', loginForm(id, err.message));
    }
  });

  /** A form inside an instance: checks session and form token, runs the change as the signed-in user. */
  const instanceForm = (path: string, done: string, run: (ctx: ReturnType<typeof ctxFor>, id: number, body: Record<string, unknown>) => Promise<unknown>) =>
    // The route states the limit too: a declared length is checked against it before any parser runs.
    app.post(`/console/clients/:id/${path}`, { schema: { hide: true }, bodyLimit: FORM_BODY_LIMIT }, async (req, reply) => {
      const id = clientIdOf(req);
      const session = id ? await sessionFor(req, id) : undefined;
      if (!id || !session) return page(reply, 401, 'Please log in', id ? signIn(id) : '<p>No such account.</p>');
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (!csrfTokenValid(deps, session.token, body.csrf)) return page(reply, 403, 'This form has expired', `<p>Reload <a href="/console/clients/${id}">the page</a> and try again.</p>`);
      try {
        await run(ctxFor(deps, { kind: 'user', userId: session.user_id }, req.log, req), id, body);
        return reply.code(303).header('cache-control', 'no-store').redirect(`/console/clients/${id}?done=${done}`);
      } catch (e) {
        const err = toAppError(e);
        if (err.code === 'internal' || err.code === 'unavailable') throw e;
        return page(reply, httpStatusOf(err.code), 'That did not work', `<p role="alert">${escapeHtml(err.message)}</p><p><a href="/console/clients/${id}">Back</a></p>`);
      }
    });
  instanceForm('users', 'user', (ctx, id, body) => addInstanceUser(ctx, id, { login: body.login, name: body.name || undefined, password: body.password }));
  instanceForm('users/deactivate', 'deactivated', (ctx, id, body) => deactivateInstanceUser(ctx, id, typeof body.user_id === 'string' && /^[0-9]{1,15}$/.test(body.user_id) ? Number(body.user_id) : body.user_id));
  instanceForm('files', 'file', (ctx, id, body) => storeInstanceFile(ctx, id, { name: body.name, content: Buffer.from(typeof body.content === 'string' ? body.content : '', 'utf8') }));
}

