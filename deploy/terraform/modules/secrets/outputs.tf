output "app_secret_name" {
  description = "Name of the application secret in Secrets Manager."
  value       = aws_secretsmanager_secret.app.name
}

output "app_secret_arn" {
  description = "ARN of the application secret."
  value       = aws_secretsmanager_secret.app.arn
}

output "kms_key_arn" {
  description = "Customer managed key encrypting the Secrets Manager secrets; the service-credential secrets of Amazon MQ and DocumentDB use it too."
  value       = module.key.key_arn
}

output "reader_policy_arn" {
  description = "IAM policy that reads the application secret only."
  value       = aws_iam_policy.reader.arn
}
