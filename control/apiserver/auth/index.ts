/**
 * control/apiserver/auth: the API server's security pieces — PKI (CA + serving
 * certificate), static bearer tokens (--token-auth-file), request attributes,
 * the three-role authorizer, the 401/403 Status bodies, and kubeconfig files.
 * See README.md here and docs/apiserver-auth.md.
 */
export { AuthError, authErrorCodes } from './errors.js'
export type { AuthErrorCode } from './errors.js'

export { ensurePki, pkiPaths, wantedSans, firstServiceIps, normaliseSan, certificateSans, servingCertProblem, DEFAULT_SANS, CA_VALIDITY_MS, SERVING_VALIDITY_MS, RENEW_BEFORE_MS } from './pki.js'
export type { Pki, PkiOptions } from './pki.js'

export {
  loadTokenFile, parseTokenFile, tokenAuthenticator, bearerToken, ensureTokenFile, ensureUserToken, formatTokenRecord, randomToken,
  tokenFilePath, watchTokenFile, GROUP_AUTHENTICATED, GROUP_MASTERS, GROUP_NODES, GROUP_READ_ONLY, NODE_USER_PREFIX
} from './tokens.js'
export type { UserInfo, TokenRecord, TokenAuthenticator, WatchedTokenFile } from './tokens.js'
export { parseCsv, CsvParseError } from './csv.js'
export type { CsvRecord } from './csv.js'

export { requestAttributes, fieldSelectorName } from './request-info.js'
export type { RequestAttributes, Query, Verb } from './request-info.js'
export { authorize, nodeIdentity, isPublicPath, NODE_LEASE_NAMESPACE } from './authorize.js'
export type { Decision, AuthorizeLookups, MaybePromise, Subject, AuthorizationAttributes } from './authorize.js'
export { unauthorizedStatus, forbiddenStatus, forbiddenMessage } from './status.js'
export type { StatusBody } from './status.js'

export { writeKubeconfig, readKubeconfig, renderKubeconfig, contextName, defaultKubeconfigPath } from './kubeconfig.js'
export type { KubeconfigInit, ClientConfig } from './kubeconfig.js'
export { checkRequest } from './guard.js'
export type { GuardRequest, GuardResult, StatusFailure } from './guard.js'
