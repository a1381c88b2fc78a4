/**
 * The common and mining messages a translator (and the test pool facing it) exchanges, both directions.
 * Layouts: 03-Protocol-Overview 3.6 and 05-Mining-Protocol 5.3; ids and channel_msg bits: 08-Message-Types.
 *
 * Conventions: targets are bigint (they are compared and converted to difficulties); hashes (prev_hash,
 * merkle_path) stay 32-byte Buffers in wire order, which is also the block header's order; U64 is bigint.
 * Decoders ignore trailing bytes, because the spec grows messages at the end (group_channel_id did).
 */
import { Sv2DecodeError, Sv2EncodeError, Sv2Reader, Sv2Writer, U256_SIZE } from './codec.js';
import { CHANNEL_MSG_BIT, extensionOf, type Sv2Frame } from './frame.js';

/** SetupConnection.protocol. */
export const Sv2Protocol = { Mining: 0, JobDeclaration: 1, TemplateDistribution: 2, JobDistribution: 3 } as const;

/** SetupConnection.flags for the mining protocol (05 5.3.1). */
export const SetupConnectionFlags = {
  RequiresStandardJobs: 1 << 0,
  RequiresWorkSelection: 1 << 1,
  RequiresVersionRolling: 1 << 2,
} as const;

/** SetupConnection.Success.flags for the mining protocol. */
export const SetupConnectionSuccessFlags = {
  RequiresFixedVersion: 1 << 0,
  RequiresExtendedChannels: 1 << 1,
} as const;

export interface SetupConnection {
  readonly type: 'SetupConnection';
  readonly protocol: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flags: number;
  readonly endpointHost: string;
  readonly endpointPort: number;
  readonly vendor: string;
  readonly hardwareVersion: string;
  readonly firmware: string;
  readonly deviceId: string;
}

export interface SetupConnectionSuccess {
  readonly type: 'SetupConnection.Success';
  readonly usedVersion: number;
  readonly flags: number;
}

export interface SetupConnectionError {
  readonly type: 'SetupConnection.Error';
  /** The flags the server does not support; 0 when the error is about something else. */
  readonly flags: number;
  readonly errorCode: string;
}

export interface ChannelEndpointChanged {
  readonly type: 'ChannelEndpointChanged';
  readonly channelId: number;
}

export interface Reconnect {
  readonly type: 'Reconnect';
  /** Empty: the present host. */
  readonly newHost: string;
  /** 0: the present port. */
  readonly newPort: number;
}

export interface OpenExtendedMiningChannel {
  readonly type: 'OpenExtendedMiningChannel';
  readonly requestId: number;
  readonly userIdentity: string;
  /** h/s; a proxy sends 0 while no miner is connected. */
  readonly nominalHashRate: number;
  readonly maxTarget: bigint;
  readonly minExtranonceSize: number;
}

export interface OpenExtendedMiningChannelSuccess {
  readonly type: 'OpenExtendedMiningChannel.Success';
  readonly requestId: number;
  readonly channelId: number;
  readonly target: bigint;
  readonly extranonceSize: number;
  readonly extranoncePrefix: Buffer;
  /** Absent from pools that predate the field (added to the spec in 2025). */
  readonly groupChannelId?: number;
}

export interface OpenMiningChannelError {
  readonly type: 'OpenMiningChannel.Error';
  readonly requestId: number;
  readonly errorCode: string;
}

export interface UpdateChannel {
  readonly type: 'UpdateChannel';
  readonly channelId: number;
  readonly nominalHashRate: number;
  readonly maximumTarget: bigint;
}

export interface UpdateChannelError {
  readonly type: 'UpdateChannel.Error';
  readonly channelId: number;
  readonly errorCode: string;
}

export interface CloseChannel {
  readonly type: 'CloseChannel';
  readonly channelId: number;
  readonly reasonCode: string;
}

export interface SetExtranoncePrefix {
  readonly type: 'SetExtranoncePrefix';
  readonly channelId: number;
  readonly extranoncePrefix: Buffer;
}

export interface SubmitSharesExtended {
  readonly type: 'SubmitSharesExtended';
  readonly channelId: number;
  readonly sequenceNumber: number;
  readonly jobId: number;
  readonly nonce: number;
  readonly ntime: number;
  /** The full nVersion of the header, rolled bits included. */
  readonly version: number;
  readonly extranonce: Buffer;
}

