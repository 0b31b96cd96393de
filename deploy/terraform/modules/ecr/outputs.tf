output "repository_url" {
  description = "URL of the repository (kustomize edit set image sonrisa=<url>:<tag>)."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository (for the CI role that pushes)."
  value       = aws_ecr_repository.this.arn
}
