import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Guards the management API with `Authorization: Bearer <--api.token>`. */
@Injectable()
export class ManagementTokenGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.apiToken ? digest(config.apiToken) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) {
      throw new ForbiddenException(
        'the management API is disabled: set the environment variable API_TOKEN=<secret> (or --api.token) and restart the proxy to enable it',
      );
    }
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Compare digests so the comparison takes the same time whatever the token's length.
    if (!match || !timingSafeEqual(digest(match[1].trim()), this.expected)) {
      throw new UnauthorizedException('missing or wrong bearer token (Authorization: Bearer <api.token>)');
    }
    return true;
  }
}

/**
 * With --api.registrationToken, registration requires `Authorization: Bearer <token>` (that token or the
 * management one), for proxies reachable beyond the farm; without it registration is open, as in the original.
 */
@Injectable()
export class RegistrationTokenGuard implements CanActivate {
  private readonly accepted: Buffer[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.accepted = config.apiRegistrationToken ? [config.apiRegistrationToken, config.apiToken].filter(Boolean).map(digest) : [];
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.accepted.length === 0) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const given = match ? digest(match[1].trim()) : null;
    // Every candidate is compared, so the time taken does not tell which one matched.
    const ok = this.accepted.reduce((found, token) => (given !== null && timingSafeEqual(given, token)) || found, false);
    if (!ok) throw new UnauthorizedException('registration requires a bearer token (Authorization: Bearer <api.registrationToken>)');
    return true;
  }
}
