/**
 * Errors of the patch engine, with stable codes (docs/errors.md, "API server patch errors").
 *
 * Each code carries the HTTP status and Status `reason` kube-apiserver answers for the same
 * failure (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go), so the server can turn a
 * PatchError into a `Status` body without interpreting it (STYLE.md convention 5).
 */
const kPatchError = Symbol.for('weft.PatchError')

export const patchErrorCodes = {
  /** The Content-Type is not one of the four patch media types (or SMP on a kind without patch metadata). */
  CTRL_ERR_PATCH_UNSUPPORTED_MEDIA_TYPE: { status: 415, reason: 'UnsupportedMediaType', what: 'the patch media type is not supported for this kind' },
  /** The body is not valid JSON/YAML, or not the shape the patch type needs (object, array of operations). */
  CTRL_ERR_PATCH_MALFORMED: { status: 400, reason: 'BadRequest', what: 'the patch body cannot be decoded' },
  /** A strategic-merge directive is malformed ($deleteFromPrimitiveList, $setElementOrder, $retainKeys). */
  CTRL_ERR_PATCH_DIRECTIVE: { status: 400, reason: 'BadRequest', what: 'a strategic merge patch directive is malformed' },
  /** More JSON patch operations than kube-apiserver accepts (10000). */
  CTRL_ERR_PATCH_TOO_LARGE: { status: 413, reason: 'RequestEntityTooLarge', what: 'the JSON patch has too many operations' },
  /** A JSON patch operation cannot be applied (unknown op, missing path, bad pointer or index). */
  CTRL_ERR_PATCH_OPERATION: { status: 422, reason: 'Invalid', what: 'a JSON patch operation does not apply to the object' },
  /** A JSON patch `test` operation found a different value. */
  CTRL_ERR_PATCH_TEST_FAILED: { status: 422, reason: 'Invalid', what: 'a JSON patch test operation failed' },
  /** A strategic merge patch list holds lists (mergepatch.ErrNoListOfLists). */
  CTRL_ERR_PATCH_LIST_OF_LISTS: { status: 422, reason: 'Invalid', what: 'lists of lists cannot be merged' },
  /** The patched document is not a JSON object. */
  CTRL_ERR_PATCH_INVALID_RESULT: { status: 422, reason: 'Invalid', what: 'the patched document is not an object' },
  /**
   * A strategic merge patch is inconsistent with the object or its own directives: a merge key is
   * missing, list element types differ, an unknown `$patch`, a `$setElementOrder` contradicting the
   * patch list. kube-apiserver returns these as plain errors, i.e. 500 InternalError; we do the same.
   */
  CTRL_ERR_PATCH_MERGE: { status: 500, reason: 'InternalError', what: 'the strategic merge patch does not fit the object' }
} as const

export type PatchErrorCode = keyof typeof patchErrorCodes

export interface PatchStatusCause { type?: string, message: string, field?: string }

export class PatchError extends Error {
  readonly code: PatchErrorCode
  /** details.causes of the Status body, when kube-apiserver sends any. */
  readonly causes: PatchStatusCause[] | undefined
  constructor (code: PatchErrorCode, message: string, extra?: { causes?: PatchStatusCause[], cause?: unknown }) {
    super(message, extra?.cause !== undefined ? { cause: extra.cause } : undefined)
    this.name = 'PatchError'
    this.code = code
    this.causes = extra?.causes
  }

  /** HTTP status code kube-apiserver uses for this failure. */
  get status (): number { return patchErrorCodes[this.code].status }
  /** Status `reason` (metav1.StatusReason). */
  get reason (): string { return patchErrorCodes[this.code].reason }

  /** The Kubernetes `Status` object for the response body. */
  toStatus (): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason
    }
    if (this.causes !== undefined) s.details = { causes: this.causes }
    s.code = this.status
    return s
  }

  get [kPatchError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kPatchError] === true
  }
}

/**
 * kube-apiserver wraps json-patch apply failures (and the SMP 422s) in
 * `NewGenericServerResponse(422, ...)`: a fixed message, the real text as an
 * `UnexpectedServerResponse` cause. kubectl prints "The request is invalid: ...".
 */
export function unprocessable (code: 'CTRL_ERR_PATCH_OPERATION' | 'CTRL_ERR_PATCH_TEST_FAILED' | 'CTRL_ERR_PATCH_LIST_OF_LISTS', detail: string): PatchError {
  return new PatchError(code, 'the server rejected our request due to an error in our request', {
    causes: [{ type: 'UnexpectedServerResponse', message: detail }]
  })
}

/** A plain error in kube-apiserver: answered as `Internal error occurred: <text>`. */
export function mergeError (detail: string): PatchError {
  return new PatchError('CTRL_ERR_PATCH_MERGE', `Internal error occurred: ${detail}`, {
    causes: [{ message: detail }]
  })
}
