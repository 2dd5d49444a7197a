// Integration tests: the reference docs stay in step with the error registry and the reason set.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../src/core/errors.js';
import { REASONS } from '../src/core/reasons.js';
import { ROOT } from './helpers.js';

function tableRows(file: string): string[][] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('reference docs', () => {
  it('docs/reference/errors.md lists every error code with its exit code, HTTP status and summary', () => {
    const rows = tableRows('docs/reference/errors.md');
    assert.deepEqual(rows.map((r) => r[0]), Object.keys(ERROR_CODES));
    for (const [code, exit, http, summary] of rows) {
      const spec = ERROR_CODES[code as keyof typeof ERROR_CODES];
      assert.equal(Number(exit), spec.exitCode, code);
      assert.equal(Number(http), spec.httpStatus, code);
      assert.equal(summary, spec.summary, code);
    }
  });
  it('docs/reference/reasons.md lists every reason with its explanation', () => {
    const rows = tableRows('docs/reference/reasons.md');
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r[0], r[1]])), REASONS);
  });
});
