import { Injectable, ValidationPipe, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ApiError, errors, type ValidatedField } from '@stackbench/contract';
import { getMetadataStorage, type ValidationError } from 'class-validator';

/** The contract's order of checks: unknown body fields first, then the fields in this order. */
const FIELD_ORDER: readonly ValidatedField[] = ['id', 'limit', 'after', 'productId', 'quantity'];

/**
 * Maps class-validator's errors to the contract's single message: an unknown body field (the first one, in body
 * order), else the first failing field, "missing" when the body lacks it and "invalid" otherwise.
 */
export function toContractError(validationErrors: ValidationError[]): ApiError {
  const unknown = validationErrors.find((e) => e.constraints?.whitelistValidation !== undefined);
  if (unknown) return errors.unknownField(unknown.property);
  for (const field of FIELD_ORDER) {
    const failed = validationErrors.find((e) => e.property === field);
    if (!failed) continue;
    const bodyField = field === 'productId' || field === 'quantity';
    return bodyField && failed.value === undefined ? errors.missingField(field) : errors.invalidField(field);
  }
  // ValidationPipe's own "object expected" error (unreachable behind JsonObjectPipe), or a DTO field this map lacks.
  return validationErrors.some((e) => e.property === 'body') ? errors.bodyNotObject() : errors.internal();
}

const common = {
  // Never coerce: DTOs are built from the request values as they are, and returned as DTO instances.
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  whitelist: true,
  // `value` tells a missing field (undefined) from a null one.
  validationError: { target: false, value: true },
  exceptionFactory: toContractError,
} as const;

/** Params and bodies: a property without a rule in the DTO is an error. */
export const strictValidation = new ValidationPipe({ ...common, forbidNonWhitelisted: true });

/** Query strings: unknown parameters are ignored (stripped), as the contract says. */
export const queryValidation = new ValidationPipe({ ...common, forbidNonWhitelisted: false });

const declaredCache = new Map<Function, ReadonlySet<string>>();

/** The properties a DTO class declares rules for (class-validator's metadata). */
function declaredProperties(metatype: Function): ReadonlySet<string> {
  let declared = declaredCache.get(metatype);
  if (!declared) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
    declared = new Set(rules.map((rule) => rule.propertyName));
    declaredCache.set(metatype, declared);
  }
  return declared;
}

/**
 * Runs before the ValidationPipe on bodies, on the parsed JSON as it came:
 * - only a JSON object is a DTO (ValidationPipe validates `null` as `{}` and a primitive as an empty stand-in);
 * - every key must be a DTO property. The whitelist cannot see some keys: class-transformer skips the names of
 *   prototype methods (`constructor`, `toString`, `hasOwnProperty`...) and Nest strips `__proto__`, so such
 *   unknown fields would pass silently. The first unknown key in body order is reported, like the contract does.
 */
@Injectable()
export class JsonObjectPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.bodyNotObject();
    if (metadata.metatype) {
      const declared = declaredProperties(metadata.metatype);
      const unknown = Object.keys(value).find((key) => !declared.has(key));
      if (unknown !== undefined) throw errors.unknownField(unknown);
    }
    return value;
  }
}