export interface SubmitSharesSuccess {
  readonly type: 'SubmitShares.Success';
  readonly channelId: number;
  /** A batch acknowledgement: every share up to this sequence number not answered by an error. */
  readonly lastSequenceNumber: number;
  readonly newSubmitsAcceptedCount: number;
  readonly newSharesSum: bigint;
}

export interface SubmitSharesError {
  readonly type: 'SubmitShares.Error';
  readonly channelId: number;
  readonly sequenceNumber: number;
  readonly errorCode: string;
}

export interface NewExtendedMiningJob {
  readonly type: 'NewExtendedMiningJob';
  readonly channelId: number;
  readonly jobId: number;
  /** Undefined: a future job, minable once a SetNewPrevHash names it. */
  readonly minNtime: number | undefined;
  readonly version: number;
  readonly versionRollingAllowed: boolean;
  readonly merklePath: readonly Buffer[];
  /** Without the segwit marker, flag and witness: what SV1 miners hash. */
  readonly coinbaseTxPrefix: Buffer;
  readonly coinbaseTxSuffix: Buffer;
}

export interface SetNewPrevHash {
  readonly type: 'SetNewPrevHash';
  readonly channelId: number;
  readonly jobId: number;
  /** Header byte order (a U256, little-endian). */
  readonly prevHash: Buffer;
  readonly minNtime: number;
  readonly nbits: number;
}

export interface SetTarget {
  readonly type: 'SetTarget';
  readonly channelId: number;
  readonly maximumTarget: bigint;
}

export interface SetGroupChannel {
  readonly type: 'SetGroupChannel';
  readonly groupChannelId: number;
  readonly channelIds: readonly number[];
}

export type KnownSv2Message =
  | SetupConnection
  | SetupConnectionSuccess
  | SetupConnectionError
  | ChannelEndpointChanged
  | Reconnect
  | OpenExtendedMiningChannel
  | OpenExtendedMiningChannelSuccess
  | OpenMiningChannelError
  | UpdateChannel
  | UpdateChannelError
  | CloseChannel
  | SetExtranoncePrefix
  | SubmitSharesExtended
  | SubmitSharesSuccess
  | SubmitSharesError
  | NewExtendedMiningJob
  | SetNewPrevHash
  | SetTarget
  | SetGroupChannel;

/** Anything else (other messages, other extensions): kept whole so a connection can log or ignore it. */
export interface UnknownSv2Message {
  readonly type: 'Unknown';
  readonly extensionType: number;
  readonly msgType: number;
  readonly payload: Buffer;
}

export type Sv2Message = KnownSv2Message | UnknownSv2Message;
export type Sv2MessageName = KnownSv2Message['type'];

type Fields<M> = Omit<M, 'type'>;

interface MessageCodec<M extends KnownSv2Message> {
  readonly msgType: number;
  readonly channelMsg: boolean;
  encode(writer: Sv2Writer, message: M): void;
  decode(reader: Sv2Reader): Fields<M>;
}

/** U256 wire bytes (little-endian) as an integer. */
export function u256ToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length !== U256_SIZE) throw new Sv2DecodeError(`U256 must be 32 bytes, got ${bytes.length}`);
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
}

/** An integer below 2^256 as U256 wire bytes (little-endian). */
export function bigIntToU256(value: bigint): Buffer {
  if (value < 0n || value >= 1n << 256n) throw new Sv2EncodeError(`U256 out of range: ${value}`);
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse();
}

