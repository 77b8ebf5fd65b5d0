import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveStaticPath } from '../../src/console/static-files.ts';

describe('console: static files', () => {
  it('console: static paths stay inside the root', () => {
    assert.equal(resolveStaticPath('/srv/dist', '/'), '/srv/dist/index.html');
    assert.equal(resolveStaticPath('/srv/dist/', '/app.js'), '/srv/dist/app.js');
    assert.equal(resolveStaticPath('/srv/dist', '/assets/a.css'), '/srv/dist/assets/a.css');
    for (const bad of ['/../etc/passwd', '/%2e%2e/x', '/a/../../x', '/.git/config', '/a//b', '/a\\b', '/a%00', '/%E0%A4%A', 'app.js']) {
      assert.equal(resolveStaticPath('/srv/dist', bad), undefined, bad);
    }
  });
});
