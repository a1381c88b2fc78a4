import { describe, expect, it } from 'vitest';
import { RESUME_SILENCE_MS, resumeVerdict } from './resume-policy.js';
import { publicSessionTag } from './session-tag.js';

const now = 1_000_000;
const live = { remoteAddress: '10.0.0.5', lastUsefulAt: now - 1000, peerEnded: false };

describe('resumeVerdict', () => {
  it('resumes a session whose connection is gone or whose peer closed its side', () => {
    expect(resumeVerdict(null, '10.0.0.9', now)).toBe('resume');
    expect(resumeVerdict({ ...live, peerEnded: true }, '10.0.0.9', now)).toBe('resume');
  });

  it('never takes a live, active session, from any address', () => {
    expect(resumeVerdict(live, '10.0.0.9', now)).toBe('live-elsewhere');
    expect(resumeVerdict(live, '10.0.0.5', now)).toBe('live-elsewhere');
  });

  it('lets the same address take over a connection silent for the threshold (a half-open socket)', () => {
    const silent = { ...live, lastUsefulAt: now - RESUME_SILENCE_MS };
    expect(resumeVerdict(silent, '10.0.0.5', now)).toBe('resume');
    expect(resumeVerdict(silent, '10.0.0.9', now)).toBe('live-elsewhere');
    expect(resumeVerdict({ ...silent, lastUsefulAt: now - RESUME_SILENCE_MS + 1 }, '10.0.0.5', now)).toBe('live-elsewhere');
  });
});

describe('publicSessionTag', () => {
  it('is stable per id, differs between ids and does not contain the id', () => {
    expect(publicSessionTag('0a1b2c3d')).toBe(publicSessionTag('0a1b2c3d'));
    expect(publicSessionTag('0a1b2c3d')).not.toBe(publicSessionTag('0a1b2c3e'));
    expect(publicSessionTag('0a1b2c3d')).toMatch(/^[0-9a-f]{8}$/);
    expect(publicSessionTag('0a1b2c3d')).not.toContain('0a1b2c3d');
  });
});
