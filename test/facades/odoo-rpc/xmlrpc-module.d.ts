// The npm `xmlrpc` package (under odoo-await and odoo-xmlrpc-ts) ships no types; the tests use its
// request serializer to see what those clients send.
declare module 'xmlrpc/lib/serializer.js' {
  const serializer: { serializeMethodCall(method: string, params?: unknown[], encoding?: string): string };
  export default serializer;
}
