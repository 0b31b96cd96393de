module "key" {
  source = "../kms"

  name        = "${var.name}-secrets"
  description = "Encrypts the Secrets Manager secrets of ${var.name} (application keys and service credentials)."
}

# Only the container: terraform never holds the value, so the keys are in no state file
# and no plan output. The operator puts the value once (deploy/terraform/README.md):
#   aws secretsmanager put-secret-value --secret-id <app_secret_name> --secret-string file://app-secret.json
# with the JSON keys CLINIC_JWT_SECRET, CLINIC_AUDIT_KEY, CLINIC_DATA_KEY, CLINIC_LINK_KEY,
# CLINIC_DATABASE_URL, CLINIC_RABBITMQ_URL, CLINIC_MONGO_URL, CLINIC_SMTP_PASSWORD,
# CLINIC_SMS_TOKEN (and the *_PREVIOUS_* lists during a rotation).
resource "aws_secretsmanager_secret" "app" {
  # checkov:skip=CKV2_AWS_57: Rotation of these keys is a two-step procedure (new key + old key kept in CLINIC_*_PREVIOUS_*, deploy/RUNBOOK.md) that a Secrets Manager rotation Lambda cannot perform without breaking the access log's verifiability; the operator rotates by hand.
  name                    = var.app_secret_name
  description             = "Sonrisa application secrets (synced to the Kubernetes Secret sonrisa-secrets). Value set by the operator, never by terraform."
  kms_key_id              = module.key.key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

# What the secret syncer in the cluster may do: read this one secret, decrypt it through
# Secrets Manager only.
resource "aws_iam_policy" "reader" {
  name        = "${var.name}-app-secret-reader"
  description = "Read the Sonrisa application secret ${var.app_secret_name} and nothing else"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadAppSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = aws_secretsmanager_secret.app.arn
      },
      {
        Sid      = "DecryptThroughSecretsManagerOnly"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = module.key.key_arn
        Condition = {
          StringLike = { "kms:ViaService" = "secretsmanager.*.amazonaws.com" }
        }
      },
    ]
  })
}
