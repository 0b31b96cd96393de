# One customer managed key per data service: revoking or auditing access to one store
# (CloudTrail records every use of a key) does not touch the others.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # The account root statement delegates key administration to IAM policies in this
  # account; without it a key can become unmanageable (AWS' default key policy).
  base_statements = [
    {
      Sid       = "AccountAdministersKeyThroughIam"
      Effect    = "Allow"
      Principal = { AWS = local.account_root }
      Action    = "kms:*"
      Resource  = "*"
    },
  ]

  # CloudWatch Logs' documented key policy: the service may use the key only while the
  # encryption context names a log group of this account in this region.
  logs_statements = !var.for_cloudwatch_logs ? [] : [
    {
      Sid       = "CloudWatchLogsEncryptThisAccountsLogGroups"
      Effect    = "Allow"
      Principal = { Service = "logs.${data.aws_region.current.name}.amazonaws.com" }
      Action = [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
      ]
      Resource = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"
        }
      }
    },
  ]

  user_statements = length(var.user_role_arns) == 0 ? [] : [
    {
      Sid       = "RolesUseKey"
      Effect    = "Allow"
      Principal = { AWS = var.user_role_arns }
      Action = [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
      ]
      Resource = "*"
    },
    {
      # EBS, RDS and friends hand the key to the service through a grant; only for
      # AWS resources, never a grant a person could use directly.
      Sid       = "RolesGrantKeyToAwsResources"
      Effect    = "Allow"
      Principal = { AWS = var.user_role_arns }
      Action    = ["kms:CreateGrant"]
      Resource  = "*"
      Condition = {
        Bool = { "kms:GrantIsForAWSResource" = "true" }
      }
    },
  ]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.base_statements, local.logs_statements, local.user_statements)
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
