/**
 * Errors that cross module boundaries carry a machine code and the HTTP status a route
 * should answer with, so routes map errors without knowing every module's classes.
 */
export class WeirError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A name or key that breaks the naming rules (DESIGN.md §3). */
export class InvalidNameError extends WeirError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_NAME', message, 400, details);
  }
}

export class ObjectNotFoundError extends WeirError {
  constructor(readonly key: string) {
    super('OBJECT_NOT_FOUND', `object not found: ${key}`, 404, { key });
  }
}

/** A catalog commit that cannot apply to the current state (lost race with a real conflict, or invalid action). */
export class CatalogConflictError extends WeirError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 409, details);
  }
}

export class CatalogNotFoundError extends WeirError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 404, details);
  }
}

/** A request the catalog understands but refuses (bad action shape, bad version, type clash). */
export class CatalogRequestError extends WeirError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 400, details);
  }
}

/** The configured object store cannot be used at all (a missing bucket, refused credentials). */
export class StoreUnreachableError extends WeirError {
  constructor(message: string) {
    super('STORE_UNREACHABLE', message, 503);
  }
}
