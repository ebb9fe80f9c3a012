<?php
// Drives Hostplane's SOAP door with PHP's own SoapClient, the way ApisCP billing modules do, and prints
// what PHP made of each answer as JSON on stdout.
//
// Input: SOAP_TEST_WSDL (URL of the WSDL) and SOAP_TEST_LOCATION (endpoint URL, with ?authkey=) in the
// environment; on stdin a JSON list of calls: {"op": "...", "args": [...], "headers": ["Abort-On: error"]}.
// In args, {"__object__": {...}} is a stdClass (add "__ref__": "name" to pass the same object again),
// {"__int__": "9223372036854775807"} an integer JSON cannot carry, and
// {"__soapvar__": "SOAP_ENC_OBJECT", "value": ..., "type_name"?: "...", "type_namespace"?: "..."} the
// value wrapped as `new SoapVar(value, SOAP_ENC_OBJECT)` (also APACHE_MAP, SOAP_ENC_ARRAY, XSD_STRING,
// XSD_INT, XSD_BOOLEAN, XSD_ANYTYPE, ...), the way Blesta, HostBill and WISECP modules pass arguments.
// Calls with the same headers share one SoapClient (and its keep-alive connection).
//
// SOAP_TEST_STYLE picks the constructor options: "test" (default: the ones above, no WSDL cache),
// "clientexec" (clientexec/apiscp-server's ApisCPAPI::create_client: Abort-On header, default WSDL
// cache, nothing else) or "whmcs" (apiscp-whmcs's ApisConnector::create_client: Abort-On and
// X-Forwarded-For: $SOAP_TEST_FORWARDED_FOR headers, and __setCookie('esprit_id', $SOAP_TEST_ESPRIT_ID)
// before every call). In those two the calls' own headers are not used. SOAP_TEST_SHOW_REQUEST=1 adds
// "request_headers" (what PHP sent) to every entry.
//
// Output: a JSON list, one entry per call: {"ok": true, "value": TREE, "export": var_export text,
// "status": HTTP status} or {"fault": {"faultcode", "faultstring", "detail"}, "status": ...}.
// TREE keeps PHP's types: ["NULL", null], ["boolean", b], ["integer", n], ["double", x or "INF"/"NAN"],
// ["string", s], ["array", is_list, [[key, TREE], ...]], ["object", class, TREE of its properties].

declare(strict_types=1);

$objects = [];

function php_arg($value)
{
    global $objects;
    if (!is_array($value)) return $value;
    if (array_key_exists('__int__', $value)) return (int) $value['__int__'];
    if (array_key_exists('__soapvar__', $value)) {
        $encodings = ['SOAP_ENC_OBJECT', 'SOAP_ENC_ARRAY', 'APACHE_MAP', 'XSD_STRING', 'XSD_INT', 'XSD_BOOLEAN', 'XSD_FLOAT', 'XSD_ANYTYPE', 'XSD_ANYXML'];
        if (!in_array($value['__soapvar__'], $encodings, true)) throw new InvalidArgumentException('unknown SoapVar encoding ' . $value['__soapvar__']);
        return new SoapVar(php_arg($value['value'] ?? null), constant($value['__soapvar__']), $value['type_name'] ?? null, $value['type_namespace'] ?? null);
    }
    if (array_key_exists('__object__', $value)) {
        $ref = $value['__ref__'] ?? null;
        if ($ref !== null && isset($objects[$ref])) return $objects[$ref];
        $object = (object) array_map('php_arg', $value['__object__']);
        if ($ref !== null) $objects[$ref] = $object;
        return $object;
    }
    return array_map('php_arg', $value);
}

function tree($value)
{
    if (is_array($value)) {
        $items = [];
        foreach ($value as $k => $v) $items[] = [$k, tree($v)];
        return ['array', array_is_list($value), $items];
    }
    if (is_object($value)) return ['object', get_class($value), tree(get_object_vars($value))];
    if (is_float($value) && !is_finite($value)) return ['double', (string) $value];
    if (is_string($value) && preg_match('//u', $value) !== 1) return ['binary', base64_encode($value)];
    return [gettype($value), $value];
}

function http_status(SoapClient $client): ?int
{
    $headers = (string) $client->__getLastResponseHeaders();
    return preg_match('#^HTTP/\S+\s+(\d{3})#', $headers, $m) ? (int) $m[1] : null;
}

$wsdl = getenv('SOAP_TEST_WSDL');
$location = getenv('SOAP_TEST_LOCATION');
if (!$wsdl || !$location) {
    fwrite(STDERR, "SOAP_TEST_WSDL and SOAP_TEST_LOCATION must be set\n");
    exit(2);
}
$calls = json_decode((string) stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$style = getenv('SOAP_TEST_STYLE') ?: 'test';
$showRequest = getenv('SOAP_TEST_SHOW_REQUEST') === '1';

function new_client(string $style, string $wsdl, string $location, array $headers): SoapClient
{
    if ($style === 'clientexec') {
        return new SoapClient($wsdl, [
            'connection_timeout' => 30,
            'location' => $location,
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'stream_context' => stream_context_create(['http' => ['header' => implode("\r\n", ['Abort-On: error']) . "\r\n"]]),
        ]);
    }
    if ($style === 'whmcs') {
        $ip = (string) getenv('SOAP_TEST_FORWARDED_FOR');
        return new SoapClient($wsdl, [
            'connection_timeout' => 30,
            'location' => $location,
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'stream_context' => stream_context_create(['http' => ['header' => implode("\r\n", ['Abort-On: error', 'X-Forwarded-For: ' . $ip]) . "\r\n"]]),
        ]);
    }
    return new SoapClient($wsdl, [
        'location' => $location,
        'uri' => 'urn:apnscp.api.soap',
        'trace' => true,
        'exceptions' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'connection_timeout' => 10,
        'stream_context' => stream_context_create(['http' => ['header' => implode("\r\n", $headers)]]),
    ]);
}

$clients = [];
$out = [];
foreach ($calls as $call) {
    $headers = $call['headers'] ?? [];
    $key = json_encode($headers);
    try {
        $clients[$key] ??= new_client($style, $wsdl, $location, $headers);
        $client = $clients[$key];
        // ApisConnector::__call sets the session cookie, often to an empty session id, before each call.
        if ($style === 'whmcs') $client->__setCookie('esprit_id', (string) getenv('SOAP_TEST_ESPRIT_ID'));
        $result = $client->__soapCall($call['op'], array_map('php_arg', $call['args'] ?? []));
        $entry = ['ok' => true, 'value' => tree($result), 'export' => var_export($result, true), 'status' => http_status($client)];
        if ($showRequest) $entry['request_headers'] = (string) $client->__getLastRequestHeaders();
        $out[] = $entry;
    } catch (SoapFault $fault) {
        $entry = [
            'fault' => [
                'faultcode' => $fault->faultcode,
                'faultstring' => $fault->faultstring,
                'detail' => property_exists($fault, 'detail') ? tree($fault->detail) : null,
            ],
            'status' => isset($clients[$key]) ? http_status($clients[$key]) : null,
        ];
        if ($showRequest) $entry['request_headers'] = isset($clients[$key]) ? (string) $clients[$key]->__getLastRequestHeaders() : null;
        $out[] = $entry;
    }
}
echo json_encode($out, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
