<?php
// A model of the WHMCS server module for ApisCP ("apnscp", LithiumHosting/apiscp-whmcs): written here
// from its observable behaviour, it sends what the module sends, call by call — the same SoapClient
// options, headers, cookie, functions, argument shapes and casing — and reads the answers the way the
// module reads them. Loaded by runner.php; each step takes the `$params` array WHMCS passes a module.
//
// WHMCS-specific context the module reads from its environment comes in `$params` too:
// `_session_id` (PHP's session_id(): a browser session for admin/client-area actions, '' in the cron),
// `_remote_addr` ($_SERVER['REMOTE_ADDR'], absent in the cron) and `_app` (the `app` request variable of
// a single sign-on click).

declare(strict_types=1);

final class WhmcsApisConnector extends SoapClient
{
    use RecordsWire;

    private string $sessionName = '';

    /** How many times the current call has been sent again after a NULL answer (shared, as in the module). */
    private static int $again = 0;

    public static function connect(string $apiKey, string $endpoint, string $sessionId, ?string $remoteAddr): self
    {
        $soapUrl = $endpoint . '/soap';
        // The WSDL sits next to the endpoint: the module derives it by swapping the last path part.
        $wsdl = str_replace('/soap', '/apnscp.wsdl', $soapUrl);
        $forwardedFor = $remoteAddr ?? '127.0.0.1';
        $headerLines = ['Abort-On: error', 'X-Forwarded-For: ' . $forwardedFor];
        $options = [
            'connection_timeout' => 30,
            'location' => $soapUrl . '?authkey=' . $apiKey,
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'stream_context' => stream_context_create(['http' => ['header' => implode("\r\n", $headerLines) . "\r\n"]]),
        ];
        Wire::client($wsdl, $options);
        $client = new self($wsdl, $options);
        $client->sessionName = $sessionId;
        return $client;
    }

    public function __call($name, $args): mixed
    {
        // Every call carries the caller's session id as the esprit_id cookie, and a NULL answer is taken
        // for a hiccup: the same call goes out again, at most five more times in a row.
        $this->__setCookie('esprit_id', $this->sessionName);
        $answer = parent::__call($name, $args);
        if ($answer !== null || self::$again >= 5) {
            self::$again = 0;
            return $answer;
        }
        usleep(50000);
        self::$again++;
        Wire::$resends++;
        return $this->__call($name, $args);
    }
}

function whmcs_endpoint(array $params): string
{
    return $params['serverhttpprefix'] . '://' . $params['serverhostname'] . ':' . $params['serverport'];
}

function whmcs_client(array $params): WhmcsApisConnector
{
    return WhmcsApisConnector::connect((string) $params['serverpassword'], whmcs_endpoint($params), (string) ($params['_session_id'] ?? ''), $params['_remote_addr'] ?? null);
}

