import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayCall } from '@hookstream/contracts';
import { tokenDigest } from '@hookstream/control';
import { authenticate, parseUsersFile } from '../../src/console/users.ts';

const hex = (token: string) => tokenDigest(token).toString('hex');

describe('console: users and roles', () => {
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
});
