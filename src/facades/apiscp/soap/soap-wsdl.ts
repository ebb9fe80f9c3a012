/**
 * The WSDL of ApisCP's remote API: rpc/encoded, namespace urn:apnscp.api.soap, every part and every
 * return typed xsd:anyType. PHP's SoapClient needs each operation listed (it refuses, without sending
 * anything, to call one the WSDL lacks) and, with anyType parts, keeps the type of every value it sends
 * (maps, lists, null, ints, booleans) — a document/literal WSDL would flatten them all to strings.
 */

export const APNSCP_NAMESPACE = 'urn:apnscp.api.soap';

export interface SoapOperation {
  /** `module_function`, e.g. `admin_collect`. */
  name: string;
  /** Parameter names in call order; only their order matters to rpc/encoded callers. */
  params: string[];
}

// WSDL names are NCNames; this stricter ASCII form is all ApisCP's functions and parameters use.
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"'\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The service address: `<publicUrl>/soap`, whatever trailing slashes the configured URL has. */
export function soapEndpointUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/soap`;
}

/**
 * Builds the WSDL document. Throws on an operation or parameter name that is not a valid XML name,
 * or on a duplicate operation: both are programming errors, caught at start-up.
 */
export function buildWsdl(operations: readonly SoapOperation[], publicUrl: string): string {
  const seen = new Set<string>();
  for (const op of operations) {
    if (!NAME.test(op.name)) throw new Error(`invalid SOAP operation name: ${JSON.stringify(op.name)}`);
    if (seen.has(op.name)) throw new Error(`duplicate SOAP operation: ${op.name}`);
    seen.add(op.name);
    const params = new Set<string>();
    for (const p of op.params) {
      if (!NAME.test(p) || p === 'return') throw new Error(`invalid parameter name ${JSON.stringify(p)} in SOAP operation ${op.name}`);
      if (params.has(p)) throw new Error(`duplicate parameter ${p} in SOAP operation ${op.name}`);
      params.add(p);
    }
  }

  const body = 'use="encoded" namespace="urn:apnscp.api.soap" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"';
  const out: string[] = [];
  out.push(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<definitions name="apnscp" targetNamespace="urn:apnscp.api.soap"',
    '  xmlns="http://schemas.xmlsoap.org/wsdl/"',
    '  xmlns:tns="urn:apnscp.api.soap"',
    '  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"',
    '  xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"',
    '  xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
  );
  for (const op of operations) {
    out.push(`  <message name="${op.name}Request">`);
    for (const p of op.params) out.push(`    <part name="${p}" type="xsd:anyType"/>`);
    out.push('  </message>', `  <message name="${op.name}Response">`, '    <part name="return" type="xsd:anyType"/>', '  </message>');
  }
  out.push('  <portType name="apnscpPortType">');
  for (const op of operations) {
    const order = op.params.length > 0 ? ` parameterOrder="${op.params.join(' ')}"` : '';
    out.push(
      `    <operation name="${op.name}"${order}>`,
      `      <input message="tns:${op.name}Request"/>`,
      `      <output message="tns:${op.name}Response"/>`,
      '    </operation>',
    );
  }
  out.push(
    '  </portType>',
    '  <binding name="apnscpBinding" type="tns:apnscpPortType">',
    '    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>',
  );
  for (const op of operations) {
    out.push(
      `    <operation name="${op.name}">`,
      `      <soap:operation soapAction="${APNSCP_NAMESPACE}#${op.name}" style="rpc"/>`,
      `      <input><soap:body ${body}/></input>`,
      `      <output><soap:body ${body}/></output>`,
      '    </operation>',
    );
  }
  out.push(
    '  </binding>',
    '  <service name="apnscp">',
    '    <port name="apnscpPort" binding="tns:apnscpBinding">',
    `      <soap:address location="${escapeAttribute(soapEndpointUrl(publicUrl))}"/>`,
    '    </port>',
    '  </service>',
    '</definitions>',
    '',
  );
  return out.join('\n');
}