/** The product's module settings (configoption1..24) turned into ApisCP's service.param map, in the module's order. */
function whmcs_site_options(array $p): array
{
    $set = fn (string $n): bool => $p['configoption' . $n] !== '';
    $opt = fn (string $n) => $p['configoption' . $n];
    $flag = fn (string $n): string => $p['configoption' . $n] ? '1' : '0';
    $o = [];
    if ($set('2')) {
        $o['aliases.enabled'] = (int) $opt('2') > 0;
        $o['aliases.max'] = (int) $opt('2');
    }
    $o['auth.tpasswd'] = $p['password'];
    if ($set('3')) {
        $o['bandwidth.threshold'] = (int) $opt('3') ?: 10000;
        $o['bandwidth.units'] = 'GB';
    }
    $o['billing.invoice'] = 'whmcs-' . $p['serviceid'];
    foreach ([['4', 'cgroup.memory', 256], ['5', 'cgroup.cpu', 2000], ['6', 'cgroup.cpuweight', 1024], ['7', 'cgroup.proclimit', 'null']] as [$n, $key, $fallback]) {
        if ($set($n)) $o[$key] = $opt($n) ?: $fallback;
    }
    if ($set('8')) {
        $o['diskquota.quota'] = $opt('8') ?: 4000;
        $o['diskquota.units'] = 'GB';
    }
    if ($set('9')) $o['diskquota.fquota'] = $opt('9') ?: 'null';
    $o['ftp.enabled'] = $flag('10');
    $o['ipinfo.enabled'] = '1';
    $o['ipinfo.namebased'] = $opt('11') === 'shared' ? '1' : '0';
    $o['logs.enabled'] = '1';
    $o['mail.enabled'] = $flag('13');
    // MySQL is switched by option 14 and limited by 15; PostgreSQL is both switched and limited by 16.
    foreach ([['mysql', '14', '15'], ['pgsql', '16', '16']] as [$svc, $on, $limit]) {
        if ((int) $opt($on) === 0) {
            $o["$svc.enabled"] = '0';
            continue;
        }
        $o["$svc.enabled"] = '1';
        $o["$svc.dbaseadmin"] = $p['username'];
        $o["$svc.dbaseprefix"] = $p['username'] . '_';
        if ($set($limit)) $o["$svc.dbasenum"] = $opt($limit) === '-1' ? 'null' : $opt($limit);
        $o["$svc.passwd"] = $p['password'];
    }
    $o['rampart.whitelist'] = [$p['model']->client->ip];
    $o['spamfilter.enabled'] = $flag('17');
    $o['spamfilter.provider'] = $opt('18');
    $o['ssh.enabled'] = $flag('19');
    $o['ssh.jail'] = '1';
    $o['ssl.enabled'] = $flag('20');
    $o['users.enabled'] = (int) $opt('21') === 0 ? '0' : '1';
    if ($set('21')) $o['users.max'] = $opt('21') === '-1' ? 'null' : $opt('21');
    $o['siteinfo.enabled'] = '1';
    $o['siteinfo.domain'] = $p['domain'];
    $o['siteinfo.admin_user'] = $p['username'];
    $o['siteinfo.email'] = $p['model']->client->email;
    $o['siteinfo.plan'] = $p['configoption1'];
    return $o;
}

/** The module turns each failure into its message, which WHMCS shows; 'success' otherwise. */
function whmcs_guard(callable $call): string
{
    try {
        $call();
    } catch (Exception $e) {
        return $e->getMessage();
    }
    return 'success';
}

function whmcs_CreateAccount(array $p): string
{
    return whmcs_guard(fn () => whmcs_client($p)->admin_add_site(strtolower($p['domain']), $p['username'], whmcs_site_options($p)));
}

function whmcs_SuspendAccount(array $p): string
{
    return whmcs_guard(fn () => whmcs_client($p)->admin_deactivate_site(strtolower($p['domain']), ['reason' => $p['suspendreason']]));
}

function whmcs_UnsuspendAccount(array $p): string
{
    return whmcs_guard(fn () => whmcs_client($p)->admin_activate_site(strtolower($p['domain'])));
}

function whmcs_TerminateAccount(array $p): string
{
    try {
        whmcs_client($p)->admin_delete_site(strtolower($p['domain']), ['force' => true]);
    } catch (Exception $e) {
        // The module takes a reply that never came for a deletion that went through.
        $m = $e->getMessage();
        return ($m === '' || $m === 'Error Fetching http headers') ? 'success' : $m;
    }
    return 'success';
}

function whmcs_ChangePassword(array $p): string
{
    return whmcs_guard(fn () => whmcs_client($p)->auth_change_password($p['password'], $p['username'], strtolower($p['domain'])));
}

function whmcs_ChangePackage(array $p): string
{
    return whmcs_guard(fn () => whmcs_client($p)->admin_edit_site(strtolower($p['domain']), ['siteinfo.plan' => $p['configoption1']], ['reset' => true]));
}

const WHMCS_SSO_APPS = ['usermanage', 'mailboxroutes', 'vacation', 'filemanager', 'domainmanager', 'bandwidthbd', 'crontab', 'subdomains', 'changemysql', 'phpmyadmin', 'webapps', 'terminal', 'whitelist'];

