import { Injectable } from '@nestjs/common';

/** What the process is doing, for readiness: set by the bootstrap as the Stratum listener starts and drains. */
@Injectable()
export class ProxyState {
  stratumListening = false;
  draining = false;
}
