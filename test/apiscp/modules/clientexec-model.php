<?php
// A model of Clientexec's ApisCP server plugin (clientexec/apiscp-server), written here from its
// observable behaviour: the same SoapClient options (https only, the WSDL at `https://host:port//apnscp.wsdl`),
// the same functions with the same arguments and casing. Loaded by runner.php. Each step takes
// {server: {ServerHostName, plugin_apiscp_Port, plugin_apiscp_API_Key}, package: {...}, customer: {...},
// changes: {...}} — the `$args` the plugin builds from a Clientexec package.
//
// `server._scheme` exists only for the test's switch while the server under test cannot serve HTTPS;
// the plugin itself always uses https.

declare(strict_types=1);

/** What the plugin throws; Clientexec shows its message. */
final class CE_Exception extends Exception
{
}

final class ClientexecApisClient extends SoapClient
{
    use RecordsWire;

    public static function connect(string $host, string $port, string $apiKey, string $scheme = 'https'): self
    {
        $soapUrl = $scheme . '://' . $host . ':' . $port . '/soap';
        // The plugin joins '/' and '/apnscp.wsdl', hence the double slash.
        $wsdl = str_replace('/soap', '//apnscp.wsdl', $soapUrl);
        $options = [
            'connection_timeout' => 30,
            'location' => $soapUrl . '?authkey=' . $apiKey,
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'stream_context' => stream_context_create(['http' => ['header' => 'Abort-On: error' . "\r\n"]]),
        ];
        Wire::client($wsdl, $options);
        return new self($wsdl, $options);
    }
}

function ce_client(array $a): ClientexecApisClient
{
    $v = $a['server'];
    return ClientexecApisClient::connect((string) $v['ServerHostName'], (string) $v['plugin_apiscp_Port'], (string) $v['plugin_apiscp_API_Key'], $v['_scheme'] ?? 'https');
}

/** Every plugin action rethrows a SOAP failure as CE_Exception. */
function ce_guard(callable $call): void
{
    try {
        $call();
    } catch (CE_Exception $e) {
        throw $e;
    } catch (Exception $e) {
        throw new CE_Exception($e->getMessage());
    }
}

function ce_create(array $a): string
{
    $pkg = $a['package'];
    $options = [
        'siteinfo.enabled' => 1,
        'siteinfo.domain' => strtolower($pkg['domain_name']),
        'siteinfo.admin_user' => strtolower($pkg['username']),
        'siteinfo.email' => $a['customer']['email'],
        'siteinfo.plan' => $pkg['name_on_server'],
        'auth.tpasswd' => $pkg['password'],
    ];
    // The first two arguments go out as entered, not lower-cased.
    ce_guard(fn () => ce_client($a)->admin_add_site($pkg['domain_name'], $pkg['username'], $options));
    return 'Package has been created.';
}

function ce_suspend(array $a): string
{
    ce_guard(fn () => ce_client($a)->admin_deactivate_site(strtolower($a['package']['domain_name'])));
    return 'Package has been suspended.';
}

function ce_unsuspend(array $a): string
{
    ce_guard(fn () => ce_client($a)->admin_activate_site(strtolower($a['package']['domain_name'])));
    return 'Package has been unsuspended.';
}

function ce_delete(array $a): string
{
    ce_guard(fn () => ce_client($a)->admin_delete_site(strtolower($a['package']['domain_name'])));
    return 'Package has been deleted.';
}

/** A package edit: each changed field is one call, in the order Clientexec lists the changes. */
function ce_update(array $a): string
{
    $client = ce_client($a);
    $domain = strtolower($a['package']['domain_name']);
    foreach ($a['changes'] as $field => $value) {
        if ($field === 'password') {
            ce_guard(fn () => $client->auth_change_password($value, $a['package']['username'], $domain));
        } elseif ($field === 'package') {
            // reset goes as the string 'true', not a boolean.
            ce_guard(fn () => $client->admin_edit_site($domain, ['siteinfo.plan' => $a['package']['name_on_server']], ['reset' => 'true']));
        }
    }
    return $a['package']['domain_name'] . ' has been updated.';
}

/** Which buttons Clientexec shows: it reads the site's `active` from collect, keyed by the domain it passed. */
function ce_getAvailableActions(array $a): array
{
    $client = ce_client($a);
    $domain = strtolower($a['package']['domain_name']);
    try {
        $answer = $client->admin_collect(['siteinfo'], null, [$domain]);
        if (count($answer) == 0) return ['Create'];
        return [$answer[$domain]['active'] == 1 ? 'Suspend' : 'UnSuspend', 'Delete'];
    } catch (Exception $e) {
        return ['Create'];
    }
}

function ce_testConnection(array $a): bool
{
    ce_guard(fn () => ce_client($a)->common_whoami());
    return true;
}

/** "Login to Server": a hijacked session opened on the dashboard, always over https on the plugin's port. */
function ce_getDirectLink(array $a): string
{
    $session = ce_client($a)->admin_hijack($a['package']['domain_name'], $a['package']['username'], 'UI');
    $v = $a['server'];
    $scheme = $v['_scheme'] ?? 'https';
    return "$scheme://{$v['ServerHostName']}:{$v['plugin_apiscp_Port']}/apps/dashboard?" . http_build_query(['esprit_id' => $session]);
}

function run_step(string $step, array $input): mixed
{
    $fn = 'ce_' . $step;
    if (!function_exists($fn)) throw new InvalidArgumentException("no Clientexec step $step");
    return $fn($input);
}
