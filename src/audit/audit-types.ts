/** Azure Key Vault's AuditEvent shape. Never carries a secret value or a token. */
export interface AuditEvent {
  time: string;
  resourceId: string;
  operationName: string;
  operationVersion: string | null;
  category: 'AuditEvent';
  resultType: 'Success' | 'Failure';
  resultSignature: string;
  resultDescription: string | null;
  durationMs: number;
  callerIpAddress: string;
  correlationId: string;
  identity: { claim: { oid: string | null; upn: string | null; appid: string | null } };
  properties: {
    clientInfo: string | null;
    requestUri: string;
    id: string | null;
    httpStatusCode: number;
    isRbacAuthorized: boolean;
    isAccessPolicyMatch: boolean;
    appliedAssignmentId: string | null;
  };
}

/** An event plus the columns it is indexed and queried by. */
export interface AuditEntry {
  event: AuditEvent;
  vault: string | null;
  secret: string | null;
  principal: string | null;
}
