import assert from 'node:assert/strict';
import { it } from 'node:test';
import { can } from '../web/roles.ts';

it('viewers read, operators replay and toggle, admins do everything', () => {
  assert.equal(can('viewer', 'getEvent'), true);
  assert.equal(can('viewer', 'replayToEndpoint'), false);
  assert.equal(can('operator', 'replayToEndpoint'), true);
  assert.equal(can('operator', 'replayDeadLetters'), true);
  assert.equal(can('operator', 'setEndpointEnabled'), true);
  assert.equal(can('operator', 'createEndpoint'), false);
  assert.equal(can('admin', 'createEndpoint'), true);
  assert.equal(can(undefined, 'getEvent'), false);
});
