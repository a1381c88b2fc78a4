import { channelUser, ChannelWorkers, MAX_WORKER_LABEL, RigChannelSlots, rigOwnsChannel, workerLabel, workerName } from './worker-names.js';

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

describe('rigs with a channel of their own (SV2 pools with rig worker names)', () => {
  const sv2Rig = { protocol: 'sv2', workerNames: 'rig' } as const;

  it('opens a rig its own channel only on an SV2 pool that names rigs', () => {
    expect(rigOwnsChannel(sv2Rig)).toBe(true);
    expect(rigOwnsChannel({ protocol: 'sv2', workerNames: 'account' })).toBe(false);
    expect(rigOwnsChannel({ protocol: 'sv1', workerNames: 'rig' })).toBe(false);
    expect(channelUser(sv2Rig, 'farm.main', 'rig7')).toBe('farm.rig7');
    expect(channelUser(sv2Rig, 'farm', null)).toBe('farm');
    expect(channelUser({ protocol: 'sv1', workerNames: 'rig' }, 'farm', 'rig7')).toBe('farm');
  });

  it('bounds the rigs of a name, shares a rig between its miners and frees it when the last leaves', () => {
    const slots = new RigChannelSlots<string>(2);
    expect(slots.take('m1', 'name', 'a')).toBe('a');
    expect(slots.take('m2', 'name', 'a')).toBe('a');
    expect(slots.take('m3', 'name', 'b')).toBe('b');
    // A third rig of the name is past the bound; another name has its own.
    expect(slots.take('m4', 'name', 'c')).toBeNull();
    expect(slots.take('m5', 'other', 'c')).toBe('c');
    expect(slots.count('name')).toBe(2);
    slots.release('m1');
    expect(slots.count('name')).toBe(2);
    slots.release('m2');
    expect(slots.count('name')).toBe(1);
    expect(slots.take('m4', 'name', 'c')).toBe('c');
    // Taking again with another rig gives up the first.
    expect(slots.take('m3', 'name', 'd')).toBe('d');
    expect(slots.count('name')).toBe(2);
    slots.release('m3');
    slots.release('m4');
    slots.release('m5');
    expect(slots.count('name')).toBe(0);
    expect(slots.count('other')).toBe(0);
  });
});
