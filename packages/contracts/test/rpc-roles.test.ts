import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRead, mayCall, ROLES, RPC_ROLES } from '@hookstream/contracts';
import { isRpcName } from '../src/rpc-roles.ts';

describe('rpc roles', () => {
  it('rpc roles: viewers read, operators also replay/purge/toggle, admins do anything', () => {
    for (const read of [
      'getEvent',
      'findEvents',
      'listEvents',
      'listDeadLetters',
      'listEndpoints',
      'stats',
      'statsSeries',
      'endpointHealth',
      'sourceHealth',
      'getSource',
      'checkFilter',
    ]) {
      assert.equal(mayCall('viewer', read), true, read);
      assert.equal(isRead(read), true, read);
    }
    for (const op of ['replayDeadLetters', 'purgeDeadLetters', 'replayToEndpoint', 'setEndpointEnabled', 'sendTestEvent']) {
      assert.equal(mayCall('viewer', op), false, op);
      assert.equal(mayCall('operator', op), true, op);
      assert.equal(isRead(op), false, op);
    }
    for (const admin of ['createSource', 'updateEndpoint', 'deleteSchema', 'rotateSourceSecret', 'createEndpoint']) {
      assert.equal(mayCall('operator', admin), false, admin);
      assert.equal(mayCall('admin', admin), true, admin);
    }
  });

  it('rpc roles: a name that is not an RPC is no read and only admins may call it', () => {
    for (const bad of ['getaway', 'toString', '__proto__', 'constructor', '']) {
      assert.equal(isRpcName(bad), false, bad);
      assert.equal(isRead(bad), false, bad);
      assert.equal(mayCall('operator', bad), false, bad);
    }
  });

  it('rpc roles: every RPC names a role, and roles are ordered least first', () => {
    assert.deepEqual(ROLES, ['viewer', 'operator', 'admin']);
    assert.equal(Object.keys(RPC_ROLES).length, 34);
    for (const role of Object.values(RPC_ROLES)) assert.ok(ROLES.includes(role), role);
  });
});
