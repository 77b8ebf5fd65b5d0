import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CIRCUIT_STATES, HOOKSTREAM_VERSION, metrics, renderMetrics, reportDlqDepth, setCircuitState } from '../src/metrics.ts';

describe('metrics', () => {
  it('metrics: a circuit is one series per state, 1 for its state and 0 for the others', async () => {
    setCircuitState('m-ep', 'open');
    let text = await renderMetrics();
    for (const s of CIRCUIT_STATES) {
      assert.match(text, new RegExp(`^hookstream_circuit_state\\{endpoint="m-ep",state="${s}"\\} ${s === 'open' ? 1 : 0}$`, 'm'));
    }
    setCircuitState('m-ep', 'half-open');
    text = await renderMetrics();
    assert.match(text, /^hookstream_circuit_state\{endpoint="m-ep",state="open"\} 0$/m);
    assert.match(text, /^hookstream_circuit_state\{endpoint="m-ep",state="half-open"\} 1$/m);
  });

  it('metrics: hookstream_dlq_messages exists only while a reporter is registered, and reads its value at scrape time', async () => {
    assert.doesNotMatch(await renderMetrics(), /hookstream_dlq_messages/);
    let depth = 3;
    const remove = reportDlqDepth(async () => depth);
    assert.match(await renderMetrics(), /^hookstream_dlq_messages 3$/m);
    depth = 5;
    assert.match(await renderMetrics(), /^hookstream_dlq_messages 5$/m);
    remove();
    assert.doesNotMatch(await renderMetrics(), /hookstream_dlq_messages/);
  });

  it('metrics: the delivery duration histogram has webhook buckets from 5 ms to 30 s; the version is semver', async () => {
    metrics.deliveryDuration.observe({ endpoint: 'm-ep', outcome: 'success' }, 0.2);
    const text = await renderMetrics();
    const les = [
      ...text.matchAll(/^hookstream_delivery_duration_seconds_bucket\{le="([^"]+)",endpoint="m-ep",outcome="success"\} \d+$/gm),
    ].map((m) => m[1]);
    assert.deepEqual(les, ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '+Inf']);
    assert.match(HOOKSTREAM_VERSION, /^\d+\.\d+\.\d+/);
  });
});
