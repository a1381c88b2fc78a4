import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

// A wrong type says more than a length limit on the wrong type: report those first.
const PRIORITY = ['isDefined', 'isString', 'isInt', 'isNumber', 'isNotEmpty'];
const rank = (name: string) => (PRIORITY.includes(name) ? PRIORITY.indexOf(name) : PRIORITY.length);

function firstMessages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {})
      .sort(([a], [b]) => rank(a) - rank(b))
      .map(([, text]) => text.replace(error.property, path));
    return own.length > 0 ? own.slice(0, 1) : firstMessages(error.children ?? [], path);
  });
}

/** DTO validation: unknown fields are stripped (clients send extras), errors become one readable line. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException(firstMessages(errors).join('; ')),
  });
}
