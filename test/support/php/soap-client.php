<?php
// Drives Hostplane's SOAP door with PHP's own SoapClient, the way ApisCP billing modules do, and prints
// what PHP made of each answer as JSON on stdout.
//
// Input: SOAP_TEST_WSDL (URL of the WSDL) and SOAP_TEST_LOCATION (endpoint URL, with ?authkey=) in the
// environment; on stdin a JSON list of calls: {"op": "...", "args": [...], "headers": ["Abort-On: error"]}.
// In args, {"__object__": {...}} is a stdClass (add "__ref__": "name" to pass the same object again),
// {"__int__": "9223372036854775807"} an integer JSON cannot carry. Calls with the same headers share one
// SoapClient (and its keep-alive connection).
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

$clients = [];
$out = [];
foreach ($calls as $call) {
    $headers = $call['headers'] ?? [];
    $key = json_encode($headers);
    try {
        $clients[$key] ??= new SoapClient($wsdl, [
            'location' => $location,
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'exceptions' => true,
            'cache_wsdl' => WSDL_CACHE_NONE,
            'connection_timeout' => 10,
            'stream_context' => stream_context_create(['http' => ['header' => implode("\r\n", $headers)]]),
        ]);
        $client = $clients[$key];
        $result = $client->__soapCall($call['op'], array_map('php_arg', $call['args'] ?? []));
        $out[] = ['ok' => true, 'value' => tree($result), 'export' => var_export($result, true), 'status' => http_status($client)];
    } catch (SoapFault $fault) {
        $out[] = [
            'fault' => [
                'faultcode' => $fault->faultcode,
                'faultstring' => $fault->faultstring,
                'detail' => property_exists($fault, 'detail') ? tree($fault->detail) : null,
            ],
            'status' => isset($clients[$key]) ? http_status($clients[$key]) : null,
        ];
    }
}
echo json_encode($out, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