const CODECS: { readonly [K in Sv2MessageName]: MessageCodec<Extract<KnownSv2Message, { type: K }>> } = {
  SetupConnection: {
    msgType: 0x00,
    channelMsg: false,
    encode: (w, m) =>
      w
        .u8(m.protocol)
        .u16(m.minVersion)
        .u16(m.maxVersion)
        .u32(m.flags)
        .str0_255(m.endpointHost)
        .u16(m.endpointPort)
        .str0_255(m.vendor)
        .str0_255(m.hardwareVersion)
        .str0_255(m.firmware)
        .str0_255(m.deviceId),
    decode: (r) => ({
      protocol: r.u8(),
      minVersion: r.u16(),
      maxVersion: r.u16(),
      flags: r.u32(),
      endpointHost: r.str0_255(),
      endpointPort: r.u16(),
      vendor: r.str0_255(),
      hardwareVersion: r.str0_255(),
      firmware: r.str0_255(),
      deviceId: r.str0_255(),
    }),
  },
  'SetupConnection.Success': {
    msgType: 0x01,
    channelMsg: false,
    encode: (w, m) => w.u16(m.usedVersion).u32(m.flags),
    decode: (r) => ({ usedVersion: r.u16(), flags: r.u32() }),
  },
  'SetupConnection.Error': {
    msgType: 0x02,
    channelMsg: false,
    encode: (w, m) => w.u32(m.flags).str0_255(m.errorCode),
    decode: (r) => ({ flags: r.u32(), errorCode: r.str0_255() }),
  },
  ChannelEndpointChanged: {
    msgType: 0x03,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId),
    decode: (r) => ({ channelId: r.u32() }),
  },
  Reconnect: {
    msgType: 0x04,
    channelMsg: false,
    encode: (w, m) => w.str0_255(m.newHost).u16(m.newPort),
    decode: (r) => ({ newHost: r.str0_255(), newPort: r.u16() }),
  },
  'OpenMiningChannel.Error': {
    msgType: 0x12,
    channelMsg: false,
    encode: (w, m) => w.u32(m.requestId).str0_255(m.errorCode),
    decode: (r) => ({ requestId: r.u32(), errorCode: r.str0_255() }),
  },
  OpenExtendedMiningChannel: {
    msgType: 0x13,
    channelMsg: false,
    encode: (w, m) =>
      w.u32(m.requestId).str0_255(m.userIdentity).f32(m.nominalHashRate).u256(bigIntToU256(m.maxTarget)).u16(m.minExtranonceSize),
    decode: (r) => ({
      requestId: r.u32(),
      userIdentity: r.str0_255(),
      nominalHashRate: r.f32(),
      maxTarget: u256ToBigInt(r.u256()),
      minExtranonceSize: r.u16(),
    }),
  },
  'OpenExtendedMiningChannel.Success': {
    msgType: 0x14,
    channelMsg: false,
    encode: (w, m) => {
      w.u32(m.requestId).u32(m.channelId).u256(bigIntToU256(m.target)).u16(m.extranonceSize).b0_32(m.extranoncePrefix);
      if (m.groupChannelId !== undefined) w.u32(m.groupChannelId);
    },
    decode: (r) => {
      const fields = {
        requestId: r.u32(),
        channelId: r.u32(),
        target: u256ToBigInt(r.u256()),
        extranonceSize: r.u16(),
        extranoncePrefix: r.b0_32(),
      };
      // Present or absent depending on the pool's spec version; a partial field is still an error.
      return r.remaining === 0 ? fields : { ...fields, groupChannelId: r.u32() };
    },
  },
  UpdateChannel: {
    msgType: 0x16,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).f32(m.nominalHashRate).u256(bigIntToU256(m.maximumTarget)),
    decode: (r) => ({ channelId: r.u32(), nominalHashRate: r.f32(), maximumTarget: u256ToBigInt(r.u256()) }),
  },
  'UpdateChannel.Error': {
    msgType: 0x17,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).str0_255(m.errorCode),
    decode: (r) => ({ channelId: r.u32(), errorCode: r.str0_255() }),
  },
  CloseChannel: {
    msgType: 0x18,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).str0_255(m.reasonCode),
    decode: (r) => ({ channelId: r.u32(), reasonCode: r.str0_255() }),
  },
  SetExtranoncePrefix: {
    msgType: 0x19,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).b0_32(m.extranoncePrefix),
    decode: (r) => ({ channelId: r.u32(), extranoncePrefix: r.b0_32() }),
  },
  SubmitSharesExtended: {
    msgType: 0x1b,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).u32(m.sequenceNumber).u32(m.jobId).u32(m.nonce).u32(m.ntime).u32(m.version).b0_32(m.extranonce),
    decode: (r) => ({
      channelId: r.u32(),
      sequenceNumber: r.u32(),
      jobId: r.u32(),
      nonce: r.u32(),
      ntime: r.u32(),
      version: r.u32(),
      extranonce: r.b0_32(),
    }),
  },
  'SubmitShares.Success': {
    msgType: 0x1c,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).u32(m.lastSequenceNumber).u32(m.newSubmitsAcceptedCount).u64(m.newSharesSum),
    decode: (r) => ({ channelId: r.u32(), lastSequenceNumber: r.u32(), newSubmitsAcceptedCount: r.u32(), newSharesSum: r.u64() }),
  },
  'SubmitShares.Error': {
    msgType: 0x1d,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).u32(m.sequenceNumber).str0_255(m.errorCode),
    decode: (r) => ({ channelId: r.u32(), sequenceNumber: r.u32(), errorCode: r.str0_255() }),
  },
  NewExtendedMiningJob: {
    msgType: 0x1f,
    channelMsg: true,
    encode: (w, m) =>
      w
        .u32(m.channelId)
        .u32(m.jobId)
        .optionU32(m.minNtime)
        .u32(m.version)
        .bool(m.versionRollingAllowed)
        .seq0_255U256(m.merklePath)
        .b0_64k(m.coinbaseTxPrefix)
        .b0_64k(m.coinbaseTxSuffix),
    decode: (r) => ({
      channelId: r.u32(),
      jobId: r.u32(),
      minNtime: r.optionU32(),
      version: r.u32(),
      versionRollingAllowed: r.bool(),
      merklePath: r.seq0_255U256(),
      coinbaseTxPrefix: r.b0_64k(),
      coinbaseTxSuffix: r.b0_64k(),
    }),
  },
  SetNewPrevHash: {
    msgType: 0x20,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).u32(m.jobId).u256(m.prevHash).u32(m.minNtime).u32(m.nbits),
    decode: (r) => ({ channelId: r.u32(), jobId: r.u32(), prevHash: r.u256(), minNtime: r.u32(), nbits: r.u32() }),
  },
  SetTarget: {
    msgType: 0x21,
    channelMsg: true,
    encode: (w, m) => w.u32(m.channelId).u256(bigIntToU256(m.maximumTarget)),
    decode: (r) => ({ channelId: r.u32(), maximumTarget: u256ToBigInt(r.u256()) }),
  },
  SetGroupChannel: {
    msgType: 0x25,
    channelMsg: false,
    encode: (w, m) => w.u32(m.groupChannelId).seq0_64kU32(m.channelIds),
    decode: (r) => ({ groupChannelId: r.u32(), channelIds: r.seq0_64kU32() }),
  },
};

