import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progress } from '../src/progress.ts';

describe('hs: progress of long calls', () => {
  it('hs progress: not on a terminal nothing is drawn', async () => {
    let written = '';
    const value = await progress('replaying', Promise.resolve(7), { out: { write: (t: string) => (written += t) }, enabled: false });
    assert.equal(value, 7);
    assert.equal(written, '');
  });

  it('hs progress: on a terminal the label and elapsed seconds are redrawn until the call settles, then erased', async () => {
    // Scenario: the clock advances a second per draw; the call settles once three lines were drawn.
    let clock = 0;
    const lines: string[] = [];
    let settle: (v: string) => void = () => {};
    const work = new Promise<string>((resolve) => {
      settle = resolve;
    });
    const out = {
      write: (text: string) => {
        lines.push(text);
        if (lines.length === 3) settle('done');
      },
    };
    const value = await progress('replaying to endpoint rp', work, {
      out,
      enabled: true,
      intervalMs: 5,
      now: () => {
        const at = clock;
        clock += 1000;
        return at;
      },
    });
    assert.equal(value, 'done');
    assert.deepEqual(lines, [
      '\r\x1b[2Khs: replaying to endpoint rp… 1s',
      '\r\x1b[2Khs: replaying to endpoint rp… 2s',
      '\r\x1b[2Khs: replaying to endpoint rp… 3s',
      '\r\x1b[2K',
    ]);
  });

  it('hs progress: a failed call still erases the line and rejects with its error', async () => {
    let written = '';
    await assert.rejects(
      progress('replaying', Promise.reject(new Error('UNAVAILABLE')), { out: { write: (t: string) => (written += t) }, enabled: true }),
      /UNAVAILABLE/,
    );
    assert.ok(written.endsWith('\r\x1b[2K'));
  });
});
