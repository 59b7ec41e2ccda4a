/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded with the
 * type table of ../schema into the JSON object client-go would have sent. See
 * docs/apiserver-protobuf.md.
 */
export { decodeKubeProtobuf, decodeEnvelope, decodeObject, decodeMessageJson, MAGIC, PROTOBUF_MEDIA_TYPE, type Envelope } from './decode.js'
export { encodeKubeProtobuf, encodeMessage } from './encode.js'
export { ProtobufError, protobufErrorCodes, type ProtobufErrorCode } from './errors.js'

/** True for `application/vnd.kubernetes.protobuf` with or without parameters. */
export function isProtobufMediaType (contentType: string): boolean {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase() === 'application/vnd.kubernetes.protobuf'
}
