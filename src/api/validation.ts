import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

// A wrong type says more than a length limit on the wrong type: report those first.
const PRIORITY = ['isDefined', 'isString', 'isInt', 'isNumber', 'isNotEmpty'];
const rank = (name: string) => (PRIORITY.includes(name) ? PRIORITY.indexOf(name) : PRIORITY.length);

/** class-validator's default texts read like code ("host should not be null or undefined"): say them plainly. */
const PLAIN: Record<string, (property: string) => string> = {
  isDefined: (property) => `${property} is required`,
  isString: (property) => `${property} must be text (a JSON string)`,
  isInt: (property) => `${property} must be a whole number`,
  isNumber: (property) => `${property} must be a number`,
  isBoolean: (property) => `${property} must be true or false`,
  isNotEmpty: (property) => `${property} must not be empty`,
  isArray: (property) => `${property} must be a list (a JSON array)`,
};
const DEFAULT_TEXT =
  /^(\S+) (should not be null or undefined|must be a string|must be an integer number|must be a number conforming to the specified constraints|must be a boolean value|should not be empty|must be an array)$/;

function plainWords(constraint: string, text: string): string {
  const match = DEFAULT_TEXT.exec(text);
  return match && PLAIN[constraint] ? PLAIN[constraint](match[1]) : text;
}

function firstMessages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {})
      .sort(([a], [b]) => rank(a) - rank(b))
      .map(([name, text]) => plainWords(name, text).replace(error.property, path));
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
