import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { mayCall } from '@hookstream/contracts';
import { authenticate, httpStatusOf, methodOf, parseUsersFile, resolveStaticPath, tokenDigest } from '@hookstream/control';

const hex = (token: string) => tokenDigest(token).toString('hex');

describe('console pure parts', () => {
  it('console: a users file gives principals; each bad line is named', () => {
    const users = parseUsersFile(`# comment\n\nalice operator ${hex('a-token')}\r\nbob viewer ${hex('b-token').toUpperCase()}\n`);
    assert.deepEqual(
      users.map((u) => [u.user, u.role]),
      [
        ['alice', 'operator'],
        ['bob', 'viewer'],
      ],
    );
    assert.throws(() => parseUsersFile('alice root 00'), /line 1: role must be one of viewer, operator, admin/);
    assert.throws(() => parseUsersFile(`\nalice viewer abc`), /line 2: the token digest must be 64 hex digits/);
    assert.throws(() => parseUsersFile(`alice viewer ${hex('x')} extra`), /line 1: expected/);
    assert.throws(() => parseUsersFile(`al ice viewer`), /line 1/);
    assert.throws(() => parseUsersFile(`a viewer ${hex('x')}\na admin ${hex('y')}`), /line 2: user a appears twice/);
    assert.throws(() => parseUsersFile(`<script> viewer ${hex('x')}`), /line 1: user names/);
  });

  it('console: authenticate finds the principal of a Bearer token and nothing else', () => {
    const users = parseUsersFile(`alice operator ${hex('a-token')}\nbob viewer ${hex('b-token')}`);
    assert.equal(authenticate('Bearer a-token', users)?.user, 'alice');
    assert.equal(authenticate('bearer b-token', users)?.user, 'bob');
    assert.equal(authenticate('Bearer c-token', users), undefined);
    assert.equal(authenticate('a-token', users), undefined);
    assert.equal(authenticate('Basic YTpi', users), undefined);
    assert.equal(authenticate(undefined, users), undefined);
    assert.equal(authenticate('Bearer ', users), undefined);
  });

  it('console: viewers read, operators also replay/purge/toggle, admins do anything', () => {
    for (const read of ['getEvent', 'listDeadLetters', 'listEndpoints', 'stats', 'statsSeries', 'endpointHealth', 'getSource']) {
      assert.equal(mayCall('viewer', read), true, read);
    }
    for (const op of ['replayDeadLetters', 'purgeDeadLetters', 'replayToEndpoint', 'setEndpointEnabled']) {
      assert.equal(mayCall('viewer', op), false, op);
      assert.equal(mayCall('operator', op), true, op);
    }
    for (const admin of ['createSource', 'updateEndpoint', 'deleteSchema', 'rotateSourceSecret', 'createEndpoint']) {
      assert.equal(mayCall('operator', admin), false, admin);
      assert.equal(mayCall('admin', admin), true, admin);
    }
    assert.equal(mayCall('viewer', 'getaway'), false, 'a prefix alone is not a read');
  });

  it('console: URL method names map to handler keys only for real RPCs; gRPC codes map to HTTP statuses', () => {
    assert.equal(methodOf('ListEndpoints'), 'listEndpoints');
    assert.equal(methodOf('EndpointHealth'), 'endpointHealth');
    for (const bad of ['listEndpoints', 'Constructor', 'ToString', 'HasOwnProperty', '__proto__', '', 'List-Endpoints']) {
      assert.equal(methodOf(bad), undefined, bad);
    }
    assert.equal(httpStatusOf(status.INVALID_ARGUMENT), 400);
    assert.equal(httpStatusOf(status.NOT_FOUND), 404);
    assert.equal(httpStatusOf(status.FAILED_PRECONDITION), 412);
    assert.equal(httpStatusOf(status.UNIMPLEMENTED), 501);
    assert.equal(httpStatusOf(status.INTERNAL), 500);
  });

  it('console: static paths stay inside the root', () => {
    assert.equal(resolveStaticPath('/srv/dist', '/'), '/srv/dist/index.html');
    assert.equal(resolveStaticPath('/srv/dist/', '/app.js'), '/srv/dist/app.js');
    assert.equal(resolveStaticPath('/srv/dist', '/assets/a.css'), '/srv/dist/assets/a.css');
    for (const bad of ['/../etc/passwd', '/%2e%2e/x', '/a/../../x', '/.git/config', '/a//b', '/a\\b', '/a%00', '/%E0%A4%A', 'app.js']) {
      assert.equal(resolveStaticPath('/srv/dist', bad), undefined, bad);
    }
  });
});
