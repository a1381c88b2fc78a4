import fc from 'fast-check';
import { Sv2DecodeError, Sv2EncodeError } from './codec.js';
import { CHANNEL_MSG_BIT, encodeFrame } from './frame.js';
import {
  bigIntToU256,
  decodeMessage,
  encodeMessage,
  msgTypeOf,
  u256ToBigInt,
  type KnownSv2Message,
  type Sv2MessageName,
} from './messages.js';

const hash = (byte: number) => Buffer.alloc(32, byte);
const DIFF1 = 0xffffn << 208n;

/** One example of every message this module knows, with every field set to something recognisable. */
const SAMPLES: readonly KnownSv2Message[] = [
  {
    type: 'SetupConnection',
    protocol: 0,
    minVersion: 2,
    maxVersion: 2,
    flags: 0b100,
    endpointHost: 'pool.example',
    endpointPort: 3333,
    vendor: 'stratum-proxy',
    hardwareVersion: '',
    firmware: '0.1.0',
    deviceId: '',
  },
  { type: 'SetupConnection.Success', usedVersion: 2, flags: 0b11 },
  { type: 'SetupConnection.Error', flags: 0b100, errorCode: 'unsupported-feature-flags' },
  { type: 'ChannelEndpointChanged', channelId: 9 },
  { type: 'Reconnect', newHost: 'other.example', newPort: 34254 },
  {
    type: 'OpenExtendedMiningChannel',
    requestId: 1,
    userIdentity: 'account.worker',
    nominalHashRate: 1.5e12,
    maxTarget: (1n << 256n) - 1n,
    minExtranonceSize: 8,
  },
  {
    type: 'OpenExtendedMiningChannel.Success',
    requestId: 1,
    channelId: 2,
    target: DIFF1 / 1000n,
    extranonceSize: 8,
    extranoncePrefix: Buffer.from('0000000100000002', 'hex'),
    groupChannelId: 3,
  },
  { type: 'OpenMiningChannel.Error', requestId: 4, errorCode: 'unknown-user' },
  { type: 'UpdateChannel', channelId: 2, nominalHashRate: 2.5e14, maximumTarget: DIFF1 },
  { type: 'UpdateChannel.Error', channelId: 2, errorCode: 'max-target-out-of-range' },
  { type: 'CloseChannel', channelId: 2, reasonCode: 'shutdown' },
  { type: 'SetExtranoncePrefix', channelId: 2, extranoncePrefix: Buffer.from('abcdef', 'hex') },
  {
    type: 'SubmitSharesExtended',
    channelId: 2,
    sequenceNumber: 7,
    jobId: 11,
    nonce: 0x41dc22cc,
    ntime: 0x57ca03ae,
    version: 0x20002000,
    extranonce: Buffer.from('9aef0c0000000000', 'hex'),
  },
  { type: 'SubmitShares.Success', channelId: 2, lastSequenceNumber: 7, newSubmitsAcceptedCount: 3, newSharesSum: 3000n },
  { type: 'SubmitShares.Error', channelId: 2, sequenceNumber: 8, errorCode: 'stale-share' },
  {
    type: 'NewExtendedMiningJob',
    channelId: 2,
    jobId: 11,
    minNtime: 0x57ca03ae,
    version: 0x20000000,
    versionRollingAllowed: true,
    merklePath: [hash(1), hash(2), hash(3)],
    coinbaseTxPrefix: Buffer.from('01000000010000', 'hex'),
    coinbaseTxSuffix: Buffer.from('ffffffff0100', 'hex'),
  },
  {
    type: 'NewExtendedMiningJob',
    channelId: 2,
    jobId: 12,
    minNtime: undefined,
    version: 0x20000000,
    versionRollingAllowed: false,
    merklePath: [],
    coinbaseTxPrefix: Buffer.alloc(0),
    coinbaseTxSuffix: Buffer.alloc(0),
  },
  { type: 'SetNewPrevHash', channelId: 2, jobId: 12, prevHash: hash(0xee), minNtime: 0x57ca03ae, nbits: 0x1a0213ef },
  { type: 'SetTarget', channelId: 2, maximumTarget: DIFF1 / 4096n },
  { type: 'SetGroupChannel', groupChannelId: 3, channelIds: [2, 4, 6] },
];

const CHANNEL_MESSAGES = new Set<Sv2MessageName>([
  'ChannelEndpointChanged',
  'UpdateChannel',
  'UpdateChannel.Error',
  'CloseChannel',
  'SetExtranoncePrefix',
  'SubmitSharesExtended',
  'SubmitShares.Success',
  'SubmitShares.Error',
  'NewExtendedMiningJob',
  'SetNewPrevHash',
  'SetTarget',
]);

