/**
 * The text of the web role's nginx configuration: the main file, the http settings every test
 * wrapper shares with it, one server block per site, and the suspension page.
 *
 * Nothing here is interpolated unchecked: directory paths pass SAFE_PATH when the driver is built,
 * site names and domains pass the wire schema's regexes again here (a name or domain that would
 * need quoting in nginx config cannot pass them), and the suspension reason only ever reaches an
 * HTML file, escaped.
 */
import path from 'node:path';
import { WireDomain, WireUserName, type SiteSpec } from '../../../core/nodes/agent-wire.schema.js';

/** Paths the driver writes into config: no whitespace, quotes, `;`, `$`, braces or `#`. */
export const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*$/;

/** The URI nginx redirects a suspended site's requests to; `internal`, so no client reaches it directly. */
const SUSPENDED_URI = '/.hostplane-suspended.html';

export interface NginxLayout {
  prefix: string;
  httpPort: number;
  /** `user` directive for the workers when the master runs as root; null when it does not. */
  worker: { user: string; group: string } | null;
}

export const nginxPaths = (prefix: string) => ({
  mainConf: path.join(prefix, 'nginx.conf'),
  httpCommon: path.join(prefix, 'http-common.conf'),
  mimeTypes: path.join(prefix, 'mime.types'),
  fastcgiParams: path.join(prefix, 'fastcgi-params.conf'),
  pidFile: path.join(prefix, 'nginx.pid'),
  errorLog: path.join(prefix, 'logs', 'error.log'),
  sitesDir: path.join(prefix, 'sites'),
  suspendedDir: path.join(prefix, 'suspended'),
  tempDir: path.join(prefix, 'temp'),
});

export function assertSafePath(label: string, value: string): void {
  if (!SAFE_PATH.test(value)) throw new Error(`${label} ${JSON.stringify(value)} must be an absolute path of letters, digits and . _ / + -`);
}

/** The process-level part nginx needs for a run or a test: pid, error log, events. */
function mainHead(layout: NginxLayout, pidFile: string): string {
  const p = nginxPaths(layout.prefix);
  return [
    '# Managed by the Hostplane agent: rewritten on start, do not edit by hand.',
    ...(layout.worker ? [`user ${layout.worker.user} ${layout.worker.group};`] : []),
    'worker_processes 1;',
    `pid ${pidFile};`,
    `error_log ${p.errorLog} warn;`,
    'events { worker_connections 1024; }',
  ].join('\n');
}

export function renderMainConf(layout: NginxLayout): string {
  const p = nginxPaths(layout.prefix);
  return `${mainHead(layout, p.pidFile)}
http {
    include ${p.httpCommon};
    # Unknown hosts: nothing of any site.
    server {
        listen ${layout.httpPort} default_server;
        server_name _;
        return 404;
    }
    include ${p.sitesDir}/*.conf;
}
`;
}

export function renderHttpCommon(layout: NginxLayout): string {
  const p = nginxPaths(layout.prefix);
  const t = p.tempDir;
  return `# Managed by the Hostplane agent.
include ${p.mimeTypes};
default_type application/octet-stream;
sendfile on;
keepalive_timeout 65;
server_tokens off;
# Each site logs on its own; the first field is what the metering reads.
access_log off;
log_format hostplane '$bytes_sent $remote_addr [$time_iso8601] "$request" $status "$http_referer" "$http_user_agent"';
# Site logs are named through a variable, so workers open them when they write (and keep the busy
# ones open) instead of the master holding every site's log: with a literal path a reload opens
# each log again while the old ones are still open, and 10,000 sites ran out of file descriptors.
map $host $hostplane_access_log { default access.log; }
open_log_file_cache max=1000 inactive=30s valid=1m min_uses=1;
# Room for thousands of sites and their aliases; a name longer than the bucket allows is refused by nginx -t.
server_names_hash_max_size 262144;
server_names_hash_bucket_size 128;
client_body_temp_path ${t}/client_body;
proxy_temp_path ${t}/proxy;
fastcgi_temp_path ${t}/fastcgi;
uwsgi_temp_path ${t}/uwsgi;
scgi_temp_path ${t}/scgi;
`;
}

export const TEMP_SUBDIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

// Our own short list, so the prefix needs nothing from the distribution's nginx directory.
const MIME: [string, string][] = [
  ['text/html', 'html htm shtml'],
  ['text/css', 'css'],
  ['text/plain', 'txt'],
  ['text/xml', 'xml'],
  ['text/csv', 'csv'],
  ['application/javascript', 'js mjs'],
  ['application/json', 'json'],
  ['application/pdf', 'pdf'],
  ['application/zip', 'zip'],
  ['application/gzip', 'gz tgz'],
  ['application/wasm', 'wasm'],
  ['application/manifest+json', 'webmanifest'],
  ['image/gif', 'gif'],
  ['image/jpeg', 'jpeg jpg'],
  ['image/png', 'png'],
  ['image/webp', 'webp'],
  ['image/avif', 'avif'],
  ['image/svg+xml', 'svg svgz'],
  ['image/x-icon', 'ico'],
  ['font/woff', 'woff'],
  ['font/woff2', 'woff2'],
  ['font/ttf', 'ttf'],
  ['audio/mpeg', 'mp3'],
  ['audio/ogg', 'ogg'],
  ['video/mp4', 'mp4'],
  ['video/webm', 'webm'],
];

