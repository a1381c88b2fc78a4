import { NTIME_MAX_AHEAD_SECONDS, ntimeOutOfRange } from './ntime.js';

const hex = (seconds: number) => seconds.toString(16).padStart(8, '0');
const JOB = 0x65000000;

describe('ntimeOutOfRange', () => {
  it("accepts the job's own ntime and anything up to the margin past the pool's time", () => {
    expect(ntimeOutOfRange(hex(JOB), hex(JOB), 0)).toBeNull();
    expect(ntimeOutOfRange(hex(JOB + 30), hex(JOB), 0)).toBeNull();
    expect(ntimeOutOfRange(hex(JOB + NTIME_MAX_AHEAD_SECONDS), hex(JOB), 0)).toBeNull();
    // The pool's clock moved on since the job arrived: so does the bound.
    expect(ntimeOutOfRange(hex(JOB + NTIME_MAX_AHEAD_SECONDS + 60), hex(JOB), 60.9)).toBeNull();
  });

  it("refuses an ntime before the job's", () => {
    expect(ntimeOutOfRange(hex(JOB - 1), hex(JOB), 0)).toBe(`ntime out of range: ${hex(JOB - 1)} is before the job's ntime ${hex(JOB)}`);
  });

  it('refuses an ntime past the margin: 7,300 s and 10^6 s ahead', () => {
    for (const ahead of [NTIME_MAX_AHEAD_SECONDS + 1, 7300, 1_000_000])
      expect(ntimeOutOfRange(hex(JOB + ahead), hex(JOB), 0)).toMatch(/^ntime out of range: .* past the pool's time$/);
    expect(ntimeOutOfRange(hex(JOB + NTIME_MAX_AHEAD_SECONDS + 61), hex(JOB), 60)).not.toBeNull();
  });

  it('compares as unsigned 32-bit values, upper-case hex too', () => {
    expect(ntimeOutOfRange('FFFFFFFF', 'fffff000', 0)).toBeNull();
    expect(ntimeOutOfRange('00000001', 'fffff000', 0)).not.toBeNull();
    // A clock that went backwards gives no extra room, and no less.
    expect(ntimeOutOfRange(hex(JOB + 10), hex(JOB), -50)).toBeNull();
  });
});
