import { MAX_RIG_LABEL_LENGTH, OVERFLOW_RIG, RigPlaces, trimRigLabel } from './rig-places.js';

describe('RigPlaces', () => {
  it('gives each user at most its cap of labels, then the overflow rig', () => {
    const places = new RigPlaces(2);
    for (const rig of ['a', 'b']) {
      expect(places.place('u', rig)).toEqual({ label: rig, overflowed: false });
      places.hold('u', rig);
    }
    expect(places.place('u', 'c')).toEqual({ label: OVERFLOW_RIG, overflowed: true });
    // Labels that hold a place keep it, and another user has places of its own.
    expect(places.place('u', 'a')).toEqual({ label: 'a', overflowed: false });
    expect(places.place('v', 'c')).toEqual({ label: 'c', overflowed: false });
  });

  it('frees a place when the last group of its label goes', () => {
    const places = new RigPlaces(1);
    places.hold('u', 'a');
    places.hold('u', 'a'); // the same rig on a second pool
    places.release('u', 'a');
    expect(places.place('u', 'b').overflowed).toBe(true);
    places.release('u', 'a');
    expect(places.held('u')).toBe(0);
    expect(places.place('u', 'b')).toEqual({ label: 'b', overflowed: false });
  });

  it('lets a real rig named like the overflow rig share it without taking a place or overflowing', () => {
    const places = new RigPlaces(1);
    places.hold('u', 'a');
    places.hold('u', OVERFLOW_RIG);
    expect(places.held('u')).toBe(1);
    expect(places.place('u', OVERFLOW_RIG)).toEqual({ label: OVERFLOW_RIG, overflowed: false });
  });

  it('says once per user that it overflowed, again only after all its places were freed', () => {
    const places = new RigPlaces(1);
    places.hold('u', 'a');
    expect(places.firstOverflow('u')).toBe(true);
    expect(places.firstOverflow('u')).toBe(false);
    places.release('u', 'a');
    places.hold('u', 'b');
    expect(places.firstOverflow('u')).toBe(true);
  });

  it('cuts labels to the longest kept, trimmed before the cap is applied', () => {
    const long = 'x'.repeat(240);
    expect(trimRigLabel(long)).toBe('x'.repeat(MAX_RIG_LABEL_LENGTH));
    expect(trimRigLabel('rig1')).toBe('rig1');
    const places = new RigPlaces(1);
    places.hold('u', trimRigLabel(long));
    expect(places.place('u', `${long}y`)).toEqual({ label: 'x'.repeat(MAX_RIG_LABEL_LENGTH), overflowed: false });
  });

  it('never cuts a character in two', () => {
    const label = `${'x'.repeat(MAX_RIG_LABEL_LENGTH - 1)}\u{1F600}tail`;
    expect(trimRigLabel(label)).toBe('x'.repeat(MAX_RIG_LABEL_LENGTH - 1));
    expect(Buffer.from(trimRigLabel(label)).toString()).toBe(trimRigLabel(label));
  });
});
