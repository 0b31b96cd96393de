# The first seven are what the kustomize prod overlay and CI consume (../../README.md,
# "Outputs and the prod overlay"); the rest are for the operator. Each environment
# re-exports all of them under the same names.

output "region" {
  description = "AWS region of the environment."
  value       = var.region
}

output "eks_cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --region <region> --name <eks_cluster_name>)."
  value       = module.eks.cluster_name
}

output "ecr_repository_url" {
  description = "ECR repository of the sonrisa image (kustomize edit set image sonrisa=<url>:<tag>)."
  value       = module.ecr.repository_url
}

output "app_secret_name" {
  description = "Secrets Manager secret synced into the Kubernetes Secret sonrisa-secrets."
  value       = module.secrets.app_secret_name
}

output "rds_endpoint" {
  description = "host:port of PostgreSQL, for CLINIC_DATABASE_URL (postgresql://USER:PASSWORD@<rds_endpoint>/sonrisa?sslmode=verify-full)."
  value       = module.rds.endpoint
}

output "mq_amqps_endpoint" {
  description = "amqps://host:5671 of Amazon MQ, for CLINIC_RABBITMQ_URL (amqps://USER:PASSWORD@host:5671/)."
  value       = module.mq.amqps_endpoint
}

output "docdb_endpoint" {
  description = "DocumentDB cluster endpoint host, for CLINIC_MONGO_URL (port 27017, tls=true, retryWrites=false)."
  value       = module.docdb.endpoint
}

output "vpc_cidr" {
  description = "VPC range; the ingress load balancer's addresses are inside it (CLINIC_TRUSTED_PROXIES)."
  value       = module.network.vpc_cidr
}

output "nat_public_ips" {
  description = "Addresses outbound traffic leaves from (for SMS or mail providers that allow-list senders)."
  value       = module.network.nat_public_ips
}

output "secret_reader_role_arn" {
  description = "IAM role the secret syncer's service account gets through EKS Pod Identity."
  value       = module.eks.secret_reader_role_arn
}

output "rds_master_user_secret_arn" {
  description = "Secrets Manager secret (RDS managed) with the PostgreSQL master password, for creating the application role once."
  value       = module.rds.master_user_secret_arn
}

output "mq_admin_secret_arn" {
  description = "Secrets Manager secret with the Amazon MQ administrator, for creating the application user once."
  value       = module.mq.admin_secret_arn
}

output "docdb_master_secret_arn" {
  description = "Secrets Manager secret with the DocumentDB master user, for creating the application user once."
  value       = module.docdb.master_secret_arn
}