const NAME_BY_MSG_TYPE = new Map<number, Sv2MessageName>(
  (Object.keys(CODECS) as Sv2MessageName[]).map((name) => [CODECS[name].msgType, name]),
);

/** The msg_type of a message name, e.g. for matching frames without decoding them. */
export function msgTypeOf(name: Sv2MessageName): number {
  return CODECS[name].msgType;
}

/** The frame of a message, with the channel_msg bit the spec assigns to its type. */
export function encodeMessage(message: KnownSv2Message): Sv2Frame {
  const codec = CODECS[message.type] as MessageCodec<KnownSv2Message>;
  const writer = new Sv2Writer();
  codec.encode(writer, message);
  return { extensionType: codec.channelMsg ? CHANNEL_MSG_BIT : 0, msgType: codec.msgType, payload: writer.finish() };
}

/**
 * The message in a frame. Types this module does not know, and every non-zero extension, come back as
 * 'Unknown' rather than an error: the spec asks receivers to ignore them. A known type whose payload does not
 * parse throws Sv2DecodeError. The channel_msg bit is not checked: the type alone decides the layout.
 */
export function decodeMessage(frame: Sv2Frame): Sv2Message {
  const name = extensionOf(frame.extensionType) === 0 ? NAME_BY_MSG_TYPE.get(frame.msgType) : undefined;
  if (name === undefined) {
    return { type: 'Unknown', extensionType: frame.extensionType, msgType: frame.msgType, payload: frame.payload };
  }
  const codec = CODECS[name] as MessageCodec<KnownSv2Message>;
  const fields = codec.decode(new Sv2Reader(frame.payload));
  return { type: name, ...fields } as KnownSv2Message;
}
