import { ChannelWorkers, MAX_WORKER_LABEL, workerLabel, workerName } from './worker-names.js';

describe('worker names', () => {
  it('keeps the characters pools accept and replaces the rest', () => {
    expect(workerLabel('rig12')).toBe('rig12');
    expect(workerLabel('rack-3_b')).toBe('rack-3_b');
    expect(workerLabel('s19 #4.a')).toBe('s19__4_a');
    expect(workerLabel('x'.repeat(100))).toHaveLength(MAX_WORKER_LABEL);
    expect(workerLabel('...')).toBeNull();
    expect(workerLabel('')).toBeNull();
    expect(workerLabel(null)).toBeNull();
  });

  it('puts the rig after the account, replacing a worker part the account user has', () => {
    expect(workerName('farm', 'rig12')).toBe('farm.rig12');
    expect(workerName('farm.default', 'rig12')).toBe('farm.rig12');
  });

  it('counts members per rig, bounds the rigs and remembers refusals per account', () => {
    const workers = new ChannelWorkers<string>(2);
    expect(workers.join('a', 'rig1')?.created).toBe(true);
    expect(workers.join('b', 'rig1')?.created).toBe(false);
    expect(workers.join('c', 'rig2')?.created).toBe(true);
    expect(workers.join('d', 'rig3')).toBeNull();
    expect(workers.join('e', null)).toBeNull();
    const rig1 = workers.join('a', 'rig1')!.worker;
    expect(workers.nameOf('a')).toBeUndefined();
    rig1.name = 'farm.rig1';
    rig1.authorized = true;
    expect(workers.nameOf('b')).toBe('farm.rig1');
    workers.reset();
    expect(workers.nameOf('b')).toBeUndefined();
    workers.leave('a');
    workers.leave('b');
    expect(workers.size).toBe(1);
    expect(workers.join('d', 'rig3')?.created).toBe(true);
    workers.refuse(0, 'rig3');
    expect(workers.isRefused(0, 'rig3')).toBe(true);
    expect(workers.isRefused(1, 'rig3')).toBe(false);
  });
});
