import { Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Errors thrown by the Stratum handlers reach the transport as they were thrown (a decoder's StratumError is
 * the miner's answer, anything else an internal error it logs): Nest's own RPC filter would turn them all
 * into "Internal server error".
 */
@Catch()
export class RethrowErrorsFilter implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
