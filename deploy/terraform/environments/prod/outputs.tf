# The same outputs, names and meanings as ../../modules/sonrisa/outputs.tf (described
# there). The first seven are what the kustomize prod overlay and CI read with
# `terraform output -raw <name>`; the rest are for the operator.

output "region" {
  value = module.sonrisa.region
}

output "eks_cluster_name" {
  value = module.sonrisa.eks_cluster_name
}

output "ecr_repository_url" {
  value = module.sonrisa.ecr_repository_url
}

output "app_secret_name" {
  value = module.sonrisa.app_secret_name
}

output "rds_endpoint" {
  value = module.sonrisa.rds_endpoint
}

output "mq_amqps_endpoint" {
  value = module.sonrisa.mq_amqps_endpoint
}

output "docdb_endpoint" {
  value = module.sonrisa.docdb_endpoint
}

output "vpc_cidr" {
  value = module.sonrisa.vpc_cidr
}

output "nat_public_ips" {
  value = module.sonrisa.nat_public_ips
}

output "secret_reader_role_arn" {
  value = module.sonrisa.secret_reader_role_arn
}

output "rds_master_user_secret_arn" {
  value = module.sonrisa.rds_master_user_secret_arn
}

output "mq_admin_secret_arn" {
  value = module.sonrisa.mq_admin_secret_arn
}

output "docdb_master_secret_arn" {
  value = module.sonrisa.docdb_master_secret_arn
}
