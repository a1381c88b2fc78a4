import { Injectable, NestMiddleware } from '@nestjs/common';
import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';

export const MAX_BODY_BYTES = 16 * 1024;

// Any content type is read as JSON, as the original did: `curl -d '{...}'` sends form encoding by default.
const parseJson = json({ limit: MAX_BODY_BYTES, type: () => true, strict: true });

/** Runs inside Nest (not app.use) so that parse errors reach the JSON exception filter. */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    parseJson(request, response, next);
  }
}
