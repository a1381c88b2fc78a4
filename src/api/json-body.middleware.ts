import { BadRequestException, Injectable, NestMiddleware } from '@nestjs/common';
import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';

export const MAX_BODY_BYTES = 16 * 1024;

// Any content type is read as JSON, as the original did: `curl -d '{...}'` sends form encoding by default.
const parseJson = json({ limit: MAX_BODY_BYTES, type: () => true, strict: true });

/** Deeper JSON is refused: no API body needs it, and validation walks bodies recursively. */
export const MAX_BODY_DEPTH = 32;

/**
 * Runs inside Nest (not app.use) so that parse errors reach the JSON exception filter. Bodies nested deeper
 * than MAX_BODY_DEPTH and compressed bodies that do not decompress are clear 400s.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    parseJson(request, response, (error?: unknown) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && code.startsWith('Z_'))
          return next(new BadRequestException('request body does not decompress (check Content-Encoding)'));
        return next(error);
      }
      if (depthOf(request.body) > MAX_BODY_DEPTH)
        return next(new BadRequestException(`JSON body nested deeper than ${MAX_BODY_DEPTH} levels`));
      next();
    });
  }
}

/** How deeply arrays and objects nest in a parsed JSON value (iterative: no recursion on hostile input). */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_BODY_DEPTH) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
