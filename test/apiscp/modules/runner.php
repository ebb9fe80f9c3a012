<?php
// Runs one step of a billing module model (whmcs-model.php, clientexec-model.php, blesta-style.php)
// and prints, as JSON, what the step returned and every HTTP request PHP's SoapClient sent for it.
//
// Usage: php runner.php < {"model": "whmcs", "step": "CreateAccount", "input": {...}}
// Output: {"return": TYPED, "wire": [...], "clients": [...], "resends": n, "warnings": [...]}
// TYPED keeps PHP's types so the test can tell 0 from null and an int from a float:
// ["NULL"], ["boolean", b], ["integer", n], ["double", x], ["string", s], ["array", [[key, TYPED]...]],
// ["object", class, TYPED of its properties].

declare(strict_types=1);

/** Everything the models sent, filled in as they go. */
final class Wire
{
    /** @var list<array<string, mixed>> one entry per SOAP request */
    public static array $requests = [];
    /** @var list<array<string, mixed>> one entry per SoapClient built: its WSDL URL and constructor options */
    public static array $clients = [];
    /** Calls sent again because the answer was NULL (WHMCS's connector does that up to 5 times). */
    public static int $resends = 0;

    /** Called by a model's connector when it builds a SoapClient, with the options it passed. */
    public static function client(string $wsdl, array $options): void
    {
        $context = isset($options['stream_context']) ? stream_context_get_options($options['stream_context']) : null;
        unset($options['stream_context']);
        self::$clients[] = ['wsdl' => $wsdl, 'options' => $options, 'stream_context' => $context];
    }
}

/**
 * Mixed into each model's SoapClient subclass: records the request as it went out. Overriding
 * __doRequest only observes; PHP still builds and sends the request itself.
 */
trait RecordsWire
{
    public function __doRequest(string $request, string $location, string $action, int $version, bool $oneWay = false): ?string
    {
        $response = parent::__doRequest($request, $location, $action, $version, $oneWay);
        $status = preg_match('#^HTTP/\S+\s+(\d{3})#', (string) $this->__getLastResponseHeaders(), $m) ? (int) $m[1] : null;
        Wire::$requests[] = [
            'location' => $location,
            'action' => $action,
            'headers' => (string) $this->__getLastRequestHeaders(),
            'body' => $request,
            'status' => $status,
            'response' => $response,
        ];
        return $response;
    }
}

function typed(mixed $value): array
{
    if (is_array($value)) {
        $items = [];
        foreach ($value as $k => $v) $items[] = [$k, typed($v)];
        return ['array', $items];
    }
    if (is_object($value)) return ['object', get_class($value), typed(get_object_vars($value))];
    if ($value === null) return ['NULL'];
    if (is_float($value) && !is_finite($value)) return ['double', (string) $value];
    return [gettype($value), $value];
}

$warnings = [];
set_error_handler(function (int $no, string $message, string $file, int $line) use (&$warnings): bool {
    // Notices and warnings in a model mean it read something the server did not send (an undefined key, a
    // division of null): the test fails on them.
    if ($no & (E_WARNING | E_NOTICE | E_USER_WARNING | E_USER_NOTICE)) {
        $warnings[] = basename($file) . ":$line: $message";
        return true;
    }
    // Deprecations stay out of stdout, which carries the JSON answer.
    return true;
});
ini_set('display_errors', 'stderr');

$job = json_decode((string) stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$models = ['whmcs' => 'whmcs-model.php', 'clientexec' => 'clientexec-model.php', 'blesta' => 'blesta-style.php'];
if (!isset($models[$job['model'] ?? ''])) {
    fwrite(STDERR, "unknown model\n");
    exit(2);
}
require __DIR__ . '/' . $models[$job['model']];

$out = ['return' => null, 'exception' => null];
try {
    $out['return'] = typed(run_step((string) $job['step'], $job['input'] ?? []));
} catch (Throwable $e) {
    // A model lets through only what the real module lets through (Clientexec's CE_Exception, a failed
    // WHMCS UsageUpdate): report it as the billing system would see it.
    $out['exception'] = ['class' => get_class($e), 'message' => $e->getMessage()];
}
$out['wire'] = Wire::$requests;
$out['clients'] = Wire::$clients;
$out['resends'] = Wire::$resends;
$out['warnings'] = $warnings;
echo json_encode($out, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
