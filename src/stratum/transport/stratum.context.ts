import { BaseRpcContext } from '@nestjs/microservices';
import type { RpcRequest } from '../../protocol/json-rpc.js';
import type { StratumConnection } from './stratum-connection.js';

/** Per-message context, like Nest's TcpContext: the miner's connection and the request as received. */
export class StratumContext extends BaseRpcContext<[StratumConnection, RpcRequest]> {
  getConnection(): StratumConnection {
    return this.args[0];
  }

  getRequest(): RpcRequest {
    return this.args[1];
  }
}
