import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { documentProblems, operationProblems, type OpenApiDocument } from './openapi-complete.checker.js';

// Every operation of /openapi.json must be usable from the document alone: what it is (summary),
// what it takes (a request body schema with an example, unless it declares it takes none), what it
// answers (a success schema with an example, or an explicit no-content answer) and how it fails
// (error statuses with schemas). Every example must be valid against the schema it illustrates.

let t: TestApp;
let doc: OpenApiDocument;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
});
afterAll(() => t.close());

describe('/openapi.json documents every operation', () => {
  it('is an OpenAPI 3.1 document with operations', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(50);
  });

  it('every operation has a summary, request and response schemas, error responses and valid examples', () => {
    const problems = documentProblems(doc);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the checker catches what it is meant to catch', () => {
    // A document missing everything is reported for each missing part; a wrong example is named.
    const bare = operationProblems('post', '/x/{id}', { responses: { '200': { content: { 'application/json': { schema: { type: 'object' } } } } } });
    expect(bare).toEqual(expect.arrayContaining([
      'no summary',
      expect.stringMatching(/^no requestBody schema/),
      'path parameter id has no schema',
      'response 200 application/json: no example',
      'no error response (4xx/5xx)',
    ]));
    const wrong = operationProblems('get', '/x', {
      summary: 's',
      responses: {
        '200': { content: { 'application/json': { schema: { type: 'object', properties: { n: { type: 'integer', examples: ['seven'] } }, required: ['n'] }, example: { n: 'x' } } } },
        '404': { content: { 'application/json': { schema: { type: 'object' } } } },
      },
    });
    expect(wrong).toEqual([
      expect.stringMatching(/^response 200 application\/json: example does not match its schema/),
      expect.stringMatching(/^response 200 application\/json schema\.properties\.n: example "seven" does not match/),
    ]);
    const fine = operationProblems('delete', '/x', { summary: 's', responses: { '204': {}, '404': { content: { 'application/json': { schema: { type: 'object' } } } } } });
    expect(fine).toEqual([]);
  });
});
