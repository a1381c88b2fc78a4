import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { throwError } from 'rxjs';
import { isRegistration } from './rate-limits.js';

/** Body-parser errors carry an HTTP status and a `type`; map them to clear messages. */
interface BodyParserError {
  status?: number;
  type?: string;
}

const HEALTH_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Every API error is JSON: `{"statusCode", "error"}`; registration answers in the original's shape
 * `{"name": "", "error"}` so that existing scripts keep working.
 */
@Catch()
export class JsonExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(JsonExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    // Stratum handlers answer with StratumErrors themselves; anything else is the transport's to report.
    if (host.getType() !== 'http') return throwError(() => exception) as never;
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    // Health checks answer in @nestjs/terminus's own shape ({status, info, error, details}), errors included.
    if (exception instanceof HttpException && HEALTH_PATHS.has(request.originalUrl.split('?')[0])) {
      response.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const [status, message] = this.describe(exception, request);
    if (status >= 500) this.logger.error(`${request.method} ${request.originalUrl}: ${String((exception as Error)?.stack ?? exception)}`);
    response.status(status).json(isRegistration(request) ? { name: '', error: message } : { statusCode: status, error: message });
  }

  private describe(exception: unknown, request: Request): [number, string] {
    // Nest wraps body-parser errors in HttpExceptions; their cause keeps the parser's `type`.
    const parser = ((exception as { cause?: unknown })?.cause ?? exception) as BodyParserError;
    if (parser?.type === 'entity.parse.failed') return [HttpStatus.BAD_REQUEST, 'malformed JSON body'];
    if (parser?.type === 'entity.too.large') return [HttpStatus.BAD_REQUEST, 'request body is larger than 16 KiB'];
    if (parser?.type && parser.status && parser.status < 500) return [HttpStatus.BAD_REQUEST, `unreadable request body (${parser.type})`];
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (
        status === HttpStatus.NOT_FOUND &&
        typeof body === 'object' &&
        String((body as { message?: unknown }).message).startsWith('Cannot ')
      ) {
        return [status, `no route ${request.method} ${request.originalUrl.split('?')[0]}`];
      }
      const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      return [status, Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message];
    }
    return [HttpStatus.INTERNAL_SERVER_ERROR, 'internal error'];
  }
}
