/**
 * Errors of the Kubernetes protobuf body decoder, with stable codes (docs/errors.md, "API server
 * protobuf errors"). Every one of them is a client error: the server answers 400 BadRequest.
 */
const kProtobufError = Symbol.for('weft.ProtobufError')

export const protobufErrorCodes = {
  /** No `k8s\0` magic, or the runtime.Unknown envelope is missing its object or uses a content encoding. */
  CTRL_ERR_PROTO_ENVELOPE: 'the body is not a Kubernetes protobuf envelope',
  /** Truncated or overlong varint, a length past the end, field number 0, a group or unknown wire type, a wire type that does not fit the field. */
  CTRL_ERR_PROTO_MALFORMED: 'the protobuf bytes are malformed',
  /** A field number the type table does not have for that message: refused rather than dropped. */
  CTRL_ERR_PROTO_UNKNOWN_FIELD: 'a protobuf field number is not known for its message',
  /** The envelope names an apiVersion/kind the type table does not cover. */
  CTRL_ERR_PROTO_UNKNOWN_KIND: 'the envelope names a kind the server cannot decode',
  /** A value that has no JSON form: int64 beyond 2^53, a time outside years 0-9999, an IntOrString of unknown type, managed fields that are not JSON, nesting too deep. */
  CTRL_ERR_PROTO_VALUE: 'a protobuf value cannot be represented'
} as const

export type ProtobufErrorCode = keyof typeof protobufErrorCodes

export class ProtobufError extends Error {
  readonly code: ProtobufErrorCode
  constructor (code: ProtobufErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'ProtobufError'
    this.code = code
  }

  /** Always 400: the request body is at fault. */
  get status (): 400 { return 400 }

  get [kProtobufError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kProtobufError] === true
  }
}