export function renderMimeTypes(): string {
  return `types {\n${MIME.map(([type, exts]) => `    ${type} ${exts};`).join('\n')}\n}\n`;
}

export function renderFastcgiParams(): string {
  const params: [string, string][] = [
    ['QUERY_STRING', '$query_string'],
    ['REQUEST_METHOD', '$request_method'],
    ['CONTENT_TYPE', '$content_type'],
    ['CONTENT_LENGTH', '$content_length'],
    ['SCRIPT_NAME', '$fastcgi_script_name'],
    ['SCRIPT_FILENAME', '$document_root$fastcgi_script_name'],
    ['REQUEST_URI', '$request_uri'],
    ['DOCUMENT_URI', '$document_uri'],
    ['DOCUMENT_ROOT', '$document_root'],
    ['SERVER_PROTOCOL', '$server_protocol'],
    ['REQUEST_SCHEME', '$scheme'],
    ['HTTPS', '$https if_not_empty'],
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', 'nginx'],
    ['REMOTE_ADDR', '$remote_addr'],
    ['REMOTE_PORT', '$remote_port'],
    ['SERVER_ADDR', '$server_addr'],
    ['SERVER_PORT', '$server_port'],
    ['SERVER_NAME', '$server_name'],
    // httpoxy: a client's Proxy header must not become PHP's HTTP_PROXY.
    ['HTTP_PROXY', '""'],
  ];
  return params.map(([k, v]) => `fastcgi_param ${k} ${v};`).join('\n') + '\n';
}

export interface SiteBlockInput {
  spec: SiteSpec;
  home: string;
  /** The php-fpm pool's socket when the site runs PHP. */
  phpSocket: string | null;
}

/** The server names of a site, checked again against the wire regexes; throws on anything else. */
export function serverNames(spec: SiteSpec): string[] {
  const names = [spec.domain, ...spec.aliases].map((d) => d.toLowerCase());
  for (const name of names) {
    if (!WireDomain.safeParse(name).success) throw new Error(`refusing server name ${JSON.stringify(name)}: not an A-label domain name`);
  }
  return [...new Set(names)];
}

export function renderSiteBlock(layout: NginxLayout, input: SiteBlockInput): string {
  const { spec, home } = input;
  if (!WireUserName.safeParse(spec.name).success) throw new Error(`refusing site name ${JSON.stringify(spec.name)}`);
  const p = nginxPaths(layout.prefix);
  const names = serverNames(spec);
  const head = [
    `# Managed by the Hostplane agent: site ${spec.name}.`,
    'server {',
    `    listen ${layout.httpPort};`,
    `    server_name ${names.join(' ')};`,
    `    access_log ${path.join(home, 'logs')}/$hostplane_access_log hostplane;`,
    // A log named by a variable is written only where the request's root exists: root and log at one level.
    `    root ${path.join(home, 'public_html')};`,
  ];
  if (spec.status === 'suspended') {
    // Every method and path gets 503 with the page: the URI error page turns the method into GET, and
    // a client asking for the internal URI itself gets the same page (its 404 becomes 503 too).
    return [
      ...head,
      '    default_type text/html;',
      `    error_page 503 404 =503 ${SUSPENDED_URI};`,
      '    location / { return 503; }',
      `    location = ${SUSPENDED_URI} { internal; root ${p.suspendedDir}; try_files /${spec.name}.html =500; }`,
      '}',
      '',
    ].join('\n');
  }
  const body: string[] = [];
  if (input.phpSocket) {
    body.push(
      '    index index.php index.html index.htm;',
      '    location / { try_files $uri $uri/ =404; }',
      '    location ~ [^/]\\.php(/|$) {',
      '        fastcgi_split_path_info ^(.+?\\.php)(/.*)$;',
      '        try_files $fastcgi_script_name =404;',
      `        include ${p.fastcgiParams};`,
      '        fastcgi_param PATH_INFO $fastcgi_path_info;',
      `        fastcgi_pass unix:${input.phpSocket};`,
      '    }',
    );
  } else {
    body.push('    index index.html index.htm;');
  }
  return [...head, ...body, '}', ''].join('\n');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

export const GENERIC_SUSPENSION = 'This site is suspended.';

export function renderSuspendedPage(reason: string | null): string {
  const message = reason === null || reason.trim() === '' ? GENERIC_SUSPENSION : `This site is suspended: ${reason}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Site suspended</title></head>
<body>
<h1>Site suspended</h1>
<p>${escapeHtml(message)}</p>
</body>
</html>
`;
}
