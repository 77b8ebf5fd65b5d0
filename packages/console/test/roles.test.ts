import assert from 'node:assert/strict';
import { it } from 'node:test';
import { can } from '../web/roles.ts';

it('viewers read, operators replay and toggle, admins do everything', () => {
  assert.equal(can('viewer', 'read'), true);
  assert.equal(can('viewer', 'replay'), false);
  assert.equal(can('operator', 'replay'), true);
  assert.equal(can('operator', 'toggle-endpoint'), true);
  assert.equal(can('operator', 'admin'), false);
  assert.equal(can('admin', 'admin'), true);
  assert.equal(can(undefined, 'read'), false);
});
