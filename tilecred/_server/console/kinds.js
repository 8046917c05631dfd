// The kinds of secret a credential can hold: one entry each, and every form
// of the console (create, edit, replace a secret) is drawn from this table.
// A kind is one member of one secret container on the wire: "role" is
// {"role": {"aws": {...}}}. A field marked secret is a password input, is
// never shown again, and is cleared from the form the moment it is read.

const text = (name, label, extra = {}) => ({ name, label, type: "text", ...extra });
const secret = (name, label, extra = {}) => ({ name, label, type: "secret", secret: true, ...extra });
const flag = (name, label) => ({ name, label, type: "checkbox" });
const endpoint = text("endpoint", "Endpoint URL", { placeholder: "https://s3.example.com" });
const pathStyle = flag("use_path_style", "Use path-style addressing");

export const KINDS = [
  { id: "keys", provider: "AWS", container: "credential", member: "aws",
    label: "AWS access key",
    fields: [text("access_key_id", "Access key id", { required: true }),
             secret("secret_access_key", "Secret access key", { required: true }),
             secret("session_token", "Session token (temporary keys)"),
             endpoint, pathStyle] },
  { id: "role", provider: "AWS", container: "role", member: "aws",
    label: "AWS IAM role",
    fields: [text("role_arn", "Role ARN", { required: true,
                  placeholder: "arn:aws:iam::123456789012:role/name" }),
             text("external_id", "External id"), endpoint, pathStyle] },
  { id: "account-key", provider: "AZURE", container: "credential", member: "azure",
    label: "Azure storage account key",
    fields: [text("account_name", "Account name", { required: true }),
             secret("account_key", "Account key", { required: true }),
             text("blob_endpoint", "Blob endpoint")] },
  { id: "sas", provider: "AZURE", container: "token", member: "azure",
    label: "Azure SAS token",
    fields: [text("account_name", "Account name", { required: true }),
             secret("sas_token", "SAS token", { required: true }),
             text("blob_endpoint", "Blob endpoint")] },
  { id: "service-principal-azure", provider: "AZURE", container: "credential",
    member: "azure_service_principal", label: "Azure service principal",
    fields: [text("tenant_id", "Tenant id", { required: true }),
             text("client_id", "Client id", { required: true }),
             secret("client_secret", "Client secret", { required: true }),
             text("account_name", "Storage account name"),
             text("authority", "Entra ID host", { placeholder: "login.microsoftonline.com" })] },
  { id: "entra-id", provider: "AZURE", container: "token", member: "azure_entra_id",
    label: "Azure Entra ID",
    fields: [text("blob_endpoint", "Blob endpoint (https)", { required: true })] },
  { id: "entra-id-task", provider: "AZURE", container: "token", member: "azure_entra_id_task",
    label: "Azure Entra ID for tasks",
    fields: [text("client_id", "Client id", { required: true }), text("tenant_id", "Tenant id"),
             text("blob_endpoint", "Blob endpoint")] },
  { id: "hmac", provider: "GCP", container: "credential", member: "gcp",
    label: "GCP HMAC key",
    fields: [text("access_key_id", "Access key id", { required: true }),
             secret("secret_access_key", "Secret", { required: true })] },
  { id: "service-account", provider: "GCP", container: "token", member: "gcp",
    label: "GCP service-account key",
    fields: [text("account_id", "Account id", { required: true }),
             text("key_id", "Key id", { required: true }),
             secret("key_text", "Key file (JSON)", { required: true, multiline: true })] },
  { id: "key-pair", provider: "SNOWFLAKE", container: "token", member: "snowflake",
    label: "Snowflake key pair",
    fields: [text("account", "Account", { required: true }), text("user", "User", { required: true }),
             secret("private_key_raw", "Private key file (PEM)", { required: true, multiline: true }),
             secret("private_key_passphrase", "Key passphrase"),
             text("role", "Role"), text("warehouse", "Warehouse")] },
  { id: "service-principal", provider: "DATABRICKS", container: "token", member: "databricks",
    label: "Databricks service principal",
    fields: [text("host", "Workspace URL", { required: true }),
             text("client_id", "Client id", { required: true }),
             secret("client_secret", "Client secret", { required: true })] },
  { id: "pat", provider: "DATABRICKS", container: "token", member: "databricks_pat",
    label: "Databricks personal access token",
    fields: [text("host", "Workspace URL", { required: true }),
             secret("token", "Token", { required: true })] },
  { id: "basic", provider: "GENERIC", container: "credential", member: "basic",
    label: "User name and password",
    fields: [text("user", "User name", { required: true }),
             secret("password", "Password", { required: true }),
             text("scheme", "Service", { placeholder: "postgresql, mysql, http…" }),
             text("host", "Host"), text("port", "Port", { type: "number" }),
             text("database", "Database")] },
  { id: "bearer", provider: "GENERIC", container: "token", member: "bearer",
    label: "Bearer token",
    fields: [secret("token", "Token", { required: true }), text("url", "API URL"),
             text("header", "Header", { placeholder: "Authorization" })] },
  { id: "oauth", provider: "GENERIC", container: "credential", member: "oauth",
    label: "OAuth client",
    fields: [text("token_url", "Token URL", { required: true }),
             text("client_id", "Client id", { required: true }),
             secret("client_secret", "Client secret", { required: true }),
             text("scopes", "Scopes (space-separated)", { type: "list" }),
             text("audience", "Audience"), secret("refresh_token", "Refresh token")] },
];

// The schema of a container member in the server's OpenAPI document.
function memberSchema(schemas, container, member) {
  const model = { credential: "Credential", role: "AccessCredentialRole", token: "Token" }[container];
  const property = schemas[model]?.properties?.[member];
  if (!property) return null;
  const ref = [property, ...(property.anyOf ?? [])].map((item) => item.$ref).find(Boolean);
  return ref ? schemas[ref.split("/").pop()] ?? {} : {};
}

// The kinds this server knows, each with the fields it takes: its OpenAPI
// document names every container member and field, so what it lacks is not offered.
let supported = KINDS;

export function supportedKinds(openapi) {
  const schemas = openapi?.components?.schemas ?? {};
  const providers = schemas.CloudProvider?.enum ?? [];
  const kinds = [];
  for (const kind of KINDS) {
    const schema = memberSchema(schemas, kind.container, kind.member);
    if (!schema || !providers.includes(kind.provider)) continue;
    const known = schema.properties;
    kinds.push({ ...kind, fields: known ? kind.fields.filter((field) => field.name in known)
                                        : kind.fields });
  }
  supported = kinds;
  return kinds;
}

// The kind of a credential as the API shows it: the one container member it has.
export function kindOf(credential) {
  for (const kind of supported) {
    if (credential.provider === kind.provider && credential[kind.container]?.[kind.member]) {
      return kind;
    }
  }
  return null;
}

export const hasSecret = (kind) => kind.fields.some((field) => field.secret);
