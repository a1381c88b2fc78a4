import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { AppConfig } from '../config/app-config.js';

const MINUTE_MS = 60_000;
const REGISTRATION_PATH = /^\/api\/v1\/users\/?$/;

/** Registration: POST or PUT /api/v1/users (the original's two verbs). */
export function isRegistration(request: Request): boolean {
  return (request.method === 'POST' || request.method === 'PUT') && REGISTRATION_PATH.test(request.originalUrl.split('?')[0]);
}

/** Only HTTP is limited here (the Stratum side has its own limits), and never the Prometheus scrape. */
const httpRequest = (context: ExecutionContext): Request | null => {
  if (context.getType() !== 'http') return null;
  const request = context.switchToHttp().getRequest<Request>();
  return request.originalUrl.split('?')[0] === '/metrics' ? null : request;
};

/**
 * Per client address and minute: registrations (--api.registrationRate) and every other API request
 * (--api.readRate); 0 turns either off. Over the limit: 429 with Retry-After.
 */
export function rateLimits(config: AppConfig): ThrottlerModuleOptions {
  const { registration, read } = config.apiRates;
  return {
    errorMessage: 'too many requests from this address: try again in a minute',
    // One count per client address across all routes (the default counts each route apart).
    generateKey: (_context, tracker, name) => `${name}:${tracker}`,
    throttlers: [
      {
        name: 'registration',
        ttl: MINUTE_MS,
        limit: Math.max(1, registration),
        skipIf: (context) => {
          const request = httpRequest(context);
          return registration === 0 || request === null || !isRegistration(request);
        },
      },
      {
        name: 'read',
        ttl: MINUTE_MS,
        limit: Math.max(1, read),
        skipIf: (context) => {
          const request = httpRequest(context);
          return read === 0 || request === null || isRegistration(request);
        },
      },
    ],
  };
}

/** The throttler guard, adding the standard Retry-After header (the library names it after the throttler). */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    context
      .switchToHttp()
      .getResponse<Response>()
      .setHeader('Retry-After', String(Math.max(1, Math.ceil(detail.timeToBlockExpire))));
    return super.throwThrottlingException(context, detail);
  }
}