describe('SV2 messages', () => {
  it('the samples cover every known message type', () => {
    const names = new Set(SAMPLES.map((message) => message.type));
    expect(names.size).toBe(19);
  });

  it('message ids are those of 08-Message-Types', () => {
    const ids = Object.fromEntries(SAMPLES.map((message) => [message.type, msgTypeOf(message.type)]));
    expect(ids).toEqual({
      SetupConnection: 0x00,
      'SetupConnection.Success': 0x01,
      'SetupConnection.Error': 0x02,
      ChannelEndpointChanged: 0x03,
      Reconnect: 0x04,
      'OpenMiningChannel.Error': 0x12,
      OpenExtendedMiningChannel: 0x13,
      'OpenExtendedMiningChannel.Success': 0x14,
      UpdateChannel: 0x16,
      'UpdateChannel.Error': 0x17,
      CloseChannel: 0x18,
      SetExtranoncePrefix: 0x19,
      SubmitSharesExtended: 0x1b,
      'SubmitShares.Success': 0x1c,
      'SubmitShares.Error': 0x1d,
      NewExtendedMiningJob: 0x1f,
      SetNewPrevHash: 0x20,
      SetTarget: 0x21,
      SetGroupChannel: 0x25,
    });
  });

  it.each(SAMPLES.map((message) => [message.type, message] as const))(
    '%s round-trips, with the channel_msg bit of its type',
    (name, message) => {
      const frame = encodeMessage(message);
      expect(frame.extensionType).toBe(CHANNEL_MESSAGES.has(name) ? CHANNEL_MSG_BIT : 0);
      const decoded = decodeMessage(frame);
      const expected = 'nominalHashRate' in message ? { ...message, nominalHashRate: Math.fround(message.nominalHashRate) } : message;
      expect(decoded).toEqual(expected);
    },
  );

  it.each(SAMPLES.map((message) => [message.type, message] as const))('%s: every truncation of its payload is refused', (name, message) => {
    const { payload, msgType, extensionType } = encodeMessage(message);
    for (let cut = 0; cut < payload.length; cut++) {
      const decode = () => decodeMessage({ extensionType, msgType, payload: payload.subarray(0, cut) });
      // The one field that may be absent: group_channel_id, last in OpenExtendedMiningChannel.Success.
      if (name === 'OpenExtendedMiningChannel.Success' && cut === payload.length - 4) expect(decode()).not.toHaveProperty('groupChannelId');
      else expect(decode, `cut at ${cut}`).toThrow(Sv2DecodeError);
    }
  });

  it('SetupConnection bytes follow 03-Protocol-Overview 3.6.1 field by field', () => {
    const bytes = encodeFrame(encodeMessage(SAMPLES[0]));
    expect(bytes.toString('hex')).toBe(
      '000000' + // extension_type 0, msg_type 0x00
        '2e0000' + // msg_length 46
        '00' + // protocol: mining
        '0200' + // min_version
        '0200' + // max_version
        '04000000' + // flags: REQUIRES_VERSION_ROLLING
        '0c' +
        Buffer.from('pool.example').toString('hex') +
        '050d' + // port 3333
        '0d' +
        Buffer.from('stratum-proxy').toString('hex') +
        '00' + // hardware_version
        '05' +
        Buffer.from('0.1.0').toString('hex') +
        '00', // device_id
    );
  });

  it('SubmitSharesExtended bytes follow 05-Mining-Protocol 5.3.12', () => {
    expect(encodeFrame(encodeMessage(SAMPLES[12])).toString('hex')).toBe(
      '00801b' + // channel message 0x1b
        '210000' + // 33 bytes
        '02000000' + // channel_id
        '07000000' + // sequence_number
        '0b000000' + // job_id
        'cc22dc41' + // nonce
        'ae03ca57' + // ntime
        '00200020' + // version
        '089aef0c0000000000', // extranonce B0_32
    );
  });

  it('NewExtendedMiningJob bytes: OPTION[U32] min_ntime, BOOL, SEQ0_255[U256], two B0_64K', () => {
    const payload = encodeMessage(SAMPLES[15]).payload.toString('hex');
    expect(payload).toBe(
      '02000000' +
        '0b000000' +
        '01ae03ca57' + // min_ntime present
        '00000020' +
        '01' +
        '03' +
        '01'.repeat(32) +
        '02'.repeat(32) +
        '03'.repeat(32) +
        '0700' +
        '01000000010000' +
        '0600' +
        'ffffffff0100',
    );
    // A future job: the empty option is a single 0 byte.
    expect(encodeMessage(SAMPLES[16]).payload.subarray(8, 9).toString('hex')).toBe('00');
  });

  it('targets are U256 little-endian: the difficulty-1 target has its ffff in bytes 26 and 27', () => {
    const bytes = bigIntToU256(DIFF1);
    expect(bytes.toString('hex')).toBe('00'.repeat(26) + 'ffff' + '00'.repeat(4));
    expect(u256ToBigInt(bytes)).toBe(DIFF1);
    const frame = encodeMessage({ type: 'SetTarget', channelId: 1, maximumTarget: DIFF1 });
    expect(frame.payload.subarray(4).equals(bytes)).toBe(true);
    expect(() => bigIntToU256(1n << 256n)).toThrow(Sv2EncodeError);
  });

  it('OpenExtendedMiningChannel.Success without the trailing group_channel_id (older pools) decodes without it', () => {
    const { groupChannelId: _dropped, ...old } = SAMPLES[6] as Extract<KnownSv2Message, { type: 'OpenExtendedMiningChannel.Success' }>;
    const frame = encodeMessage(old);
    expect(frame.payload).toHaveLength(encodeMessage(SAMPLES[6]).payload.length - 4);
    const decoded = decodeMessage(frame);
    expect(decoded).toEqual(old);
    expect(decoded).not.toHaveProperty('groupChannelId');
  });

  it('ignores trailing bytes (fields a newer spec appends) and the channel_msg bit when decoding', () => {
    const frame = encodeMessage(SAMPLES[17]);
    const decoded = decodeMessage({
      extensionType: 0,
      msgType: frame.msgType,
      payload: Buffer.concat([frame.payload, Buffer.of(1, 2, 3)]),
    });
    expect(decoded).toEqual(SAMPLES[17]);
  });

  it('other message types and every non-zero extension decode as Unknown, payload kept', () => {
    const payload = Buffer.from('01020304', 'hex');
    expect(decodeMessage({ extensionType: 0, msgType: 0x15, payload })).toEqual({
      type: 'Unknown',
      extensionType: 0,
      msgType: 0x15,
      payload,
    });
    // A known msg_type in an extension is that extension's message, not ours.
    expect(decodeMessage({ extensionType: 0x8001, msgType: 0x1b, payload })).toMatchObject({ type: 'Unknown', extensionType: 0x8001 });
  });

  it('refuses to encode fields their type cannot carry', () => {
    expect(() => encodeMessage({ ...SAMPLES[11], extranoncePrefix: Buffer.alloc(33) } as KnownSv2Message)).toThrow(Sv2EncodeError);
    expect(() => encodeMessage({ ...SAMPLES[7], errorCode: 'x'.repeat(256) } as KnownSv2Message)).toThrow(Sv2EncodeError);
    expect(() => encodeMessage({ ...SAMPLES[13], channelId: -1 } as KnownSv2Message)).toThrow(Sv2EncodeError);
  });

  it('property: any payload for any known type gives a message or Sv2DecodeError, nothing else', () => {
    const types = [...new Set(SAMPLES.map((message) => msgTypeOf(message.type)))];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 200 }), (msgType, bytes) => {
        try {
          const message = decodeMessage({ extensionType: 0, msgType, payload: Buffer.from(bytes) });
          expect(msgTypeOf(message.type as Sv2MessageName)).toBe(msgType);
        } catch (error) {
          if (!(error instanceof Sv2DecodeError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('property: a decoded message re-encodes to a payload that decodes to the same message', () => {
    const types = [...new Set(SAMPLES.map((message) => msgTypeOf(message.type)))];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 120 }), (msgType, bytes) => {
        let message;
        try {
          message = decodeMessage({ extensionType: 0, msgType, payload: Buffer.from(bytes) });
        } catch (error) {
          if (error instanceof Sv2DecodeError) return;
          throw error;
        }
        if (message.type === 'Unknown') throw new Error('known type decoded as Unknown');
        const again = encodeMessage(message).payload;
        // Not byte-equal: trailing bytes are dropped and BOOL keeps only its low bit.
        expect(decodeMessage({ extensionType: 0, msgType, payload: again })).toEqual(message);
      }),
      { numRuns: 1000 },
    );
  });
});