function whmcs_ServiceSingleSignOn(array $p): array
{
    try {
        $session = whmcs_client($p)->admin_hijack(strtolower($p['domain']), $p['username'], 'UI');
        $app = $p['_app'] ?? null;
        if ($app === null || !in_array($app, WHMCS_SSO_APPS)) $app = 'dashboard';
        $query = $app === 'subdomains' ? ['mode' => 'add'] : [];
        $query['esprit_id'] = $session;
        return ['success' => true, 'redirectTo' => whmcs_endpoint($p) . "/apps/$app?" . http_build_query($query)];
    } catch (Exception $e) {
        return ['success' => false, 'errorMsg' => $e->getMessage()];
    }
}

/**
 * The plan dropdown's loader. It does not use the server's port field: 2083 with "secure" on, 2082 off.
 * `_port_for_test` stands in for that fixed port, since a test server cannot hold 2082/2083.
 */
function whmcs_getPlans(array $server): array
{
    $secure = $server['secure'] === 'on';
    $endpoint = ($secure ? 'https' : 'http') . '://' . $server['hostname'] . ':' . ($server['_port_for_test'] ?? ($secure ? '2083' : '2082'));
    try {
        $client = WhmcsApisConnector::connect((string) $server['password'], $endpoint, (string) ($server['_session_id'] ?? ''), $server['_remote_addr'] ?? null);
        $choices = [];
        foreach ($client->admin_list_plans() as $plan) $choices[$plan] = $server['name'] . ' - ' . $plan;
        return $choices;
    } catch (Exception $e) {
        return ['basic' => 'basic (api call failed)'];
    }
}

/**
 * The daily usage update: the module reads these numbers into WHMCS's disk and bandwidth columns (MB).
 * Returned here per site instead of written to tblhosting; PHP warnings (an undefined key) fail the test.
 */
function whmcs_UsageUpdate(array $p): array
{
    $client = whmcs_client($p);
    $sites = $client->admin_collect(['siteinfo.domain']);
    $storage = $client->admin_get_usage('storage');
    $bandwidth = $client->admin_get_usage('bandwidth');
    $rows = [];
    foreach ($sites as $site => $values) {
        $rows[$site] = [
            'domain' => $values['domain'],
            'raw' => ['qused' => $storage[$site]['qused'], 'qhard' => $storage[$site]['qhard'], 'sum' => $bandwidth[$site]['sum'], 'threshold' => $bandwidth[$site]['threshold']],
            'diskusage' => $storage[$site]['qused'] / 1024,
            'disklimit' => $storage[$site]['qhard'] / 1024,
            'bwusage' => ($bandwidth[$site]['sum'] / 1024) / 1024,
            'bwlimit' => ($bandwidth[$site]['threshold'] / 1024) / 1024,
        ];
    }
    return $rows;
}

/** The module's nightly hook: purge sites suspended for deferred cancellation at least 14 days ago. */
function whmcs_DailyCronJob(array $p): ?string
{
    try {
        $client = whmcs_client($p);
        $client->admin_delete_site(null, ['since' => '14 days ago', 'match' => 'Deferred Account Cancellation', 'force' => true]);
    } catch (Throwable $e) {
        return $e->getMessage();
    }
    return null;
}

/** The client-area hook: is the visitor's address blocked, in which jails; unblock it; is rampart on for the site. */
function whmcs_CheckIp(array $p): array
{
    try {
        $client = whmcs_client($p);
        if (!$client->rampart_is_banned($p['ip'])) return ['is_banned' => false, 'jails' => [], 'rampart_enabled' => false, 'error' => null];
        $jails = (array) $client->rampart_banned_services($p['ip']);
        $client->rampart_unban($p['ip']);
        $enabled = true;
        try {
            $check = $client->admin_collect(['rampart.enabled'], null, [$p['domain']]);
            $enabled = $check[$p['domain']]['rampart']['enabled'] === 1;
        } catch (Throwable $e) {
        }
        return ['is_banned' => true, 'jails' => $jails, 'rampart_enabled' => $enabled, 'error' => null];
    } catch (Throwable $e) {
        return ['is_banned' => false, 'jails' => [], 'rampart_enabled' => false, 'error' => $e->getMessage()];
    }
}

function run_step(string $step, array $input): mixed
{
    $fn = 'whmcs_' . $step;
    if (!function_exists($fn)) throw new InvalidArgumentException("no WHMCS step $step");
    if (isset($input['model'])) $input['model'] = (object) ['client' => (object) $input['model']['client']];
    return $fn($input);
}
