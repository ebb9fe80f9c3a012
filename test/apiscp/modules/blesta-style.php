<?php
// Calls as other billing systems' ApisCP modules make them (Blesta, HostBill, WISECP style): the same
// SOAP functions the WHMCS and Clientexec modules use, with positional arguments passed either as plain
// PHP arrays and scalars or wrapped in SoapVar (maps as SOAP_ENC_OBJECT structs or APACHE_MAP, scalars as
// typed xsd values). Loaded by runner.php; the one step is `calls`:
// {endpoint, key, calls: [{op, args, wrap: plain|object|map|scalars}]} → one outcome per call,
// {ok: value} or {fault: {code, message}}, all through one SoapClient.

declare(strict_types=1);

final class GenericApisClient extends SoapClient
{
    use RecordsWire;

    public static function connect(string $endpoint, string $apiKey): self
    {
        $options = [
            'location' => $endpoint . '/soap?authkey=' . rawurlencode($apiKey),
            'uri' => 'urn:apnscp.api.soap',
            'trace' => true,
            'connection_timeout' => 30,
            'cache_wsdl' => WSDL_CACHE_NONE,
            'stream_context' => stream_context_create(['http' => ['header' => "Abort-On: error\r\n"]]),
        ];
        Wire::client($endpoint . '/apnscp.wsdl', $options);
        return new self($endpoint . '/apnscp.wsdl', $options);
    }
}

function is_map(array $a): bool
{
    return $a !== [] && !array_is_list($a);
}

function wrap_scalar(mixed $v): mixed
{
    return match (true) {
        is_bool($v) => new SoapVar($v, XSD_BOOLEAN),
        is_int($v) => new SoapVar($v, XSD_INT),
        is_float($v) => new SoapVar($v, XSD_FLOAT),
        is_string($v) => new SoapVar($v, XSD_STRING),
        default => $v,
    };
}

/** One argument as the chosen style passes it. */
function wrap_arg(mixed $arg, string $wrap): mixed
{
    if ($wrap === 'plain') return $arg;
    if ($wrap === 'scalars') {
        if (is_array($arg)) return array_map(fn ($v) => is_array($v) ? wrap_arg($v, 'scalars') : wrap_scalar($v), $arg);
        return wrap_scalar($arg);
    }
    if (!is_array($arg) || !is_map($arg)) return $arg;
    if ($wrap === 'object') return new SoapVar($arg, SOAP_ENC_OBJECT);
    if ($wrap === 'map') return new SoapVar($arg, APACHE_MAP);
    throw new InvalidArgumentException("unknown wrap $wrap");
}

function blesta_calls(array $input): array
{
    $client = GenericApisClient::connect((string) $input['endpoint'], (string) $input['key']);
    $out = [];
    foreach ($input['calls'] as $call) {
        $args = array_map(fn ($a) => wrap_arg($a, $call['wrap'] ?? 'plain'), $call['args'] ?? []);
        try {
            $out[] = ['ok' => $client->__soapCall($call['op'], $args)];
        } catch (SoapFault $f) {
            $out[] = ['fault' => ['code' => $f->faultcode, 'message' => $f->faultstring]];
        }
    }
    return $out;
}

function run_step(string $step, array $input): mixed
{
    if ($step !== 'calls') throw new InvalidArgumentException("no step $step");
    return blesta_calls($input);
}
